"""The psycopg cursor the intake's statements use on an SQLAlchemy connection (mapapp.db.session.driver_cursor)."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text

from mapapp.db.session import driver_cursor


def test_driver_cursor_runs_in_the_connections_transaction(engine):
    with engine.connect() as conn:
        with driver_cursor(conn) as cur:
            cur.execute("CREATE TEMP TABLE t_intake (x int) ON COMMIT PRESERVE ROWS")
            cur.execute("INSERT INTO t_intake VALUES (%(x)s)", {"x": 7}, prepare=True)
        assert conn.in_transaction()
        conn.rollback()  # SQLAlchemy's rollback ends what the cursor began
        with driver_cursor(conn) as cur:
            with pytest.raises(psycopg.errors.UndefinedTable):
                cur.execute("SELECT x FROM t_intake")
        conn.rollback()
        with driver_cursor(conn) as cur:
            assert cur.execute("SELECT 7 AS x").fetchone() == {"x": 7}


def test_a_lost_connection_is_invalidated_not_rolled_back_or_pooled(engine):
    """The database restarting under a request: the psycopg error reaches the caller (the app answers
    503), closing the connection raises nothing, and the next checkout gets a working connection."""
    own = create_engine(engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    try:
        conn = own.connect()
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.rollback()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(psycopg.OperationalError):
            with driver_cursor(conn) as cur:
                cur.execute("SELECT 1")
        assert conn.invalidated
        conn.close()  # no rollback attempted on the dead connection
        with own.connect() as again:
            assert again.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        own.dispose()


def test_side_by_side_jobs_share_one_snapshot_on_an_engine_with_begin_listeners(engine):
    """The CLI's engine (and the web app's, for writes) binds the audit actor when a transaction
    begins; importing the snapshot must still be each connection's first statement."""
    from mapapp.db.session import _engine, side_by_side

    eng = _engine(engine.url.render_as_string(hide_password=False), "cli:test")
    seen = side_by_side(eng, [lambda c: c.execute(text("SELECT pg_current_snapshot()::text, "
                                                      "current_setting('mapapp.actor', true)")).one()] * 3)
    assert len({snap for snap, _ in seen}) == 1 and {actor for _, actor in seen} == {"cli:test"}
