"""Login, roles, API tokens and CSRF.

Roles: viewer < dispatcher, planner, patrol_lead < admin. Every write needs a role; reading
needs a login unless MAPAPP_PUBLIC_READ is on. Browsers log in with a password (signed session
cookie, CSRF token on every form and on JSON writes); programs send `Authorization: Bearer`.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from urllib.parse import urlparse

from flask import (Blueprint, Flask, abort, g, jsonify, redirect, render_template, request,
                   session, url_for)

from mapapp.accounts import queries as accounts
from mapapp.web import policy, security
from mapapp.web.setup import ext

bp = Blueprint("auth", __name__)


def current_user() -> dict | None:
    return g.get("user")


def _load_user() -> None:
    g.user = None
    engine = ext()["engine"]
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else None
    if token is None and request.path.startswith("/open311/"):
        token = request.values.get("api_key")  # GeoReport v2 clients send the key as a parameter
    if token:
        with engine.connect() as conn:
            g.user = accounts.user_for_token(conn, token)
        g.via_token = True
        if g.user is None:
            abort(401, description="the API token is unknown or revoked")
        return
    g.via_token = False
    if "user_id" in session:
        with engine.connect() as conn:
            g.user = accounts.user_by_id(conn, session["user_id"])
        if g.user is None:
            session.clear()


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or g.get("via_token"):
        return
    if g.get("user") is None and request.endpoint != "auth.login":
        return  # nobody logged in: the view's role check answers 401
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, description="missing or wrong CSRF token; reload the page and try again")


def login_required(view):
    """Reading: any logged-in role, or anyone when the deployment runs in public read mode."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None and not ext()["settings"].public_read:
            if request.path.startswith(("/api/", "/tiles/", "/open311/")):
                return jsonify({"error": "unauthorized", "message": "log in or send an API token"}), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def role_required(*roles: str):
    """Writing: one of the given roles (admin may do everything)."""
    allowed = set(roles) | {"admin"}

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return jsonify({"error": "unauthorized", "message": "log in or send an API token"}), 401
            if user["role"] not in allowed:
                return jsonify({"error": "forbidden",
                                "message": f"role {user['role']} may not do this; needs one of "
                                           f"{', '.join(sorted(allowed))}"}), 403
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("pages.command_center")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/"):
        return url_for("pages.command_center")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        with ext()["engine"].connect() as conn:
            user = accounts.authenticate(conn, request.form.get("name", ""),
                                         request.form.get("password", ""))
        if user:
            session.clear()
            session["user_id"] = user["id"]
            return redirect(_safe_next(request.args.get("next")))
        error = "login_failed"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


def _enforce_policy():
    return policy.enforce(current_user(), ext()["settings"].public_read)


def init(app: Flask) -> None:
    security.init(app, ext(app)["settings"])
    app.before_request(_load_user)
    app.before_request(_enforce_policy)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user
