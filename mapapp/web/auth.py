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

import psycopg
from flask import (Blueprint, Flask, abort, current_app, g, has_request_context, jsonify, redirect,
                   render_template, request, session, url_for)
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from mapapp.accounts import queries as accounts
from mapapp.audit import queries as audit
from mapapp.web import policy, security
from mapapp.web.setup import drop_request_connection, ext, request_connection

bp = Blueprint("auth", __name__)
LOGIN_MAX_FAILURES = 5  # per account and address ...
LOGIN_WINDOW_MINUTES = 15  # ... within this window, counted from the audit trail (all workers)


def current_user() -> dict | None:
    return g.get("user")


def _load_user() -> None:
    g.user = None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else None
    if token is None and request.path.startswith("/open311/"):
        token = request.values.get("api_key")  # GeoReport v2 clients send the key as a parameter
    if token:
        view = current_app.view_functions.get(request.endpoint)
        continues = getattr(view, "continues_auth_transaction", False)
        ip = (request.remote_addr or "") if continues else None
        conn, g.user = _first_read(lambda c: accounts.user_for_token(c, token, audit_ip=ip))
        if g.user is None or not continues:
            conn.rollback()
        g.via_token = True
        if g.user is None:
            abort(401, description="the API token is unknown or revoked")
        return
    g.via_token = False
    if "user_id" in session:
        conn, g.user = _first_read(lambda c: accounts.user_by_id(c, session["user_id"]))
        conn.rollback()
        if g.user is None:
            session.clear()


def _first_read(read):
    """(connection, read(connection)) for the request's first statement, on its connection checked
    out without the pool's pre-ping (a round trip less on every request). A pooled connection
    that turns out dead is given back (invalidated, as after a failed ping) and the read runs
    once more on a fresh, pinged one; a database that is down still answers 503."""
    conn = request_connection(ping=False)
    try:
        return conn, read(conn)
    except (DBAPIError, psycopg.Error):
        if not conn.invalidated:  # not a lost connection
            raise
    drop_request_connection()
    conn = request_connection()
    return conn, read(conn)


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


def continues_auth_transaction(view):
    """Mark a writing view that reuses request_connection() and continues the transaction its token
    authentication began: the token read also binds the audit actor and address (one statement)
    and is not rolled back, which spares the busiest write (intake) two round trips. A revoked
    token is still refused: the token is read in the same transaction, on every request."""
    view.continues_auth_transaction = True
    return view


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


def _throttled(name: str):
    """429 with Retry-After: too many failed logins of this account from this address."""
    minutes = LOGIN_WINDOW_MINUTES
    message = f"too many failed logins for {name!r} from this address; try again in {minutes} minutes"
    if request.accept_mimetypes.best == "application/json":
        resp = jsonify({"error": "too_many_attempts", "message": message, "field": "name"})
    else:
        resp = render_template("login.html", error="login_throttled")
    return resp, 429, {"Retry-After": str(minutes * 60)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name, ip = request.form.get("name", "")[:100], request.remote_addr
        with ext()["engine"].begin() as conn:
            if audit.failed_logins(conn, name, ip, LOGIN_WINDOW_MINUTES) >= LOGIN_MAX_FAILURES:
                audit.record(conn, name, "login_throttled", "user", name, ip)
                return _throttled(name)
            user = accounts.authenticate(conn, name, request.form.get("password", ""))
            audit.record(conn, name, "login" if user else "login_failed", "user", name, ip)
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
    denied = policy.enforce(current_user(), ext()["settings"].public_read)
    rule = policy.for_endpoint(request.endpoint)
    if denied is None and rule is not None and rule.write and current_user() is not None:
        g.audit_actor = current_user()["name"]  # the audit triggers name who changed what
    return denied


def _bind_audit_actor(conn) -> None:
    """On each transaction of a writing request: tell the audit triggers who acts, from where."""
    if has_request_context() and g.get("audit_actor"):
        audit.bind(conn.connection.dbapi_connection, g.audit_actor, request.remote_addr)


def init(app: Flask) -> None:
    security.init(app, ext(app)["settings"])
    engine = ext(app)["engine"]
    if not event.contains(engine, "begin", _bind_audit_actor):
        event.listen(engine, "begin", _bind_audit_actor)
    app.before_request(_load_user)
    app.before_request(_enforce_policy)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user
