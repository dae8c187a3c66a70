"""Hotspot cells against the real PostGIS: the closed-form hexagon index agrees with
ST_HexagonGrid point-in-polygon, zeros inside the area count, filters and weights apply."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import text

from mapapp.hotspots import queries as q
from mapapp.incidents.filters import IncidentFilter
from mapapp.incidents.queries import where

SRID = 32635  # UTM 35N, Helsinki
# district: a lon/lat triangle-ish polygon so that masking matters; a plan of two grids in it
AREA_SQL = """
INSERT INTO admin_areas (id, code, name, level, geom) VALUES
 (1, 'HS', 'Hotspot district', 'district', ST_Multi(ST_GeomFromText(
   'POLYGON((24.90 60.14, 24.98 60.14, 24.98 60.18, 24.90 60.14))', 4326))),
 (2, 'ZZ', 'Elsewhere', 'district', ST_Multi(ST_MakeEnvelope(25.5, 60.5, 25.6, 60.6, 4326)));
INSERT INTO grid_plans (id, name, status) VALUES (1, 'p', 'published');
INSERT INTO grids (plan_id, code, name, geom) VALUES
 (1, 'G1', 'west', ST_Multi(ST_GeomFromText('POLYGON((24.94 60.14, 24.96 60.14, 24.96 60.16, 24.94 60.15, 24.94 60.14))', 4326))),
 (1, 'G2', 'east', ST_Multi(ST_MakeEnvelope(24.96, 60.14, 24.98, 60.18, 4326)));
"""
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture
def area_db(db):
    rng = np.random.default_rng(3)
    lon = rng.uniform(24.90, 24.98, 600)
    lat = rng.uniform(60.14, 60.18, 600)
    rows = [{"c": "public_order.theft" if k % 3 else "disputes.neighbour",
             "t": NOW - timedelta(days=int(k % 20)), "n": int(k % 4) + 1, "x": float(x), "y": float(y)}
            for k, (x, y) in enumerate(zip(lon, lat))]
    rows.append({"c": "public_order.theft", "t": NOW, "n": 1, "x": 25.55, "y": 60.55})  # other district
    with db.begin() as conn:
        conn.execute(text(AREA_SQL))
        conn.execute(text("INSERT INTO incidents (category, reported_at, count, geom) VALUES "
                          "(:c, :t, :n, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    return db


def _truth(conn, func: str, size: float) -> dict[str, int]:
    """Counts per cell by PostGIS alone: the cells of the lattice around each incident inside the
    area that intersect it (the obvious way, point by point)."""
    rows = conn.execute(text(f"""
        WITH a AS (SELECT geom FROM admin_areas WHERE code = 'HS'),
          p AS (SELECT ST_Transform(i.geom, {SRID}) AS g FROM incidents i, a WHERE ST_Intersects(a.geom, i.geom))
        SELECT c.i || ',' || c.j, count(*) FROM p CROSS JOIN LATERAL {func}(:size, p.g) c
         WHERE ST_Intersects(c.geom, p.g) GROUP BY 1"""), {"size": size}).all()
    return dict(rows)


def _inside(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM incidents i JOIN admin_areas a ON a.code = 'HS' "
                             "AND ST_Intersects(a.geom, i.geom)")).scalar_one()


@pytest.mark.parametrize("shape,func,size", [("hex", "ST_HexagonGrid", 250.0),
                                             ("hex", "ST_HexagonGrid", 97.0),
                                             ("square", "ST_SquareGrid", 300.0)])
def test_cells_match_point_in_polygon(area_db, shape, func, size):
    with area_db.connect() as conn:
        cells = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape=shape, size=size)
        truth = _truth(conn, func, size)
        inside = _inside(conn)
    got = {i: int(n) for i, n in zip(cells.ids, cells.count) if n}
    assert got == truth
    assert cells.count.sum() == inside and 250 < inside < 350  # half the box is outside the triangle
    assert (cells.count == 0).sum() > 0 and len(set(cells.ids)) == len(cells.ids)
    assert cells.geometry[0].startswith('{"type":"Polygon"')


@pytest.mark.parametrize("shape,func,size", [("hex", "ST_HexagonGrid", 21.0),
                                             ("square", "ST_SquareGrid", 17.0)])
def test_small_cells_match_point_in_polygon_for_every_point(area_db, shape, func, size):
    rng = np.random.default_rng(11)  # 4,000 more points in a corner, so cells hold several
    rows = [{"x": float(x), "y": float(y)} for x, y in zip(rng.uniform(24.95, 24.97, 4000),
                                                           rng.uniform(60.145, 60.155, 4000))]
    with area_db.begin() as conn:
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "('public_order.theft', now(), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    with area_db.connect() as conn:
        cells = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape=shape, size=size)
        truth = _truth(conn, func, size)
        inside = _inside(conn)
    got = {i: int(n) for i, n in zip(cells.ids, cells.count) if n}
    assert got == truth and sum(truth.values()) == inside > 3000
    assert max(truth.values()) >= 3


def test_mask_keeps_only_cells_touching_the_area(area_db):
    with area_db.connect() as conn:
        masked = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape="hex", size=250.0)
        bounds = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape="hex",
                                 size=250.0, mask=False)
    assert len(bounds.ids) > 1.6 * len(masked.ids)
    assert set(masked.ids) < set(bounds.ids)
    assert masked.count.sum() == bounds.count.sum()
    # centroids are metres in UTM 35N, about 250 * sqrt(3) apart within a column
    assert 300_000 < masked.x.min() < 400_000 and 6_600_000 < masked.y.min() < 6_800_000


def test_filter_and_weight_apply(area_db):
    f = IncidentFilter(categories=("disputes.neighbour",), since=NOW - timedelta(days=9, hours=12))
    with area_db.connect() as conn:
        expected = conn.execute(text(
            "SELECT count(*), sum(i.count) FROM incidents i JOIN admin_areas a ON a.code = 'HS' "
            "AND ST_Intersects(a.geom, i.geom) WHERE category = 'disputes.neighbour' "
            "AND reported_at >= :s"), {"s": f.since}).one()
        plain = q.lattice_cells(conn, f, area_code="HS", srid=SRID, shape="square", size=500.0)
        weighted = q.lattice_cells(conn, f, area_code="HS", srid=SRID, shape="square", size=500.0,
                                   weight="count")
        assert q.count(conn, f, area_code="HS") == expected[0]
    assert 0 < plain.count.sum() == expected[0] < 100
    assert weighted.count.sum() == expected[1] > expected[0]


def test_plan_grids_are_cells(area_db):
    with area_db.connect() as conn:
        cells = q.plan_cells(conn, IncidentFilter(), area_code="HS", srid=SRID)
        truth = dict(conn.execute(text(
            "SELECT g.code, count(i.id) FROM grids g JOIN admin_areas a ON a.code = 'HS' "
            "LEFT JOIN incidents i ON ST_Intersects(g.geom, i.geom) AND ST_Intersects(a.geom, i.geom) "
            "GROUP BY g.code")).all())
    assert cells.ids == ["G1", "G2"]
    assert dict(zip(cells.ids, cells.count.astype(int).tolist())) == truth
    assert truth["G2"] > truth["G1"] > 0


def test_area_and_sampled_points(area_db):
    with area_db.connect() as conn:
        a = q.area(conn, None)
        assert a.code == "HS" and q.area(conn, "nope") is None
        assert 24.90 < a.lon < 24.98 and 8e6 < a.area_m2 < 1.1e7
        everything = q.points(conn, IncidentFilter(), area_code="HS", srid=SRID)
        half = q.points(conn, IncidentFilter(), area_code="HS", srid=SRID, stride=2)
        inside = _inside(conn)
    assert everything.shape == (inside, 2)
    assert abs(len(half) - inside / 2) < 30


def test_h3_cells_count_each_incident_in_its_h3_cell(area_db):
    import h3

    with area_db.connect() as conn:
        cells = q.h3_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, resolution=9)
        lonlat = conn.execute(text("SELECT ST_X(i.geom), ST_Y(i.geom) FROM incidents i JOIN admin_areas a "
                                   "ON a.code = 'HS' AND ST_Intersects(a.geom, i.geom)")).all()
        weighted = q.h3_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, resolution=8, weight="count")
        total = conn.execute(text("SELECT sum(i.count) FROM incidents i JOIN admin_areas a "
                                  "ON a.code = 'HS' AND ST_Intersects(a.geom, i.geom)")).scalar_one()
    truth: dict[str, int] = {}
    for lon, lat in lonlat:  # independently: h3 itself, one point at a time
        cell = h3.latlng_to_cell(lat, lon, 9)
        truth[cell] = truth.get(cell, 0) + 1
    got = {cid: int(n) for cid, n in zip(cells.ids, cells.count) if n}
    assert got == truth and len(truth) > 50
    assert (cells.count == 0).sum() > 0 and len(set(cells.ids)) == len(cells.ids)
    assert all(h3.get_resolution(c) == 9 for c in cells.ids)
    assert cells.geometry[0].startswith('{"type":"Polygon"') and 300_000 < cells.x.min() < 400_000
    assert weighted.count.sum() == total


@pytest.mark.parametrize("shape,func,size", [("hex", "ST_HexagonGrid", 97.0),
                                             ("square", "ST_SquareGrid", 300.0)])
def test_centres_are_st_centroid_and_outlines_are_optional(area_db, shape, func, size):
    with area_db.connect() as conn:
        drawn = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape=shape, size=size)
        bare = q.lattice_cells(conn, IncidentFilter(), area_code="HS", srid=SRID, shape=shape,
                               size=size, outlines=False)
        centroid = dict((f"{i},{j}", (x, y)) for i, j, x, y in conn.execute(text(f"""
            WITH a AS (SELECT ST_Transform(geom, {SRID}) AS g FROM admin_areas WHERE code = 'HS')
            SELECT c.i, c.j, ST_X(ST_Centroid(c.geom)), ST_Y(ST_Centroid(c.geom))
              FROM a, {func}(:size, a.g) c WHERE ST_Intersects(c.geom, a.g)"""), {"size": size}).all())
    assert drawn.ids == bare.ids and sorted(drawn.ids) == sorted(centroid) and len(drawn.ids) > 100
    assert drawn.count.tolist() == bare.count.tolist() and bare.geometry == [] and drawn.geometry
    truth = np.array([centroid[cid] for cid in drawn.ids])
    assert np.abs(np.column_stack([drawn.x, drawn.y]) - truth).max() < 1e-6
    assert (drawn.x == bare.x).all() and (drawn.y == bare.y).all()


def test_incidents_keep_their_utm_metres(db):
    """Migrations 0009-0010: utm_srid is the zone mapapp.geo.crs.utm_crs_for picks, utm_x/utm_y
    are ST_Transform into it and utm_xy their float8send, on insert and when the point moves."""
    from mapapp.geo.crs import utm_crs_for

    points = [(24.95, 60.17), (23.999, 60.1), (24.0, 60.1), (-70.65, -33.45), (179.99, 0.0), (-180.0, -89.0)]
    with db.begin() as conn:
        conn.execute(text("INSERT INTO incidents (category, geom) VALUES "
                          "('x', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), [{"x": x, "y": y} for x, y in points])
        conn.execute(text("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326) WHERE id = 1"))
        rows = conn.execute(text(
            "SELECT ST_X(geom), ST_Y(geom), utm_srid, utm_x, utm_y, ST_X(ST_Transform(geom, utm_srid)), "
            "ST_Y(ST_Transform(geom, utm_srid)), utm_xy = float8send(utm_x) || float8send(utm_y) "
            "FROM incidents ORDER BY id")).all()
    assert [r[2] for r in rows] == [utm_crs_for(r[0], r[1]).to_epsg() for r in rows]
    assert rows[0][2] == 32650 and rows[1][2] == 32634 and rows[2][2] == 32635 and rows[3][2] == 32719
    assert all(r[3] == r[5] and r[4] == r[6] and r[7] is True for r in rows)


def _truth_for(conn, f: IncidentFilter, weight: str, code: str, srid: int, func: str, size: float):
    """Sums per cell by PostGIS alone, point by point: the filter's incidents inside the area,
    each added to the lattice cells that intersect it."""
    cond, params = where(f)
    rows = conn.execute(text(f"""
        WITH a AS (SELECT geom FROM admin_areas WHERE code = :code),
          p AS (SELECT ST_Transform(i.geom, {srid}) AS g, {q.WEIGHTS[weight]} AS w
                  FROM incidents i, a WHERE {cond} AND ST_Intersects(a.geom, i.geom))
        SELECT c.i || ',' || c.j, sum(p.w) FROM p CROSS JOIN LATERAL {func}(:size, p.g) c
         WHERE ST_Intersects(c.geom, p.g) GROUP BY 1"""), {**params, "code": code, "size": size}).all()
    return {k: float(v) for k, v in rows}


@pytest.mark.parametrize("f,weight", [
    (IncidentFilter(since=NOW - timedelta(days=12), until=NOW - timedelta(days=3)), "none"),
    (IncidentFilter(categories=("disputes.neighbour",)), "count"),
    (IncidentFilter(grid="G2", until=NOW - timedelta(days=1)), "none"),
    (IncidentFilter(statuses=("reported",)), "weight"),
])
@pytest.mark.parametrize("split", [False, True], ids=["one-read", "two-halves"])
def test_every_filter_and_weight_equal_a_direct_count(area_db, f, weight, split, monkeypatch):
    with area_db.begin() as conn:
        conn.execute(text("UPDATE incidents SET weight = id * 0.37 WHERE id % 5 <> 0"))
        conn.execute(text("UPDATE incidents SET status = 'closed' WHERE id % 7 = 0"))
    halves = _read_in_halves(area_db, monkeypatch) if split else None
    with area_db.connect() as conn:
        cells = q.lattice_cells(conn, f, area_code="HS", srid=SRID, shape="hex", size=180.0,
                                weight=weight, outlines=False)
        truth = _truth_for(conn, f, weight, "HS", SRID, "ST_HexagonGrid", 180.0)
    got = {i: float(n) for i, n in zip(cells.ids, cells.count) if n}
    assert got.keys() == truth.keys() and len(truth) > 10
    assert all(abs(got[k] - truth[k]) <= 1e-9 * max(1.0, truth[k]) for k in truth)
    if split:  # both halves of the table were read, each holding some of the rows
        assert len(halves) == 1 and all(len(part[0] or b"") > 0 for part in halves[0])


def _read_in_halves(engine, monkeypatch) -> list:
    """Make metric_points split its read (as it does from SPLIT_ROWS rows on) and record the parts."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM incidents"))  # reltuples and relpages; no ANALYZE: its column statistics would outlive the test and change later tests' plans
    monkeypatch.setattr(q, "SPLIT_ROWS", 0)
    monkeypatch.setattr(q, "SPLIT_SHARE", 0)
    seen, real = [], q.side_by_side
    monkeypatch.setattr(q, "side_by_side", lambda *a: seen.append(real(*a)) or seen[-1])
    return seen


@pytest.mark.parametrize("split", [False, True], ids=["one-read", "two-halves"])
def test_an_area_across_two_utm_zones_counts_every_incident(db, split, monkeypatch):
    """Cells in zone 35 (24-30 E) for an area reaching west of 24 E: the incidents there are
    stored in zone 34 and transformed at query time; the cells still equal PostGIS point by point."""
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(23.90, 24.06, 3000), rng.uniform(60.10, 60.16, 3000)
    with db.begin() as conn:
        conn.execute(text("""INSERT INTO admin_areas (code, name, level, geom) VALUES ('XZ', 'Across',
            'district', ST_Multi(ST_GeomFromText('POLYGON((23.90 60.10, 24.12 60.10, 23.90 60.16, 23.90 60.10))', 4326)))"""))
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "('public_order.theft', now(), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                     [{"x": float(x), "y": float(y)} for x, y in zip(lon, lat)])
    halves = _read_in_halves(db, monkeypatch) if split else None
    with db.connect() as conn:
        zones = dict(conn.execute(text("SELECT utm_srid, count(*) FROM incidents GROUP BY 1")).all())
        cells = q.lattice_cells(conn, IncidentFilter(), area_code="XZ", srid=SRID, shape="square",
                                size=150.0, outlines=False)
        truth = _truth_for(conn, IncidentFilter(), "none", "XZ", SRID, "ST_SquareGrid", 150.0)
        inside = conn.execute(text("SELECT count(*) FROM incidents i JOIN admin_areas a ON a.code = 'XZ' "
                                   "AND ST_Intersects(a.geom, i.geom)")).scalar_one()
    assert zones[32634] > 1000 and zones[32635] > 300
    got = {i: float(n) for i, n in zip(cells.ids, cells.count) if n}
    assert got == truth and cells.count.sum() == inside and 1000 < inside < 2500
    assert not split or (len(halves) == 1 and all(part[0] for part in halves[0]))


@pytest.fixture
def analysed(area_db):
    """The incidents with planner statistics (ANALYZE), which are removed again afterwards: they
    would outlive the test's rows and change the plans of later tests."""
    with area_db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE incidents"))
    yield area_db
    with area_db.begin() as conn:  # the embedded cluster's owner is a superuser
        conn.execute(text("DELETE FROM pg_statistic WHERE starelid = 'incidents'::regclass"))


def test_only_a_filter_taking_most_of_the_table_is_read_in_halves(analysed, monkeypatch):
    """A selective filter goes through the index in one read; splitting the table would scan it all."""
    area_db = analysed
    monkeypatch.setattr(q, "SPLIT_ROWS", 0)
    seen, real = [], q.side_by_side
    monkeypatch.setattr(q, "side_by_side", lambda *a: seen.append(real(*a)) or seen[-1])
    with area_db.connect() as conn:
        whole = q.metric_points(conn, IncidentFilter(), area_code="HS", srid=SRID)
        assert len(seen) == 1
        one_day = q.metric_points(conn, IncidentFilter(since=NOW - timedelta(hours=12)), area_code="HS", srid=SRID)
        assert len(seen) == 1  # no second split
    assert 0 < len(one_day.x) < len(whole.x) / 10
