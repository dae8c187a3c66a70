"""The embedded cluster: socket only, kept between commands, status reported."""
from __future__ import annotations

import os

from sqlalchemy import text

from mapapp.db.embedded import SERVER_MALLOC, SYSTEM_USER, cluster


def test_cluster_listens_on_a_unix_socket_only(engine, db_home):
    c = cluster(db_home)
    st = c.status()
    assert st["running"] and st["initialised"]
    assert (c.socketdir / ".s.PGSQL.5432").is_socket()
    with engine.connect() as conn:
        assert conn.execute(text("SHOW listen_addresses")).scalar() == ""
        assert conn.execute(text("SELECT inet_server_addr()")).scalar() is None


def test_server_does_not_run_as_root(engine, db_home):
    pid = int((cluster(db_home).datadir / "postmaster.pid").read_text().split()[0])
    uid = os.stat(f"/proc/{pid}").st_uid
    assert uid != 0
    if os.geteuid() == 0:
        import pwd

        assert pwd.getpwuid(uid).pw_name == SYSTEM_USER


def test_server_runs_with_the_malloc_settings(db_home):
    """The postmaster runs with SERVER_MALLOC (its backends inherit it), and status says so; a
    cluster started before that setting existed is restarted by `mapapp db stop && mapapp db start`."""
    c = cluster(db_home)
    environ = c.server_environ()
    assert environ is not None and "PATH" in environ  # read as the server sees it
    for name, value in SERVER_MALLOC.items():
        assert environ.get(name) == os.environ.get(name, value), name
    assert c.status()["server_malloc"] == {k: environ[k] for k in SERVER_MALLOC}
    assert not c.lacks_server_malloc()


def test_start_is_idempotent(db_home):
    assert cluster(db_home).start() is False  # already running: nothing to do
