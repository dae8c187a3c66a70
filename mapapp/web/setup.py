"""App wiring: settings, engine, secret key, language, error handlers, blueprints."""
from __future__ import annotations

import os
import secrets
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import psycopg
from flask import Flask, current_app, g, jsonify, request, send_from_directory
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from mapapp.db.session import check_postgis, get_engine, unpinged
from mapapp.errors import UserError
from mapapp.incidents import taxonomy
from mapapp.settings import Settings
from mapapp.web import i18n

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
LANG_COOKIE = "mapapp_lang"


def _secret_key(settings: Settings) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in MAPAPP_HOME."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


class OutageLog:
    """Logs a database outage in one line, then at most one line every `every` seconds while it
    lasts, saying how many more requests were answered 503 meanwhile. A multi-line warning for
    each of them filled ~480 KB of log in a 2 s restart under load (bench_load --fault). Written
    here: the standard logging module has no rate limit, and it is a few lines."""

    def __init__(self, every: float = 10.0):
        self.every = every
        self.last = float("-inf")
        self.held = 0
        self.lock = threading.Lock()

    def __call__(self, logger, exc: BaseException) -> None:
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.every:
                self.held += 1
                return
            held, self.held, self.last = self.held, 0, now
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        more = f" ({held} more answered 503 since the last line)" if held else ""
        logger.warning("database unavailable: %s%s", lines[0] if lines else type(exc).__name__, more)


def configure(app: Flask, settings: Settings) -> None:
    engine = get_engine(settings)
    versions = check_postgis(engine)
    app.config.update(SECRET_KEY=_secret_key(settings), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", JSON_AS_ASCII=False,
                      TESTING=settings.testing)
    app.json.ensure_ascii = False
    app.extensions["mapapp"] = {"settings": settings, "engine": engine, "versions": versions,
                                "taxonomy": taxonomy.load(settings.taxonomy_path)}

    @app.before_request
    def _language() -> None:
        asked = request.args.get("lang")
        g.lang = i18n.normalise(asked or request.cookies.get(LANG_COOKIE), settings.locale)
        g.lang_asked = asked is not None

    @app.after_request
    def _remember_language(response):
        if getattr(g, "lang_asked", False):
            response.set_cookie(LANG_COOKIE, g.lang, max_age=365 * 86400, samesite="Lax")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.teardown_request(_return_connection)

    @app.errorhandler(UserError)
    def _user_error(exc: UserError):
        return jsonify(exc.as_json()), exc.status

    outage_log = OutageLog()

    @app.errorhandler(DBAPIError)
    @app.errorhandler(psycopg.Error)  # raised unwrapped from hooks on the raw connection (audit binding)
    def _database_down(exc: DBAPIError | psycopg.Error):
        lost = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
        if not (isinstance(exc, lost) or getattr(exc, "connection_invalidated", False)):
            raise exc  # a real fault: a 500, logged
        # a lost connection shows as OperationalError, or InterfaceError when psycopg finds it closed
        # the database is unreachable or restarting: nothing was written (each write is one
        # transaction), the client may retry; the pool's pre-ping reconnects when it is back
        outage_log(app.logger, exc)
        resp = jsonify({"error": "database_unavailable",
                        "message": "the database is not reachable right now; nothing was written, try again"})
        resp.headers["Retry-After"] = "5"
        return resp, 503

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/tiles/", "/open311/")) or request.accept_mimetypes.best == "application/json":
            return jsonify({"error": exc.name.lower().replace(" ", "_"),
                            "message": exc.description}), exc.code
        return exc

    @app.route("/static/<path:filename>")
    def static(filename: str):
        return send_from_directory(STATIC_DIR, filename, max_age=3600)

    @app.context_processor
    def _template_helpers() -> dict:
        return {"t": lambda key, **kw: i18n.translate(key, g.lang, **kw), "lang": g.lang}

    from mapapp.web import auth, openapi, pages, tiles
    from mapapp.web.api import audit, grids, hotspots, incidents, kpi, meta, open311, patrols, plans

    auth.init(app)
    for bp in (auth.bp, pages.bp, grids.bp, incidents.bp, kpi.bp, meta.bp, open311.bp, tiles.bp,
               plans.bp, hotspots.bp, patrols.bp, audit.bp, openapi.bp):
        app.register_blueprint(bp)


def request_connection(ping: bool = True):
    """This request's own database connection, checked out on first use and returned when the
    request ends: authentication and the busiest views (tiles, intake) share one pool checkout
    instead of taking two. It is left outside any transaction for the next user. For a view
    marked with reads_one_statement_at_a_time it runs in autocommit. ping=False: checked out
    without the pool's pre-ping, for authentication, which reads first and, when the connection
    turns out dead, reads again on a fresh one (mapapp.web.auth._first_read)."""
    conn = g.get("_db")
    if conn is None:
        with nullcontext() if ping else unpinged():
            conn = g._db = ext()["engine"].connect()
        view = current_app.view_functions.get(request.endpoint)
        if getattr(view, "autocommit_reads", False):
            conn = g._db = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def reads_one_statement_at_a_time(view):
    """Mark a reading view whose every statement stands alone (one statement, one snapshot): its
    request connection, and so also its token read, runs in autocommit. That spares the BEGIN and
    ROLLBACK around the authentication and around the view's own read: four round trips on the
    busiest read, a vector tile (bench_incidents), whose endpoint/bare-query ratio is a goal."""
    view.autocommit_reads = True
    return view


def drop_request_connection() -> None:
    """Give back this request's connection (after it was lost); the next request_connection() takes another."""
    _return_connection(None)


def _return_connection(_exc) -> None:
    conn = g.pop("_db", None)
    if conn is not None:
        conn.close()


def ext(app: Flask | None = None) -> dict:
    from flask import current_app

    return (app or current_app).extensions["mapapp"]
