"""API tokens: listed without their secret, revoked with `mapapp token revoke`, refused at once."""
from __future__ import annotations

from click.testing import CliRunner

from mapapp.cli import main


def test_revoked_token_is_refused_at_once(app, city, db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    c = app.test_client()
    auth = {"Authorization": f"Bearer {city['token']}"}
    assert c.get("/api/incidents", headers=auth).status_code == 200

    runner = CliRunner()
    listed = runner.invoke(main, ["token", "list", "--user", "dispatcher"], catch_exceptions=False)
    assert listed.exit_code == 0 and city["token"] not in listed.output
    token_id, user, label = listed.output.split("\t")[:3]
    assert (user, label) == ("dispatcher", "test") and "live" in listed.output

    r = runner.invoke(main, ["token", "revoke", token_id], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    resp = c.get("/api/incidents", headers=auth)
    assert resp.status_code == 401 and "revoked" in resp.json["message"]
    assert c.post("/api/incidents", headers=auth, json={}).status_code == 401
    assert "revoked" in runner.invoke(main, ["token", "list"], catch_exceptions=False).output

    missing = runner.invoke(main, ["token", "revoke", "999999"])
    assert missing.exit_code != 0 and "no API token 999999" in missing.output
