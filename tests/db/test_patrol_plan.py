"""Planning a patrol on a small hand-made network: candidates, snapping, pgRouting travel times,
routes along the streets, unreachable candidates reported and skipped."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from mapapp.errors import UserError
from mapapp.patrol import queries as q
from mapapp.patrol.plan import plan
from mapapp.patrol.queries import rebuild_network
from mapapp.patrol.request import parse_request
from tests.db.test_patrol_network import STREETS

PLACES = """
INSERT INTO key_places (name, category, geom) VALUES
 ('Bar at the top of B', 'bar', ST_SetSRID(ST_MakePoint(24.9451, 60.1649), 4326)),
 ('School at the west end of A', 'school', ST_SetSRID(ST_MakePoint(24.9401, 60.1601), 4326)),
 ('Hotel on the lone street E', 'hotel', ST_SetSRID(ST_MakePoint(24.9605, 60.1701), 4326)),
 ('Kiosk far from any street', 'market', ST_SetSRID(ST_MakePoint(24.935, 60.175), 4326));
INSERT INTO incidents (category, status, priority, geom) VALUES
 ('public_order.noise', 'reported', 'urgent', ST_SetSRID(ST_MakePoint(24.9500, 60.1649), 4326)),
 ('public_order.noise', 'closed', 'urgent', ST_SetSRID(ST_MakePoint(24.9450, 60.1551), 4326));
"""
AREA = {"polygon": {"type": "Polygon", "coordinates": [[[24.93, 60.15], [24.97, 60.15], [24.97, 60.18],
                                                          [24.93, 60.18], [24.93, 60.15]]]}}
START = [24.945, 60.160]


@pytest.fixture
def town(db):
    with db.begin() as conn:
        conn.execute(text(STREETS))
        conn.execute(text(PLACES))
        rebuild_network(conn)
    return db


def _plan(db, **body):
    with db.begin() as conn:
        return plan(conn, parse_request({"area": AREA, "start": START, **body}))


def _of(fc, kind):
    return [f for f in fc["features"] if f["properties"]["kind"] == kind]


def _names(feature):
    return {i["name"] or i["category"] for i in feature["properties"]["items"]}


def test_foot_patrol_visits_what_it_can_reach_and_skips_the_rest(town):
    fc = _plan(town, mode="foot", shift_minutes=120, dwell_minutes=15)
    (route,) = _of(fc, "route")
    stops = _of(fc, "stop")
    assert {n for s in stops for n in _names(s)} == {"Bar at the top of B", "School at the west end of A",
                                                      "public_order.noise"}
    skipped = {r["reason"]: r for r in fc["summary"]["skipped"]}
    assert _names({"properties": skipped["disconnected"]}) == {"Hotel on the lone street E"}
    assert _names({"properties": skipped["far_from_network"]}) == {"Kiosk far from any street"}
    assert fc["summary"]["share"] == 1.0 and fc["summary"]["value"] == 3 + 2 + 4
    coords = route["geometry"]["coordinates"]
    assert coords[0] == coords[-1] == START  # starts and ends at the post
    for s in stops:
        assert s["geometry"]["coordinates"] in coords  # every stop lies on the route
        assert s["properties"]["arrival_s"] + 15 * 60 <= 120 * 60
    assert [s["properties"]["order"] for s in stops] == [1, 2, 3]
    assert route["properties"]["duration_s"] <= 120 * 60
    assert route["properties"]["distance_m"] > 1000


def test_route_is_a_connected_path_on_the_street_edges(town):
    fc = _plan(town, mode="foot", shift_minutes=120)
    (route,) = _of(fc, "route")
    with town.connect() as conn:
        off = conn.execute(text("""
            SELECT count(*) FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) AS p(x, y)
             WHERE NOT EXISTS (SELECT 1 FROM street_edges e
                                WHERE ST_DWithin(e.geom, ST_SetSRID(ST_MakePoint(x, y), 4326), 1e-6))"""),
            {"xs": [c[0] for c in route["geometry"]["coordinates"]],
             "ys": [c[1] for c in route["geometry"]["coordinates"]]}).scalar()
    assert off == 0
    steps = np.diff(np.asarray(route["geometry"]["coordinates"]), axis=0)
    assert np.abs(steps).max() <= 0.0051  # no jumps: consecutive points are one edge apart at most


def test_by_car_the_one_way_dead_end_is_reported_not_routed(town):
    fc = _plan(town, mode="car", shift_minutes=60, dwell_minutes=5)
    visited = {n for s in _of(fc, "stop") for n in _names(s)}
    assert "public_order.noise" not in visited and "Bar at the top of B" in visited
    disconnected = [r for r in fc["summary"]["skipped"] if r["reason"] == "disconnected"]
    assert {n for r in disconnected for n in _names({"properties": r})} >= {"public_order.noise"}


def test_short_shift_chooses_and_respects_the_time_limit(town):
    fc = _plan(town, mode="foot", shift_minutes=40, dwell_minutes=15, time_limit=0.3)
    assert fc["summary"]["timings"]["solve_s"] <= 0.3
    (route,) = _of(fc, "route")
    assert route["properties"]["stops"] == 1 and route["properties"]["duration_s"] <= 40 * 60
    assert {n for s in _of(fc, "stop") for n in _names(s)} == {"public_order.noise"}  # the most valuable


def test_without_a_time_limit_the_solver_time_follows_the_instance_size(town):
    fc = _plan(town, mode="foot", shift_minutes=120, dwell_minutes=15)
    timings = fc["summary"]["timings"]
    assert 0.1 < timings["time_limit_s"] < 0.2  # three stops: a little over the base time
    assert timings["solve_s"] <= timings["time_limit_s"]
    assert fc["params"]["time_limit"] is None


def test_two_teams_share_the_stops(town):
    fc = _plan(town, mode="foot", shift_minutes=60, dwell_minutes=15, teams=2)
    routes = _of(fc, "route")
    assert len(routes) == 2 and routes[0]["properties"]["colour"] != routes[1]["properties"]["colour"]
    assert sum(r["properties"]["stops"] for r in routes) == 3


@pytest.mark.parametrize("body, field", [
    ({"start": [24.90, 60.10]}, "start"),
    ({"area": {"community": "nowhere"}}, "area.community"),
    ({"area": {"grids": ["X1"]}}, "area.grids"),
    ({"end": [24.9605, 60.1701]}, "end"),
])
def test_bad_places_are_named(town, body, field):
    with pytest.raises(UserError) as err:
        with town.begin() as conn:
            plan(conn, parse_request({"area": AREA, "start": START, **body}))
    assert err.value.field == field


def test_cost_matrix_marks_unreachable_pairs(town):
    with town.connect() as conn:
        ids = conn.execute(text("SELECT id FROM street_vertices ORDER BY ST_X(geom), ST_Y(geom)")).scalars().all()
        m = q.cost_matrix(conn, [ids[0], ids[-1], ids[0]], "foot", (24.9, 60.1, 25.0, 60.2))
    assert m.shape == (3, 3) and np.isinf(m[0, 1]) and np.isinf(m[1, 0]) and m[0, 2] == 0


@pytest.mark.parametrize("mode", ["foot", "car"])
def test_a_pair_cut_off_by_the_box_is_routed_on_the_whole_network(town, mode):
    with town.connect() as conn:
        ids = conn.execute(text(f"""
            SELECT id FROM street_vertices WHERE component_{mode} = (
              SELECT component_{mode} FROM street_vertices GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
             ORDER BY ST_X(geom), ST_Y(geom)""")).scalars().all()
        corner = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM street_vertices WHERE id = :i"),
                              {"i": ids[0]}).one()
        vertices = [ids[0], ids[len(ids) // 2], ids[-1]]
        tiny = (corner[0] - 1e-6, corner[1] - 1e-6, corner[0] + 1e-6, corner[1] + 1e-6)
        boxed = q.cost_matrix(conn, vertices, mode, tiny)
        whole = q.cost_matrix(conn, vertices, mode, (24.0, 60.0, 26.0, 61.0))
    assert np.isfinite(whole[0, 2]) and whole[0, 2] > 0  # the box alone holds no street between them
    np.testing.assert_allclose(boxed, whole)


@pytest.mark.parametrize("mode", ["foot", "car"])
def test_the_matrix_split_over_two_connections_equals_one_connection(town, monkeypatch, mode):
    with town.connect() as conn:
        ids = conn.execute(text("SELECT id FROM street_vertices ORDER BY id")).scalars().all()
        monkeypatch.setattr(q, "PARALLEL_MIN_VERTICES", 10**9)
        one = q.cost_matrix(conn, ids, mode, None)
        monkeypatch.setattr(q, "PARALLEL_MIN_VERTICES", 2)
        two = q.cost_matrix(conn, ids, mode, None)
    assert np.isfinite(one).sum() > 2 * len(ids)
    np.testing.assert_allclose(two, one)


def test_a_transaction_that_changed_the_network_reads_its_own_change(town, monkeypatch):
    monkeypatch.setattr(q, "PARALLEL_MIN_VERTICES", 2)  # other connections would not see the change
    with town.connect() as conn, conn.begin() as tx:
        ids = conn.execute(text("SELECT id FROM street_vertices ORDER BY id")).scalars().all()
        before = q.cost_matrix(conn, ids, "foot", None)
        conn.execute(text("""
            UPDATE street_edges SET cost_foot = CASE WHEN cost_foot >= 0 THEN 2 * cost_foot ELSE cost_foot END,
                   reverse_cost_foot = CASE WHEN reverse_cost_foot >= 0 THEN 2 * reverse_cost_foot
                                            ELSE reverse_cost_foot END"""))
        after = q.cost_matrix(conn, ids, "foot", None)
        tx.rollback()
    finite = np.isfinite(before)
    assert finite.sum() > 2 * len(ids)
    np.testing.assert_allclose(after[finite], 2 * before[finite])


def test_hot_cells_of_the_sample_city_become_candidates(db):
    from mapapp import sample
    from mapapp.patrol.plan import candidates

    sample.load(db, "helsinki", echo=lambda *_: None)
    body = {"area": {"community": sample.district_code("helsinki")}, "sources": ["hotspots"]}
    with db.connect() as conn:
        fc = candidates(conn, parse_request(body))
    cands = [f for f in fc["features"] if f["properties"]["kind"] == "candidate"]
    assert len(cands) >= 5
    items = [i for f in cands for i in f["properties"]["items"]]
    assert {i["kind"] for i in items} == {"hotspot"}
    assert {i["category"] for i in items} <= {"gi_star_bin_2", "gi_star_bin_3"}
    assert min(f["properties"]["value"] for f in cands) >= 1.96  # a 95 % hot spot's z at least


def test_separate_end_point_holds(town):
    end = [24.940, 60.160]  # the west end of A
    fc = _plan(town, mode="foot", shift_minutes=120, end=end, teams=2)
    for route in _of(fc, "route"):
        if route["geometry"]:
            assert route["geometry"]["coordinates"][0] == START
            assert route["geometry"]["coordinates"][-1] == end
    (e,) = _of(fc, "end")
    assert e["geometry"]["coordinates"] == end
