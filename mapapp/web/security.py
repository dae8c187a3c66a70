"""Security headers, the per-request CSP nonce, cookie flags and the reverse-proxy setting.

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
    def add(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_nonce"), settings.tiles))
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
    return add


def init(app: Flask, settings: Settings) -> None:
    """Cookie flags, proxy headers, the nonce helpers for templates and the header hook."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.secure_cookies)
    if settings.proxies:
        # behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host (client IP, https)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=settings.proxies,
                                x_host=settings.proxies)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonce_scripts"] = nonce_scripts
    app.after_request(_headers(settings))
