"""A lost database connection answers 503 database_unavailable, whichever way psycopg reports it;
any other database error stays a server fault; the connection a request shares between
authentication and its view goes back to the pool when the request ends."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError


@pytest.mark.parametrize("error", [
    OperationalError("SELECT 1", {}, Exception("terminating connection due to administrator command")),
    InterfaceError("SELECT 1", {}, Exception("the connection is closed")),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),  # unwrapped, from a hook
])
def test_a_lost_connection_is_503(app, error):
    with app.test_request_context("/api/incidents", method="POST"):
        resp = app.make_response(app.handle_user_exception(error))
    assert resp.status_code == 503 and resp.json["error"] == "database_unavailable"
    assert "Traceback" not in resp.get_data(as_text=True) and resp.headers["Retry-After"] == "5"


def test_other_database_errors_are_not_disguised_as_503(app):
    error = IntegrityError("INSERT", {}, Exception("duplicate key"))
    with app.test_request_context("/api/incidents", method="POST"), pytest.raises(IntegrityError):
        app.handle_user_exception(error)


def test_the_request_connection_goes_back_to_the_pool(app, city, viewer):
    pool = app.extensions["mapapp"]["engine"].pool
    token = {"Authorization": f"Bearer {city['token']}"}
    for _ in range(5):
        assert viewer.get("/tiles/incidents/14/9327/4743.pbf").status_code == 200
        assert viewer.get("/tiles/incidents/99/0/0.pbf").status_code == 400  # an error path too
        r = app.test_client().post("/api/incidents", json={"category": "nope", "lon": 24.947, "lat": 60.165},
                                   headers=token)
        assert r.status_code == 400
    assert pool.checkedout() == 0


def test_a_tile_reads_in_autocommit_and_the_pool_gets_a_transactional_connection_back(app, city, viewer,
                                                                                     monkeypatch):
    """Tiles skip BEGIN/ROLLBACK (reads_one_statement_at_a_time); a write that later checks out the
    same connection must still get one transaction, not autocommit."""
    from mapapp.incidents import queries as q

    seen = []
    real = q.versioned_tile
    monkeypatch.setattr(q, "versioned_tile", lambda conn, *a: (seen.append(conn.connection.driver_connection.autocommit),
                                                                real(conn, *a))[1])
    token = {"Authorization": f"Bearer {city['token']}"}
    for client, headers in ((viewer, {}), (app.test_client(), token)):  # session cookie and API token
        assert client.get("/tiles/incidents/14/9327/4743.pbf", headers=headers).status_code == 200
    assert seen == [True, True]
    engine = app.extensions["mapapp"]["engine"]
    held = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        assert held and not any(c.connection.driver_connection.autocommit for c in held)
    finally:
        for c in held:
            c.close()


@pytest.mark.parametrize("by", ["token", "session"])
def test_pooled_connections_whose_server_process_died_are_replaced(app, city, engine, viewer, by):
    """A request whose authentication finds its pooled connection dead (checked out without the
    pre-ping, mapapp.web.auth._first_read) reads again on a fresh one; other checkouts' pre-ping
    (mapapp.db.session._ping) finds it: the request gets a fresh connection instead of an error."""
    app_engine = app.extensions["mapapp"]["engine"]
    token = {"Authorization": f"Bearer {city['token']}"} if by == "token" else {}
    client = app.test_client() if by == "token" else viewer
    assert client.get("/tiles/incidents/14/9327/4743.pbf", headers=token).status_code == 200
    held = [app_engine.connect() for _ in range(3)]
    pids = {c.connection.driver_connection.info.backend_pid for c in held}
    for c in held:
        c.close()
    with engine.connect() as owner:
        killed = owner.execute(text("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE pid = ANY(:p)"), {"p": list(pids)}).scalar_one()
    assert killed == 3
    for _ in range(6):
        assert client.get("/tiles/incidents/14/9327/4743.pbf", headers=token).status_code == 200
        assert client.get("/api/incidents?limit=1", headers=token).status_code == 200
    with app_engine.connect() as c:
        assert c.connection.driver_connection.info.backend_pid not in pids


def test_an_outage_is_logged_in_one_line_then_at_most_once_every_ten_seconds(app, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("mapapp.web.setup.time.monotonic", lambda: clock[0])
    error = OperationalError("SELECT 1", {}, Exception(
        "connection failed: connection to server on socket \"/x/.s.PGSQL.5432\" failed\n"
        "\tIs the server running locally and accepting connections on that socket?"))
    caplog.set_level("WARNING", logger=app.logger.name)

    def answer():
        with app.test_request_context("/api/incidents", method="POST"):
            assert app.make_response(app.handle_user_exception(error)).status_code == 503

    for _ in range(50):
        answer()
    clock[0] += 10.5
    answer()
    lines = [r.getMessage() for r in caplog.records if r.name == app.logger.name]
    assert lines == ['database unavailable: connection failed: connection to server on socket "/x/.s.PGSQL.5432" failed',
                     'database unavailable: connection failed: connection to server on socket "/x/.s.PGSQL.5432" failed'
                     " (49 more answered 503 since the last line)"]


def test_authentication_checks_out_without_the_pre_ping(app, city, viewer, monkeypatch):
    from mapapp.db import session as db_session

    pings = []
    real = db_session._ping
    engine = app.extensions["mapapp"]["engine"]
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: (pings.append(db_session._UNPINGED.get()), real(c))[1])
    token = {"Authorization": f"Bearer {city['token']}"}
    assert app.test_client().get("/tiles/incidents/14/9327/4743.pbf", headers=token).status_code == 200
    assert viewer.get("/api/incidents?limit=1").status_code == 200  # authentication, then the view's own checkout
    assert pings == [True, True, False]
