"""Security headers, the CSP nonce on the pages' scripts, cookie flags, proxy headers, password hashes."""
from __future__ import annotations

import re

from sqlalchemy import text

from mapapp import create_app
from mapapp.settings import Settings
from mapapp.web.security import content_security_policy
from tests.web.conftest import login


def _csp(resp) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in resp.headers["Content-Security-Policy"].split("; ")}


def test_every_answer_carries_the_security_headers(app, city):
    c = app.test_client()
    for url in ("/login", "/api/incidents", "/healthz", "/static/css/mapapp.css"):
        r = c.get(url)
        assert r.headers["X-Content-Type-Options"] == "nosniff", url
        assert r.headers["X-Frame-Options"] == "DENY", url
        assert r.headers["Referrer-Policy"] == "same-origin", url
        csp = _csp(r)
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", url
        assert csp["default-src"] == "'self'" and "unsafe-eval" not in csp["script-src"], url
        assert "unsafe-inline" not in csp["script-src"], url


def test_map_page_scripts_carry_this_requests_nonce_and_no_inline_handlers(viewer):
    r1, r2 = viewer.get("/"), viewer.get("/")
    nonce = re.search(r"'nonce-([^']+)'", _csp(r1)["script-src"]).group(1)
    assert nonce not in _csp(r2)["script-src"], "the nonce must change with every request"
    html = r1.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" in tag or 'type="application/json"' in tag:
            continue
        assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", html, re.IGNORECASE), "inline event handler"


def test_external_tile_server_is_allowed_as_images_only():
    csp = content_security_policy("n", "https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://*.tile.example.org" in csp
    assert "script-src 'self' 'nonce-n';" in csp


def test_session_cookie_is_httponly_and_lax(app, city):
    c = app.test_client()
    r = login(c, "viewer")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_and_proxy_headers_behind_tls(engine, city, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, home=tmp_path, testing=True, secure_cookies=True, proxies=1))
    c = app.test_client()
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    c.get("/login", headers=proxied)
    with c.session_transaction() as sess:
        csrf = sess["csrf"]
    r = c.post("/login", data={"name": "viewer", "password": "correct horse battery", "csrf_token": csrf},
               headers=proxied, base_url="https://localhost")
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_settings_read_tls_and_proxy_from_the_environment():
    s = Settings.from_env({"MAPAPP_SECURE_COOKIES": "1", "MAPAPP_PROXIES": "2"})
    assert s.secure_cookies and s.proxies == 2
    try:
        Settings.from_env({"MAPAPP_PROXIES": "yes"})
    except ValueError as exc:
        assert "MAPAPP_PROXIES" in str(exc)
    else:
        raise AssertionError("a wrong MAPAPP_PROXIES must be refused")


def test_passwords_are_stored_as_scrypt_hashes(db, city):
    with db.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert hashes and all(h.startswith("scrypt:") for h in hashes)


def test_security_headers_are_not_doubled(app, city):
    r = app.test_client().get("/static/css/mapapp.css")
    assert len(r.headers.getlist("Content-Security-Policy")) == 1
    assert len(r.headers.getlist("X-Content-Type-Options")) == 1  # the language hook sets it first


def test_session_signing_follows_a_new_secret_key(app, city):
    """The signing serializer is kept between requests, but not past a change of key: a cookie
    signed with the old key no longer logs anyone in."""
    c = app.test_client()
    login(c, "viewer")
    assert c.get("/api/incidents").status_code == 200
    old = app.secret_key
    try:
        app.secret_key = "another-key-" + old
        assert c.get("/api/incidents").status_code == 401
    finally:
        app.secret_key = old
    assert c.get("/api/incidents").status_code == 200
