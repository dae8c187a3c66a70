"""Intake (POST /api/incidents), one case with its history, and workflow transitions."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from mapapp.accounts.queries import create_token
from mapapp.web.setup import ext


def test_intake_assigns_grid_and_returns_deadline(api, engine):
    post, get = api
    r = post("/api/incidents", {"category": "public_order.theft", "lon": 24.942, "lat": 60.165,
                                "description": "bike stolen", "priority": "urgent"})
    assert r.status_code == 201, r.json
    assert r.json["grid"] == "910101001001001" and r.json["community"] == "910101001001"
    assert r.json["deadline_hours"] == 6.0  # theft 24 h, urgent x 1/4
    assert r.headers["Location"].endswith(f"/api/incidents/{r.json['id']}")
    case = get(f"/api/incidents/{r.json['id']}").json
    assert case["status"] == "reported" and case["history"][0]["actor"] == "dispatcher"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT description FROM incidents WHERE id = :i"), {"i": r.json["id"]}).scalar() == "bike stolen"


def test_geojson_feature_and_gcj02_outside_china_unchanged(api):
    post, _ = api
    r = post("/api/incidents", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.947, 60.165]},
                                "properties": {"category": "city_mgmt.vending", "datum": "gcj02"}})
    assert r.status_code == 201 and r.json["grid"] == "910101001001002"


def test_duplicates_suggested(api):
    post, _ = api
    first = post("/api/incidents", {"category": "safety.gas", "lon": 24.9481, "lat": 60.1681}).json
    r = post("/api/incidents", {"category": "safety.gas", "lon": 24.9482, "lat": 60.1681})
    ids = [d["id"] for d in r.json["possible_duplicates"]]
    assert first["id"] in ids
    assert all(d["metres"] <= 50 for d in r.json["possible_duplicates"])
    r = post("/api/incidents", {"category": "safety.fire", "lon": 24.9482, "lat": 60.1681})
    assert r.json["possible_duplicates"] == []  # other category


def test_token_intake_reuses_generic_plans_with_the_same_answers(app, api):
    """A token intake lets PostgreSQL switch to a generic plan for its insert after five custom ones
    (plan_cache_mode=auto for that transaction); the duplicate search answers the same before and after."""
    post, _ = api
    ext(app)["engine"].dispose()  # the engine is shared between tests: start with one connection only
    ids = []
    for k in range(14):  # psycopg prepares on the 5th run; PostgreSQL plans custom 5 times, then may go generic
        r = post("/api/incidents", {"category": "public_order.noise", "lon": 24.9461, "lat": 60.1661 + k * 1e-5})
        assert r.status_code == 201 and r.json["grid"] == "910101001001002", r.json
        assert sorted(d["id"] for d in r.json["possible_duplicates"]) == ids  # all earlier ones, within 50 m
        ids.append(r.json["id"])
    near_fixture = post("/api/incidents", {"category": "public_order.noise", "lon": 24.9421, "lat": 60.1631}).json
    assert len(near_fixture["possible_duplicates"]) == 1  # the fixture's open noise case, 8 m off; ours are 250 m off
    assert near_fixture["possible_duplicates"][0]["id"] not in ids
    with ext(app)["engine"].connect() as conn:  # the pool's one connection, which served every request
        plans = conn.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                  "WHERE statement LIKE '%INSERT INTO incidents%'")).all()
    assert plans and plans[0][0] >= 1, plans


def test_outside_every_grid_is_flagged_not_dropped(api):
    post, _ = api
    r = post("/api/incidents", {"category": "emergency.accident", "lon": 24.935, "lat": 60.155})
    assert r.status_code == 201 and r.json["assign_flag"] == "outside" and r.json["grid"] is None


@pytest.mark.parametrize("body, field", [
    ({"category": "nope", "lon": 24.942, "lat": 60.165}, "category"),
    ({"lon": 24.942, "lat": 60.165}, "category"),
    ({"category": "public_order", "lat": 60.165}, "lon"),
    ({"category": "public_order", "lon": "east", "lat": 60.165}, "lon"),
    ({"category": "public_order", "lon": 124.942, "lat": 60.165}, "lon,lat"),  # outside the jurisdiction
    ({"category": "public_order", "lon": 60.165, "lat": 24.942}, "lon,lat"),  # swapped
    ({"category": "public_order", "lon": 24.942, "lat": 60.165, "reported_at": "2999-01-01T00:00:00Z"}, "reported_at"),
    ({"category": "public_order", "lon": 24.942, "lat": 60.165, "reported_at": "yesterday"}, "reported_at"),
    ({"category": "public_order", "lon": 24.942, "lat": 60.165, "priority": "asap"}, "priority"),
    ({"category": "public_order", "lon": 24.942, "lat": 60.165, "datum": "tokyo"}, "datum"),
    ({"category": "public_order", "lon": 24.942, "lat": 60.165, "colour": "red"}, "colour"),
    ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}, "properties": {}}, "geometry"),
    ([1, 2], "body"),
])
def test_bad_intake_is_400_naming_the_field_and_writes_nothing(api, engine, body, field):
    post, _ = api
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    r = post("/api/incidents", body)
    assert r.status_code == 400, r.json
    assert r.json["field"] == field and r.json["message"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before


def test_malformed_json(api):
    post, _ = api
    r = post("/api/incidents", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json["field"] == "body"


def test_intake_needs_a_writing_role(app, city):
    from tests.web.conftest import login

    c = app.test_client()
    assert c.post("/api/incidents", json={}).status_code == 401
    login(c, "viewer")
    assert c.post("/api/incidents", json={}, headers={"X-CSRF-Token": "x"}).status_code in (400, 403)
    c.get("/")
    with c.session_transaction() as sess:
        csrf = sess["csrf"]
    r = c.post("/api/incidents", json={"category": "public_order", "lon": 24.942, "lat": 60.165},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_token_intake_is_audited_under_the_token_user_and_address(app, city, engine):
    """The token read binds the audit actor and address in the intake's own transaction: both when
    the token was just used (no last_used_at write) and when that write commits first."""
    c = app.test_client()
    auth = {"Authorization": f"Bearer {city['token']}"}
    body = {"category": "public_order.theft", "lon": 24.942, "lat": 60.165}
    with engine.connect() as conn:
        start = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar()
    ids = []
    for stale, addr in ((True, "198.51.100.8"), (False, "198.51.100.9")):
        if stale:
            with engine.begin() as conn:
                conn.execute(text("UPDATE api_tokens SET last_used_at = NULL"))
        r = c.post("/api/incidents", json=body, headers=auth, environ_base={"REMOTE_ADDR": addr})
        assert r.status_code == 201, r.json
        ids.append(r.json["id"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT object_id, actor, ip FROM audit_log WHERE id > :s "
                                 "AND action = 'incident.report' ORDER BY id"), {"s": start}).all()
    assert [tuple(r) for r in rows] == [(str(ids[0]), "dispatcher", "198.51.100.8"),
                                        (str(ids[1]), "dispatcher", "198.51.100.9")]


def test_viewer_token_cannot_file_and_writes_nothing(app, city, engine):
    with engine.begin() as conn:
        token = create_token(conn, "viewer", "read only")
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    r = app.test_client().post("/api/incidents", json={"category": "public_order.theft", "lon": 24.942, "lat": 60.165},
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before


def test_full_closed_loop_with_history_and_deadline(api):
    post, get = api
    iid = post("/api/incidents", {"category": "public_order.noise", "lon": 24.942, "lat": 60.165}).json["id"]
    for action in ("register", "dispatch", "start", "handle", "send_back", "handle", "close"):
        r = post(f"/api/incidents/{iid}/transitions", {"action": action, "note": f"step {action}"})
        assert r.status_code == 200, r.json
    case = get(f"/api/incidents/{iid}").json
    assert case["status"] == "closed" and case["closed_at"] and case["due_at"]
    assert [h["action"] for h in case["history"]] == ["report", "register", "dispatch", "start", "handle",
                                                       "send_back", "handle", "close"]
    assert case["history"][5]["from_status"] == "handled" and case["history"][5]["to_status"] == "in_progress"
    assert case["deadline_hours"] == 12.0
    r = post(f"/api/incidents/{iid}/transitions", {"action": "dispatch"})
    assert r.status_code == 409 and r.json["current"] == "closed" and "closed" in r.json["message"]
    r = post(f"/api/incidents/{iid}/transitions", {"action": "reopen"})
    assert r.status_code == 200 and r.json["status"] == "registered" and r.json["closed_at"] is None


def test_transition_errors(api):
    post, _ = api
    iid = post("/api/incidents", {"category": "public_order", "lon": 24.942, "lat": 60.165}).json["id"]
    assert post(f"/api/incidents/{iid}/transitions", {"action": "void"}).status_code == 200
    r = post(f"/api/incidents/{iid}/transitions", {"action": "register"})
    assert r.status_code == 409 and r.json["current"] == "voided"
    r = post(f"/api/incidents/{iid}/transitions", {"note": "x"})
    assert r.status_code == 400 and r.json["field"] == "action"
    r = post(f"/api/incidents/{iid}/transitions", {"action": "fly"})
    assert r.status_code == 400 and r.json["field"] == "action"
    assert post("/api/incidents/999999/transitions", {"action": "void"}).status_code == 404


def test_changes_latest_and_overdue(api, engine):
    post, get = api
    start = get("/api/incidents/changes").json["last"]
    iid = post("/api/incidents", {"category": "public_order.fight", "lon": 24.942, "lat": 60.165}).json["id"]
    ch = get(f"/api/incidents/changes?after={start}").json
    assert ch["changed"] == [iid] and ch["last"] > start
    assert get(f"/api/incidents/changes?after={ch['last']}").json["changed"] == []
    assert get("/api/incidents/changes?after=x").status_code == 400
    latest = get("/api/incidents/latest?limit=3").json["features"]
    assert latest[0]["id"] == iid and len(latest) == 3
    post(f"/api/incidents/{iid}/transitions", {"action": "register"})
    post(f"/api/incidents/{iid}/transitions", {"action": "dispatch"})
    assert get("/api/incidents?overdue=true").json["numberMatched"] == 0
    with engine.begin() as conn:  # the 2-hour clock of a fight has run out
        conn.execute(text("UPDATE incidents SET due_at = now() - interval '1 minute' WHERE id = :i"), {"i": iid})
    r = get("/api/incidents?overdue=true").json
    assert [f["id"] for f in r["features"]] == [iid] and r["features"][0]["properties"]["overdue"] is True
    assert get("/api/incidents?overdue=maybe").json["field"] == "overdue"


def test_database_unreachable_is_503_and_nothing_is_written(app, city, engine):
    from sqlalchemy import create_engine

    from mapapp.web.setup import ext

    with app.app_context():
        real = ext(app)["engine"]
        ext(app)["engine"] = create_engine("postgresql+psycopg://nobody@/nowhere?host=/nonexistent",
                                           pool_pre_ping=True)
    try:
        r = app.test_client().post("/api/incidents", json={"category": "public_order", "lon": 24.942, "lat": 60.165},
                                   headers={"Authorization": f"Bearer {city['token']}"})
    finally:
        with app.app_context():
            ext(app)["engine"] = real
    assert r.status_code == 503 and r.json["error"] == "database_unavailable" and r.headers["Retry-After"] == "5"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents WHERE category = 'public_order'")).scalar() == 0


def _upload(app, city, name: str, body: bytes, **form):
    c = app.test_client()
    data = {"file": (io.BytesIO(body), name), **form}
    return c.post("/api/incidents/import", data=data, content_type="multipart/form-data",
                  headers={"Authorization": f"Bearer {city['token']}"})


def test_bulk_intake_over_http_validates_like_the_importer(app, city, engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    csv = ("lon,lat,category,reported_at,description\n"
           "24.942,60.163,public_order.noise,2026-11-01T08:00:00Z,one\n"
           "24.947,60.168,safety.gas,2026-11-02T09:00:00Z,<b>two</b>\n").encode()
    r = _upload(app, city, "cases.csv", csv)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["loaded"] == 2
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT i.description, g.code, e.action, e.actor FROM incidents i
              JOIN grids g ON g.id = i.grid_id JOIN incident_events e ON e.incident_id = i.id
             WHERE i.description IN ('one', '<b>two</b>') ORDER BY i.id""")).all()
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before + 2
    assert rows == [("one", "910101001001001", "report", "dispatcher"),
                    ("<b>two</b>", "910101001001002", "report", "dispatcher")]


def test_bulk_intake_with_a_bad_row_loads_nothing_and_names_it(app, city, engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    csv = ("lon,lat,category\n24.942,60.163,public_order.noise\n24.943,60.164,no.such\n"
           "60.164,24.943,public_order.noise\n").encode()
    r = _upload(app, city, "cases.csv", csv)
    body = r.get_json()
    assert r.status_code == 422 and body["error"] == "rows_rejected" and body["rejected"] == 2
    assert [(x["row"], x["field"]) for x in body["rejects"]] == [(3, "category"), (4, "geometry")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before


@pytest.mark.parametrize("name,body,field", [
    ("cases.txt", b"x", "file"),
    ("cases.csv", b"", "file"),
    ("cases.geojson", b"{not json", "file"),
])
def test_bulk_intake_bad_files(app, city, name, body, field):
    r = _upload(app, city, name, body)
    assert r.status_code == 400 and r.get_json()["field"] == field, r.get_json()


def test_bulk_intake_needs_a_dispatcher(app, city):
    r = app.test_client().post("/api/incidents/import", data={"file": (io.BytesIO(b"lon,lat\n"), "a.csv")},
                               content_type="multipart/form-data")
    assert r.status_code == 401
