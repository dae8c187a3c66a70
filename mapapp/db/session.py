"""The engine for the configured database (DATABASE_URL or the embedded cluster) and the PostGIS check."""
from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from typing import TypeVar

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from mapapp.settings import Settings

MIN_POSTGIS = (3, 1)
T = TypeVar("T")


class DatabaseError(RuntimeError):
    """The database is missing, unreachable or lacks what mapapp needs; the message says what."""


def database_url(settings: Settings, owner: bool = False) -> str:
    """DATABASE_URL when set, otherwise the embedded cluster (started on demand), where the app
    logs in as its own role and, with owner=True (migrations), as the tables' owner."""
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    from mapapp.db.embedded import cluster

    c = cluster(settings.home)
    c.start()
    return c.url() if owner else c.app_url()


# Plan every statement for its actual values. psycopg prepares a statement after its fifth run,
# and PostgreSQL may then keep a generic plan that ignores the values (time range, bounding box,
# tile envelope): on 1M incidents a list of the last 7 days went from 17-25 ms to 400-860 ms and
# z15 tiles of the last 30 days from 20-55 ms to 100-540 ms. Parsing is still saved.
CONNECT_ARGS = {"options": "-c plan_cache_mode=force_custom_plan"}


_UNPINGED = contextvars.ContextVar("mapapp_unpinged", default=False)


def _ping(dbapi_connection: psycopg.Connection) -> bool:
    """The pool's pre-ping: one empty query straight through libpq. SQLAlchemy's own sends the same
    empty query through a cursor and switches autocommit on and off around it (so that it does not
    open a transaction), Python work on every checkout of every request. A dead connection raises,
    as SQLAlchemy expects, and is replaced (tests/web/test_database_errors.py). Skipped inside
    unpinged()."""
    if _UNPINGED.get():
        return True
    result = dbapi_connection.pgconn.exec_(b"")
    if result.status != psycopg.pq.ExecStatus.EMPTY_QUERY:
        raise psycopg.OperationalError(f"pre-ping failed: {dbapi_connection.pgconn.error_message.decode(errors='replace')}")
    return True


@contextmanager
def unpinged() -> Iterator[None]:
    """Check connections out without the pre-ping, for a caller whose first statement is a read it
    runs once more on a fresh connection when the pooled one turns out dead (invalidated):
    the ping's round trip saved on every web request (mapapp.web.auth)."""
    token = _UNPINGED.set(True)
    try:
        yield
    finally:
        _UNPINGED.reset(token)


@lru_cache(maxsize=8)
def _engine(url: str, actor: str | None) -> Engine:
    engine = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, future=True,
                           connect_args=CONNECT_ARGS)
    engine.dialect.do_ping = _ping
    if actor:
        from mapapp.audit.queries import bind

        event.listen(engine, "begin", lambda conn: bind(conn.connection.dbapi_connection, actor, None))
    return engine


def get_engine(settings: Settings, actor: str | None = None, owner: bool = False) -> Engine:
    """The pooled engine of the app's database role (the owner's with owner=True). With `actor`,
    every transaction names it to the audit triggers (the CLI: `cli:<os user>`); the web app
    names each request's user itself."""
    return _engine(database_url(settings, owner), actor)


@contextmanager
def driver_cursor(conn: Connection, binary: bool = False, row_factory=dict_row) -> Iterator[psycopg.Cursor]:
    """A psycopg cursor (rows as dicts unless `row_factory` says otherwise) on the connection's own
    DBAPI connection, inside its transaction (begun here when none is and the connection is not in
    autocommit). For the statements every
    intake runs, SQLAlchemy's execution path (compiled-statement lookup, result metadata from the
    cursor description on every call) cost about as much Python time as psycopg's own; with
    `binary`, large results (a million packed points, a travel matrix) arrive in PostgreSQL's
    binary format instead of as text to decode. The SQL uses psycopg's placeholders. A lost connection is
    invalidated as SQLAlchemy would (it is not rolled back or pooled again); the psycopg error
    goes on to the caller (the web app answers 503)."""
    dbapi_connection = conn.connection.driver_connection
    if not conn.in_transaction() and not dbapi_connection.autocommit:
        conn.begin()  # SQLAlchemy's commit and rollback then end what the cursor starts
    try:
        with dbapi_connection.cursor(binary=binary, row_factory=row_factory) as cur:
            yield cur
    except psycopg.Error:
        if dbapi_connection.broken:
            conn.invalidate()
        raise


def can_run_side_by_side(conn: Connection) -> bool:
    """Whether reads may be spread over other connections (side_by_side): there is more than one
    core, and conn's transaction has written nothing that they would not see."""
    if (os.cpu_count() or 1) < 2:
        return False
    return not conn.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar()


def side_by_side(engine: Engine, jobs: list[Callable[[Connection], T]]) -> list[T]:
    """Each job's result, the jobs run at the same time, each on its own connection of the engine,
    all in one snapshot (the first exports it, REPEATABLE READ, the others import it before they
    read): PostgreSQL runs a query on one core, so two halves of a big read take about half the
    time, and the halves still add up exactly. Check can_run_side_by_side first."""
    with ExitStack() as stack:
        conns = [stack.enter_context(engine.connect().execution_options(isolation_level="REPEATABLE READ"))
                 for _ in jobs]
        snapshot = conns[0].execute(text("SELECT pg_export_snapshot()")).scalar_one()
        if not re.fullmatch(r"[0-9A-F-]+", snapshot):  # SET TRANSACTION SNAPSHOT takes no parameter
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        for conn in conns[1:]:  # the transaction's first statement: through the driver, since
            # SQLAlchemy's begin would first run the engine's begin listeners (the audit binding)
            conn.connection.driver_connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        # entered last, left first: every job has ended before any connection is closed
        pool = stack.enter_context(ThreadPoolExecutor(len(jobs) - 1))
        later = [pool.submit(job, conn) for job, conn in zip(jobs[1:], conns[1:])]
        first = jobs[0](conns[0])
        return [first] + [f.result() for f in later]


def check_postgis(engine: Engine) -> dict:
    """Return server versions; raise DatabaseError naming what is missing."""
    try:
        with engine.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar_one()
            exts = dict(conn.execute(text("SELECT name, installed_version FROM pg_available_extensions "
                                          "WHERE name IN ('postgis', 'pgrouting')")).all())
    except Exception as exc:  # noqa: BLE001 - reported to a person
        raise DatabaseError(f"cannot connect to the database: {exc}") from exc
    if "postgis" not in exts:
        raise DatabaseError("PostGIS is not available on this server: install PostGIS >= 3.1 "
                            "(Debian: apt-get install postgresql-15-postgis-3)")
    version = exts["postgis"]
    if version:
        major_minor = tuple(int(p) for p in version.split(".")[:2])
        if major_minor < MIN_POSTGIS:
            raise DatabaseError(f"PostGIS {version} is too old: mapapp needs PostGIS >= 3.1")
    return {"postgresql": pg, "postgis": version, "pgrouting": exts.get("pgrouting")}

