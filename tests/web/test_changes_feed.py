"""The live map's changes feed and the tile data version go by commit, not by id: a history step
whose id is below one already read, committed later (concurrent intake), is still reported and
still changes the version (migration 0014)."""
from __future__ import annotations

from sqlalchemy import text

from mapapp.incidents import queries as q

CHANGES = "/api/incidents/changes"


def _report(conn, lon: float) -> int:
    """An incident and its first history step, as intake writes them, in the caller's transaction."""
    iid = conn.execute(text("INSERT INTO incidents (category, geom) VALUES ('public_order.noise', "
                            "ST_SetSRID(ST_MakePoint(:x, 60.165), 4326)) RETURNING id"), {"x": lon}).scalar_one()
    conn.execute(text("INSERT INTO incident_events (incident_id, action, to_status) "
                      "VALUES (:i, 'report', 'reported')"), {"i": iid})
    return iid


def _feed(get, cursor: str) -> dict:
    r = get(f"{CHANGES}?after={cursor}")
    assert r.status_code == 200, r.json
    return r.json


def _version(get) -> str:
    return get("/tiles/incidents/version").json["version"]


def test_a_step_committed_after_a_later_one_is_not_skipped(api, engine):
    _, get = api
    start = get(CHANGES).json
    assert start["changed"] == []
    v0 = _version(get)
    with engine.connect() as a, engine.connect() as b:
        ta = a.begin()
        first = _report(a, 24.942)  # takes the lower incident and event ids, commits last
        tb = b.begin()
        second = _report(b, 24.943)
        tb.commit()
        seen = _feed(get, start["last"])
        assert seen["changed"] == [second]
        v1 = _version(get)
        assert v1 != v0
        assert _version(get) == v1  # nothing committed: the same version, though `a` still runs
        ta.commit()
    with engine.connect() as conn:  # the case the feed used to skip: its step's id is the lower one
        ids = dict(conn.execute(text("SELECT incident_id, id FROM incident_events WHERE incident_id IN (:a, :b)"),
                                {"a": first, "b": second}).all())
    assert ids[first] < ids[second]
    late = _feed(get, seen["last"])
    assert late["changed"] == [first] and not late["more"] and not late["reset"]
    v2 = _version(get)
    assert v2 != v1  # a cached tile of version v1 lacks `first`: its URL and ETag must change
    assert _feed(get, late["last"])["changed"] == []
    assert _version(get) == v2


def test_status_changes_are_reported_once(api):
    post, get = api
    iid = post("/api/incidents", {"category": "public_order.fight", "lon": 24.942, "lat": 60.165}).json["id"]
    cursor = get(CHANGES).json["last"]
    assert post(f"/api/incidents/{iid}/transitions", {"action": "register"}).status_code == 200
    assert post(f"/api/incidents/{iid}/transitions", {"action": "dispatch"}).status_code == 200
    ch = _feed(get, cursor)
    assert ch["changed"] == [iid]
    assert _feed(get, ch["last"])["changed"] == []


def test_more_than_the_cap_says_so(city, engine):
    with engine.begin() as conn:
        cursor = q.changes_cursor(conn)
    with engine.begin() as conn:
        ids = [_report(conn, 24.942 + i / 1000) for i in range(3)]
    with engine.connect() as conn:
        _, changed, more, _ = q.changed_since(conn, cursor, cap=2)
        assert changed == ids[1:] and more  # the most recently changed
        _, changed, more, _ = q.changed_since(conn, cursor, cap=3)
        assert changed == ids and not more


def test_cursors_bad_old_and_from_the_future(api, engine):
    _, get = api
    for bad in ("x", "1:0:", "5:10:3", "5:10:7,6", "5:10:12", "1:2:3:4", "-1:2:", "5:10:,"):
        r = get(f"{CHANGES}?after={bad}")
        assert r.status_code == 400 and r.json["field"] == "after", bad
    with engine.connect() as conn:
        last_event = conn.execute(text("SELECT coalesce(max(id), 0) FROM incident_events")).scalar_one()
    with engine.begin() as conn:
        iid = _report(conn, 24.944)
    old = _feed(get, str(last_event))  # a page opened before cursors were snapshots: answered once
    assert old["changed"] == [iid] and ":" in old["last"]
    assert _feed(get, old["last"])["changed"] == []
    ahead = _feed(get, "9000000000:9000000000:")  # the database was recreated under an open page
    assert ahead["reset"] and ahead["changed"] == []
    assert _feed(get, ahead["last"])["reset"] is False
