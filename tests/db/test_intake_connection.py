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
