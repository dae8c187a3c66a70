"""A lost database connection answers 503 database_unavailable, whichever way psycopg reports it;
any other database error stays a server fault; the connection a request shares between
authentication and its view goes back to the pool when the request ends."""
from __future__ import annotations

import psycopg
import pytest
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
