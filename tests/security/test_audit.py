"""The audit trail: written in the changing transaction, out of reach of the app's own database
role and append-only even for the owner, login throttling read from it, and the admin page and CSV export."""
from __future__ import annotations

import csv
import io

import pytest
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mapapp.db.roles import APP_ROLE
from mapapp.web.auth import LOGIN_MAX_FAILURES
from tests.web.conftest import PASSWORD, login


def _entries(engine, since_id: int, prefix: str = "") -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT * FROM audit_log WHERE id > :i AND action LIKE :p || '%' ORDER BY id"),
            {"i": since_id, "p": prefix}).mappings()]


def _last_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def _csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as sess:
        return sess["csrf"]


def test_transition_is_audited_with_who_where_before_and_after(app, dispatcher, engine):
    start = _last_id(engine)
    csrf = _csrf(dispatcher)
    r = dispatcher.post("/api/incidents/1/transitions", json={"action": "register", "note": "checked"},
                        headers={"X-CSRF-Token": csrf}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 200, r.json
    (entry,) = _entries(engine, start, "incident.")
    assert (entry["actor"], entry["ip"], entry["action"]) == ("dispatcher", "198.51.100.7", "incident.register")
    assert (entry["object_type"], entry["object_id"]) == ("incident", "1")
    assert entry["before"] == {"status": "reported"}
    assert entry["after"]["status"] == "registered" and entry["after"]["note"] == "checked"


def test_a_refused_change_leaves_no_audit_entry(app, dispatcher, engine):
    start = _last_id(engine)
    r = dispatcher.post("/api/incidents/2/transitions", json={"action": "dispatch"},
                        headers={"X-CSRF-Token": _csrf(dispatcher)})
    assert r.status_code == 409  # incident 2 is closed
    assert _entries(engine, start, "incident.") == []


def test_plan_draft_is_audited_under_the_planner(app, city, engine):
    with engine.begin() as conn:  # the test city inserts plans 1 and 2 with fixed ids
        conn.execute(text("SELECT setval('grid_plans_id_seq', 100)"))
    c = app.test_client()
    assert login(c, "admin").status_code == 302
    start = _last_id(engine)
    r = c.post("/api/plans/drafts", json={"name": "audited draft"}, headers={"X-CSRF-Token": _csrf(c)})
    assert r.status_code == 201, r.json
    created = _entries(engine, start, "plan.create")
    assert [(e["actor"], e["after"]["name"]) for e in created] == [("admin", "audited draft")]


CHANGES = ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"]


@pytest.mark.parametrize("statement", [*CHANGES, "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                                       "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
                                       "SELECT setval('audit_log_id_seq', 1)"])
def test_the_apps_connection_has_no_right_to_change_audit_rows(app, dispatcher, statement):
    engine = app.extensions["mapapp"]["engine"]  # the very engine the app writes with
    assert _last_id(engine) > 0  # logging the dispatcher in wrote a row
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == APP_ROLE
    with pytest.raises(DBAPIError) as refused:
        with engine.begin() as conn:
            conn.execute(text(statement))
    assert isinstance(refused.value.orig, InsufficientPrivilege)
    assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)


@pytest.mark.parametrize("statement", CHANGES)
def test_even_the_owner_is_refused_by_the_triggers(city, engine, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:  # the tables' owner (a superuser in the embedded cluster)
            conn.execute(text(statement))


def test_logins_are_audited_and_throttled_per_account_and_address(app, city, engine):
    start = _last_id(engine)
    c = app.test_client()
    here = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(LOGIN_MAX_FAILURES):
        r = c.post("/login", data={"name": "viewer", "password": "wrong password", "csrf_token": _csrf(c)},
                   environ_base=here)
        assert r.status_code == 401
    r = c.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": _csrf(c)},
               environ_base=here)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "15" in r.get_data(as_text=True)
    r = c.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": _csrf(c)},
               environ_base=here, headers={"Accept": "application/json"})
    assert r.status_code == 429 and r.json["error"] == "too_many_attempts"
    # another address, or another account from this address, is not held back
    other = app.test_client()
    r = other.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": _csrf(other)},
                   environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert r.status_code == 302
    r = c.post("/login", data={"name": "dispatcher", "password": PASSWORD, "csrf_token": _csrf(c)},
               environ_base=here)
    assert r.status_code == 302
    actions = [(e["action"], e["actor"], e["ip"]) for e in _entries(engine, start, "login")]
    assert actions.count(("login_failed", "viewer", "192.0.2.10")) == LOGIN_MAX_FAILURES
    assert actions.count(("login_throttled", "viewer", "192.0.2.10")) == 2
    assert ("login", "viewer", "192.0.2.99") in actions and ("login", "dispatcher", "192.0.2.10") in actions


def test_admin_sees_the_trail_and_exports_csv(app, city, engine):
    c = app.test_client()
    assert login(c, "admin").status_code == 302
    page = c.get("/admin/audit?actor=admin")
    assert page.status_code == 200 and 'id="audit-table"' in page.get_data(as_text=True)
    assert ">login<" in page.get_data(as_text=True)
    r = c.get("/api/audit?format=csv&action=login")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and all(row["action"].startswith("login") for row in rows)
    assert {"admin"} <= {row["actor"] for row in rows}
    assert c.get("/api/audit?limit=0").status_code == 400
    viewer = app.test_client()
    assert login(viewer, "viewer").status_code == 302
    assert viewer.get("/api/audit").status_code == 403
