"""Security headers, the per-request CSP nonce, session cookies and their flags, the reverse-proxy setting.

The Content-Security-Policy allows scripts only from the app's own origin plus inline scripts that
carry this request's nonce (the templates' and folium's own; folium writes its map as an inline
script). Inline event handlers and injected <script> tags carry no nonce, so the browser refuses
them even if escaping ever failed.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlparse

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from mapapp.settings import Settings

_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)


def csp_nonce() -> str:
    """This request's nonce, made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def nonce_scripts(html: str) -> Markup:
    """Give every <script> tag of trusted generated HTML (folium's header) this request's nonce."""
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html)))


def _tile_origin(tiles: str | None) -> str:
    """The origin of an external tile server, e.g. https://*.tile.example.org for {s} subdomains."""
    if not tiles or "://" not in tiles:
        return ""
    parsed = urlparse(tiles.replace("{s}", "subdomain"))
    host = parsed.netloc.replace("subdomain", "*")
    return f" {parsed.scheme}://{host}" if parsed.scheme in ("http", "https") else ""


def content_security_policy(nonce: str | None, tiles: str | None) -> str:
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        # folium and Leaflet set style attributes; styles cannot run code
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{_tile_origin(tiles)}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _headers(settings: Settings):
    fixed = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
             ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"))
    without_nonce = content_security_policy(None, settings.tiles)  # the same for every API answer

    def add(response: Response) -> Response:
        # one pass over the answer's few headers instead of a setdefault (a scan) per header: this
        # runs on every request, tiles included (~20 us a request, timed without the database)
        h = response.headers
        present = {k.lower() for k in h.keys()}
        nonce = g.get("csp_nonce")
        if "content-security-policy" not in present:
            h.add("Content-Security-Policy", content_security_policy(nonce, settings.tiles) if nonce else without_nonce)
        for name, value in fixed:
            if name.lower() not in present:
                h.add(name, value)
        if request.is_secure and "strict-transport-security" not in present:
            h.add("Strict-Transport-Security", "max-age=31536000")
        return response
    return add


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per key instead of
    on every request (Flask builds it anew in open_session: ~30 us a request, tiles included)."""

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]


def init(app: Flask, settings: Settings) -> None:
    """Cookie flags, proxy headers, the nonce helpers for templates and the header hook."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.secure_cookies)
    if settings.proxies:
        # behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host (client IP, https)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=settings.proxies,
                                x_host=settings.proxies)
    app.session_interface = SessionCookies()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonce_scripts"] = nonce_scripts
    app.after_request(_headers(settings))
