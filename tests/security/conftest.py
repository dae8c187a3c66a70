"""Clients logged in with each role (session cookie plus its CSRF token) over the small test city."""
from __future__ import annotations

import pytest

from mapapp.accounts.queries import add_user
from mapapp.web.policy import ROLE_ORDER
from tests.web.conftest import PASSWORD, app, city, dispatcher, login, public_app, viewer  # noqa: F401 - fixtures reused

__all__ = ["app", "city", "dispatcher", "public_app", "viewer"]


class RoleClient:
    """A test client logged in as one role that sends its CSRF token on every request."""

    def __init__(self, client, role: str | None):
        self.client, self.role = client, role
        client.get("/login")  # logging in clears the session; a rendered form holds a fresh token
        with client.session_transaction() as sess:
            self.csrf = sess.get("csrf", "")

    def open(self, method: str, url: str, **kw):
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kw)


@pytest.fixture
def role_clients(app, city, db) -> dict[str | None, RoleClient]:
    """One client per role, and None for anonymous."""
    with db.begin() as conn:
        for role in ROLE_ORDER:
            if role not in ("viewer", "dispatcher", "admin"):
                add_user(conn, role, role, PASSWORD)
    clients: dict[str | None, RoleClient] = {None: RoleClient(app.test_client(), None)}
    for role in ROLE_ORDER:
        c = app.test_client()
        assert login(c, role).status_code == 302, role
        clients[role] = RoleClient(c, role)
    return clients
