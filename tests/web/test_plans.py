"""Drafts, versioned edits (409 when stale), undo/redo, lock, split/merge, rename/renumber,
the publish gate, history and rollback, compare: against the test city in PostGIS."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from mapapp.accounts.queries import add_user
from tests.web.conftest import PASSWORD, login

WEST, EAST = "910101001001001", "910101001001002"
# a line across the west grid at latitude 60.1635 (the 280-household building lies south of it)
CUT = {"type": "LineString", "coordinates": [[24.939, 60.1635], [24.946, 60.1635]]}


def _client(app, db, name):
    with db.begin() as conn:
        add_user(conn, name, "planner", PASSWORD)
    c = app.test_client()
    assert login(c, name).status_code == 302
    c.get("/")  # a page sets the CSRF token in the session
    with c.session_transaction() as sess:
        c.csrf = sess["csrf"]
    return c


@pytest.fixture
def planner(app, city, db):
    with db.begin() as conn:  # the city fixture inserts plans with explicit ids
        conn.execute(text("SELECT setval('grid_plans_id_seq', (SELECT max(id) FROM grid_plans))"))
    return _client(app, db, "planner")


def post(c, url, body):
    return c.post(url, json=body, headers={"X-CSRF-Token": c.csrf})


def draft(c, name="next"):
    r = post(c, "/api/plans/drafts", {"name": name})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def edit(c, plan, version, **body):
    return post(c, f"/api/plans/{plan}/edits", {"version": version, **body})


def test_draft_is_a_copy_of_the_published_plan(planner):
    d = draft(planner)
    assert d["status"] == "draft" and d["version"] == 0 and d["base_plan_id"] == 1
    grids = planner.get("/api/grids?plan=next").get_json()["features"]
    assert sorted(g["id"] for g in grids) == [WEST, EAST]
    assert post(planner, "/api/plans/drafts", {"name": "next"}).status_code == 409


def test_stale_save_is_409_and_concurrent_saves_one_wins(planner, app, db):
    other = _client(app, db, "planner2")
    d = draft(planner)
    results = []
    barrier = threading.Barrier(2)

    def save(c, name):
        barrier.wait()
        results.append((name, edit(c, d["id"], 0, action="rename", code=WEST, name=name)))

    threads = [threading.Thread(target=save, args=(c, n)) for c, n in ((planner, "A"), (other, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for _, r in results) == [200, 409]
    lost = next(r for _, r in results if r.status_code == 409).get_json()
    assert lost["error"] == "stale_version" and lost["current_version"] == 1
    winner = next(n for n, r in results if r.status_code == 200)
    names = {g["id"]: g["properties"]["name"] for g in planner.get("/api/grids?plan=next").get_json()["features"]}
    assert names[WEST] == winner  # the loser's save did not overwrite the winner's
    assert edit(planner, d["id"], 0, action="rename", code=WEST, name="C").status_code == 409


def test_undo_and_redo_twenty_five_steps(planner):
    d = draft(planner)
    v = 0
    for k in range(25):
        r = edit(planner, d["id"], v, action="rename", code=EAST, name=f"east {k}")
        assert r.status_code == 200
        v = r.get_json()["version"]
    assert r.get_json()["undo"] == 25
    for _ in range(25):
        r = post(planner, f"/api/plans/{d['id']}/undo", {"version": v})
        v = r.get_json()["version"]
    names = {g["id"]: g["properties"]["name"] for g in planner.get("/api/grids?plan=next").get_json()["features"]}
    assert names[EAST] == "East"
    assert post(planner, f"/api/plans/{d['id']}/undo", {"version": v}).get_json()["error"] == "nothing_to_undo"
    for _ in range(25):
        v = post(planner, f"/api/plans/{d['id']}/redo", {"version": v}).get_json()["version"]
    names = {g["id"]: g["properties"]["name"] for g in planner.get("/api/grids?plan=next").get_json()["features"]}
    assert names[EAST] == "east 24"


def test_lock_blocks_geometry_edits_until_unlocked(planner):
    d = draft(planner)
    v = edit(planner, d["id"], 0, action="lock", codes=[WEST]).get_json()["version"]
    r = edit(planner, d["id"], v, action="split", code=WEST, line=CUT, new_code="X")
    assert r.status_code == 409 and r.get_json()["error"] == "grid_locked"
    v = edit(planner, d["id"], v, action="unlock", codes="all").get_json()["version"]
    assert edit(planner, d["id"], v, action="split", code=WEST, line=CUT, new_code="X").status_code == 200


def test_split_then_merge_keeps_coverage_and_compare_counts_moved_households(planner):
    d = draft(planner)
    r = edit(planner, d["id"], 0, action="split", code=WEST, line=CUT, new_code=WEST + "S")
    assert r.status_code == 200 and r.get_json()["changed"] == [WEST, WEST + "S"]
    # the edit answers with the metrics of the grids it changed, computed for those grids only
    assert {(m["code"], m["households"]) for m in r.get_json()["metrics"]} == {(WEST, 120), (WEST + "S", 280)}
    assert r.get_json()["check"]["features"] == []
    check = planner.get(f"/api/plans/{d['id']}/check").get_json()
    assert check["summary"]["grids"] == 3 and check["features"] == []
    cmp = planner.get(f"/api/plans/compare?a=1&b={d['id']}").get_json()
    assert (cmp["households"], cmp["changed"]) == (450, 280)
    assert cmp["share_changed"] == pytest.approx(280 / 450, abs=1e-6)
    bad = edit(planner, d["id"], 1, action="split", code=WEST, line={"type": "LineString",
               "coordinates": [[24.90, 60.10], [24.91, 60.11]]}, new_code="Y")
    assert bad.status_code == 400 and bad.get_json()["field"] == "line"
    r = edit(planner, d["id"], 1, action="merge", codes=[WEST, WEST + "S"])
    assert r.status_code == 200
    assert planner.get(f"/api/plans/{d['id']}/check").get_json()["summary"]["grids"] == 2
    assert planner.get(f"/api/plans/compare?a=1&b={d['id']}").get_json()["changed"] == 0


def test_rename_and_renumber_with_hierarchical_codes(planner):
    d = draft(planner)
    v = edit(planner, d["id"], 0, action="rename", code=WEST, new_code="tmp").get_json()["version"]
    assert edit(planner, d["id"], v, action="rename", code="tmp", new_code=EAST).status_code == 400
    edit(planner, d["id"], v, action="renumber")
    codes = [g["id"] for g in planner.get("/api/grids?plan=next").get_json()["features"]]
    assert codes == ["910101001001001", "910101001001002"]  # community code + sequence, west first


def test_publish_gate_rejects_each_failure_then_publishes_with_a_waiver(planner, db):
    d = draft(planner)
    shrunk = {"type": "Polygon", "coordinates": [[[24.940, 60.160], [24.9445, 60.160], [24.9445, 60.170],
                                                  [24.940, 60.170], [24.940, 60.160]]]}
    r = edit(planner, d["id"], 0, action="reshape", code=WEST, geometry=shrunk)
    v = r.get_json()["version"]
    # the edit's own answer already carries the check of where it happened: the new gap
    local = [f["properties"] for f in r.get_json()["check"]["features"]]
    assert [p["kind"] for p in local] == ["gap"] and local[0]["area_m2"] == pytest.approx(
        0.0005 * 111_320 * 0.4975 * 0.01 * 111_320, rel=0.01)
    r = post(planner, f"/api/plans/{d['id']}/publish", {"version": v})
    assert r.status_code == 422
    checks = {(f["check"], f["grid"]) for f in r.get_json()["failures"]}
    assert ("gap", None) in checks and ("band", EAST) in checks  # east holds 50 households
    v = post(planner, f"/api/plans/{d['id']}/undo", {"version": v}).get_json()["version"]
    r = post(planner, f"/api/plans/{d['id']}/publish", {"version": v})
    assert [f["check"] for f in r.get_json()["failures"]] == ["band"]
    assert edit(planner, d["id"], v, action="waive", code=EAST, reason="  ").status_code == 400
    v = edit(planner, d["id"], v, action="waive", code=EAST, reason="new compound next year").get_json()["version"]
    assert post(planner, f"/api/plans/{d['id']}/publish", {"version": v - 1}).status_code == 409
    r = post(planner, f"/api/plans/{d['id']}/publish", {"version": v, "note": "spring"})
    assert r.status_code == 200 and r.get_json()["replaced"] == 1
    assert planner.get("/api/plans/1").get_json()["status"] == "archived"
    # rollback: publish the archived plan again (its east grid needs the wider band)
    r = post(planner, "/api/plans/1/publish?band=households:40:500", {"note": "rollback"})
    assert r.status_code == 200 and r.get_json()["replaced"] == d["id"]
    hist = planner.get("/api/plans/publications").get_json()
    assert [(h["plan_id"], h["note"]) for h in hist] == [(1, "rollback"), (d["id"], "spring")]


def test_writes_need_the_planner_role(viewer):
    viewer.get("/")
    with viewer.session_transaction() as sess:
        csrf = sess["csrf"]
    r = viewer.post("/api/plans/drafts", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_paint_a_building_into_the_neighbouring_grid(planner):
    d = draft(planner)
    units = planner.get(f"/api/plans/{d['id']}/units").get_json()["features"]
    west_units = [u["id"] for u in units if u["properties"]["grid"] == WEST]
    assert len(west_units) == 2
    r = edit(planner, d["id"], 0, action="paint", code=EAST, unit_ids=[2])  # the 280-household building
    assert r.status_code == 200, r.get_json()
    hh = {m["code"]: m["households"] for m in r.get_json()["metrics"]}
    assert hh == {WEST: 120, EAST: 330}
    check = planner.get(f"/api/plans/{d['id']}/check").get_json()
    assert [f["properties"]["kind"] for f in check["features"] if f["properties"]["kind"] in
            ("gap", "overlap", "unassigned_unit")] == []
    assert edit(planner, d["id"], 1, action="paint", code=EAST, unit_ids=[2]).status_code == 400


def test_auto_plan_makes_a_draft_in_band_and_contiguous(planner):
    r = post(planner, "/api/plans/1/auto", {"name": "auto", "band": [100, 250]})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    rep = out["report"]
    # 450 households in 3 buildings of 120, 280, 50: the 280 building alone is over 250
    assert rep["grids"] >= 2 and rep["non_contiguous"] == 0
    assert [u["households"] for u in rep["infeasible"]] == [280] and "280 households > 250" in \
        rep["infeasible"][0]["reason"]
    assert rep["band_violations_avoidable"] == rep["band_violations"] - 1
    check = planner.get(f"/api/plans/{out['plan']}/check").get_json()["summary"]
    assert check["problems"]["gap"] == 0 and check["problems"]["overlap"] == 0
    assert check["contiguous_grids"] == check["grids"]
    r = post(planner, "/api/plans/1/auto", {"name": "auto2", "band": [100, 600]})
    rep = r.get_json()["report"]
    assert rep["band_violations"] == 0 and 100 <= rep["households_min"] <= rep["households_max"] <= 600
    bad = post(planner, "/api/plans/1/auto", {"name": "auto3", "band": [1000, 2000]})
    assert bad.status_code == 422 and bad.get_json()["error"] == "no_balanced_plan"


def test_rebalance_two_neighbouring_grids(planner):
    d = draft(planner)
    r = edit(planner, d["id"], 0, action="rebalance", codes=[WEST, EAST])
    assert r.status_code == 200, r.get_json()
    hh = sorted(m["households"] for m in r.get_json()["metrics"])
    # units of 120, 280 and 50 households: the balanced split is 170 / 280 (was 400 / 50)
    assert hh == [170, 280]
    check = planner.get(f"/api/plans/{d['id']}/check").get_json()
    assert check["features"] == []


def test_move_a_shared_vertex_moves_both_grids(planner):
    d = draft(planner)
    r = edit(planner, d["id"], 0, action="move_vertex", **{"from": [24.945, 60.160], "to": [24.942, 60.160]})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["changed"] == [WEST, EAST]
    # the 280-household building's point now lies east of the moved boundary
    assert {m["code"]: m["households"] for m in out["metrics"]} == {WEST: 120, EAST: 330}
    assert out["check"]["features"] == []  # no gap, no overlap where the edit happened
    full = planner.get(f"/api/plans/{d['id']}/check").get_json()["summary"]
    assert full["problems"]["gap"] == 0 and full["problems"]["overlap"] == 0
    nowhere = edit(planner, d["id"], 1, action="move_vertex", **{"from": [24.9411, 60.1611], "to": [24.942, 60.161]})
    assert nowhere.status_code == 400 and nowhere.get_json()["field"] == "from"
    crossing = edit(planner, d["id"], 1, action="move_vertex", **{"from": [24.942, 60.160], "to": [24.941, 60.1705]})
    assert crossing.status_code == 400 and crossing.get_json()["field"] == "to"
    bad = edit(planner, d["id"], 1, action="move_vertex", **{"from": "here", "to": [24.942, 60.160]})
    assert bad.status_code == 400 and bad.get_json()["field"] == "from"


def test_paint_units_of_two_grids_at_once(planner, db):
    """A box selection reaching into two grids: each gives up its units to the target."""
    with db.begin() as conn:
        conn.execute(text("INSERT INTO base_units (kind, households, population, estimated, geom) VALUES "
                          "('address', 40, 70, false, ST_SetSRID(ST_MakePoint(24.947, 60.162), 4326)), "
                          "('address', 30, 50, false, ST_SetSRID(ST_MakePoint(24.948, 60.1645), 4326)) "
                          "RETURNING id"))
        ids = [r[0] for r in conn.execute(text("SELECT id FROM base_units ORDER BY id"))]
    d = draft(planner)
    line = {"type": "LineString", "coordinates": [[24.9445, 60.163], [24.9505, 60.163]]}
    r = edit(planner, d["id"], 0, action="split", code=EAST, line=line, new_code="SE")
    assert r.status_code == 200, r.get_json()
    r = edit(planner, d["id"], 1, action="paint", code="SE", unit_ids=[ids[1], ids[4]])
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["changed"] == [WEST, EAST, "SE"]
    assert {m["code"]: m["households"] for m in out["metrics"]} == {WEST: 120, EAST: 50, "SE": 350}
    assert out["check"]["features"] == []


def test_streets_near_a_plan_are_one_snap_layer(planner):
    r = planner.get("/api/plans/1/streets")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    features = r.get_json()["features"]
    assert len(features) == 1 and features[0]["geometry"]["type"] == "MultiLineString"
    assert features[0]["geometry"]["coordinates"] == [[[24.94, 60.165], [24.95, 60.165]]]  # the city's one street
    missing = planner.get("/api/plans/999/streets")
    assert missing.status_code == 404 and missing.get_json()["field"] == "plan"
