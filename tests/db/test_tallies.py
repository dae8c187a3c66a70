"""The incident tallies stay exact through inserts, workflow updates, moves, deletes and
truncation, and tiles read from them equal tiles read from raw rows, under every filter."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from mapapp.incidents import filters
from mapapp.incidents import queries as q
from mapapp.incidents.taxonomy import load as load_taxonomy
from tests.web.conftest import CITY_SQL
from tests.web.test_tiles import tile_of

NOW = datetime.now(timezone.utc)
CATEGORIES = ("public_order.noise", "public_order.theft", "disputes.neighbour", "city_mgmt.vending",
              "safety.gas")
STATUSES = ("reported", "dispatched", "in_progress", "closed", "closed", "voided")


def fresh_tallies(conn) -> set:
    return set(conn.execute(text("""
        SELECT k.day, k.cx, k.cy, k.top, k.status, count(*)::int
          FROM incidents r, incident_tally_keys(r.geom, r.reported_at, r.category, r.status) k
         WHERE r.reported_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5""")).all())


def kept_tallies(conn) -> set:
    return set(conn.execute(text("SELECT day, cx, cy, top, status, n FROM incident_tally_day WHERE n <> 0")).all())


def months_match(conn) -> bool:
    return conn.execute(text("""
        SELECT NOT EXISTS (
          (SELECT date_trunc('month', day)::date, cx, cy, top, status, sum(n)::int FROM incident_tally_day
            GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0)
          EXCEPT ALL (SELECT month, cx, cy, top, status, n FROM incident_tally_month WHERE n <> 0))""")).scalar()


@pytest.fixture
def incidents(db):
    rng = random.Random(7)
    rows = []
    for i in range(1500):
        due = NOW + timedelta(hours=rng.uniform(-200, 200)) if rng.random() < 0.5 else None
        rows.append({"c": rng.choice(CATEGORIES), "s": rng.choice(STATUSES),
                     "t": None if i % 100 == 0 else NOW - timedelta(hours=rng.uniform(0, 24 * 120)),
                     "x": rng.uniform(24.930, 24.960), "y": rng.uniform(60.150, 60.180), "due": due})
    with db.begin() as conn:
        conn.execute(text(CITY_SQL))
        conn.execute(text("INSERT INTO incidents (category, status, reported_at, due_at, geom) "
                          "VALUES (:c, :s, :t, :due, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows[:700])
        conn.execute(text("INSERT INTO incidents (category, status, reported_at, due_at, geom) "
                          "SELECT c, s, t, due, ST_SetSRID(ST_MakePoint(x, y), 4326) "
                          "FROM unnest(CAST(:c AS text[]), CAST(:s AS text[]), CAST(:t AS timestamptz[]), "
                          "CAST(:due AS timestamptz[]), CAST(:x AS float8[]), CAST(:y AS float8[])) "
                          "AS u(c, s, t, due, x, y)"),
                     {k: [r[k] for r in rows[700:]] for k in ("c", "s", "t", "due", "x", "y")})
    return db


def test_tallies_follow_every_write(incidents):
    with incidents.begin() as conn:
        assert kept_tallies(conn) == fresh_tallies(conn) and months_match(conn)
        conn.execute(text("UPDATE incidents SET status = 'closed' WHERE id % 7 = 0 AND status <> 'closed'"))
        conn.execute(text("UPDATE incidents SET geom = ST_Translate(geom, 0.003, 0.001) WHERE id % 11 = 0"))
        conn.execute(text("UPDATE incidents SET reported_at = reported_at - interval '40 days' WHERE id % 13 = 0"))
        conn.execute(text("UPDATE incidents SET category = 'safety.gas' WHERE id % 17 = 0"))
        conn.execute(text("UPDATE incidents SET description = 'no tally change' WHERE id % 3 = 0"))
        conn.execute(text("DELETE FROM incidents WHERE id % 19 = 0"))
        assert kept_tallies(conn) == fresh_tallies(conn) and months_match(conn)
        conn.execute(text("TRUNCATE incidents CASCADE"))
        assert conn.execute(text("SELECT (SELECT count(*) FROM incident_tally_day) + "
                                 "(SELECT count(*) FROM incident_tally_month)")).scalar() == 0


FILTERS = [
    {},
    {"since": "30d"},
    {"since": (NOW - timedelta(days=45, hours=5)).isoformat(), "until": (NOW - timedelta(days=3, hours=7)).isoformat()},
    {"until": (NOW - timedelta(days=20, minutes=17)).isoformat()},
    # ends early and late in their days: whole days less raw rows, and partial days plus raw rows
    {"since": f"{(NOW - timedelta(days=40)).date()}T02:10:00+00:00", "until": f"{(NOW - timedelta(days=5)).date()}T21:30:00+00:00"},
    {"since": f"{(NOW - timedelta(days=40)).date()}T19:00:00+00:00", "until": f"{(NOW - timedelta(days=5)).date()}T03:00:00+00:00"},
    {"since": f"{(NOW - timedelta(days=9)).date()}T01:00:00+00:00", "until": f"{(NOW - timedelta(days=9)).date()}T23:00:00+00:00"},
    {"category": "public_order,safety"},
    {"category": "public_order.noise"},
    {"status": "open"},
    {"status": "closed", "since": "10d"},
    {"grid": "910101001001001"},
    {"community": "910101001001"},
    {"overdue": "true"},
]


def clusters(body: bytes) -> list[tuple]:
    layer = mapbox_vector_tile.decode(body).get("clusters", {"features": []})
    return sorted((tuple(f["geometry"]["coordinates"]), f["properties"]["count"], f["properties"]["open"],
                   f["properties"]["overdue"], f["properties"]["top"]) for f in layer["features"])


@pytest.mark.parametrize("args", FILTERS, ids=[",".join(a) or "none" for a in FILTERS])
def test_tiles_from_tallies_equal_tiles_from_raw_rows_and_the_database(incidents, args):
    taxonomy = load_taxonomy()
    f = filters.parse(args, taxonomy)
    cond, params = q.where(f)
    with incidents.connect() as conn:
        expected = conn.execute(text(f"SELECT count(*) FROM incidents i WHERE {cond}"), params).scalar()
        overdue = conn.execute(text(f"SELECT count(*) FROM incidents i WHERE {cond} AND i.due_at < now() "
                                    "AND i.status = ANY(:o)"), {**params, "o": list(filters.OPEN_STATUSES)}).scalar()
        for z in (11, 13, 14):
            x0, y0 = tile_of(24.930, 60.180, z)
            x1, y1 = tile_of(24.960, 60.150, z)
            found = []
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    fast, raw = q.tile(conn, f, z, x, y), q.tile(conn, f, z, x, y, use_tallies=False)
                    assert clusters(fast) == clusters(raw)
                    found += clusters(fast)
            assert sum(c[1] for c in found) == expected > 0
            assert sum(c[3] for c in found) == overdue


def test_a_dense_tile_above_the_point_zoom_carries_clusters(incidents, monkeypatch):
    monkeypatch.setattr(q, "TILE_POINT_CAP", 50)
    f = filters.parse({}, load_taxonomy())
    x, y = tile_of(24.945, 60.165, 15)
    with incidents.connect() as conn:
        for use in (True, False):
            layers = mapbox_vector_tile.decode(q.tile(conn, f, 15, x, y, use_tallies=use))
            assert "incidents" not in layers and 1 < len(layers["clusters"]["features"]) <= 256
        x, y = tile_of(24.945, 60.165, 20)
        layers = mapbox_vector_tile.decode(q.tile(conn, f, 20, x, y))
        assert "clusters" not in layers
