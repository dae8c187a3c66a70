"""The app's database role owns nothing and has only row rights (never UPDATE/DELETE/TRUNCATE on
audit_log); every change names its author in the audit trail, also when made by the mapapp command
(`cli:<os user>`) or straight in psql (`db:<role>`); an older cluster gets the role when it starts."""
from __future__ import annotations

import getpass
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from mapapp.cli import main
from mapapp.db import embedded
from mapapp.db.migrate import upgrade
from mapapp.db.roles import APP_ROLE
from tests.security.conftest import city  # noqa: F401 - fixture reused

CLI_ACTOR = f"cli:{getpass.getuser()}"


def _last_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def _trail(engine, since: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT actor, action FROM audit_log WHERE id > :i ORDER BY id"), {"i": since})]


def test_the_app_role_owns_nothing_and_may_only_append_to_the_audit_log(app_url, engine):
    app_engine = create_engine(app_url)
    with app_engine.connect() as conn:
        me = conn.execute(text("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                               "WHERE rolname = current_user")).one()
        assert tuple(me) == (False, False, False, False)
        owned = conn.execute(text("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                                  "WHERE r.rolname = current_user")).scalar_one()
        assert owned == 0
        rights = dict(conn.execute(text(
            "SELECT p, has_table_privilege('audit_log', p) FROM unnest(ARRAY['SELECT', 'INSERT', "
            "'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES']) p")).all())
        assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False,
                          "TRUNCATE": False, "TRIGGER": False, "REFERENCES": False}
        # every other table of the app: rows only, never TRUNCATE
        tables = conn.execute(text(
            "SELECT tablename, has_table_privilege(format('%I', tablename), 'SELECT,INSERT,UPDATE,DELETE'),"
            " has_table_privilege(format('%I', tablename), 'TRUNCATE') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename NOT IN ('audit_log', 'alembic_version', 'spatial_ref_sys')"
        )).all()
    app_engine.dispose()
    assert len(tables) >= 15
    assert [t for t, rows, _ in tables if not rows] == []
    assert [t for t, _, truncate in tables if truncate] == []


def test_cli_changes_are_audited_as_the_os_user(city, app_url, engine, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", app_url)
    start = _last_id(engine)
    run = CliRunner().invoke
    assert run(main, ["user", "add", "zhou", "--role", "planner"]).exit_code == 0
    cases = tmp_path / "cases.csv"
    cases.write_text("lon,lat,category\n24.942,60.163,public_order.noise\n24.946,60.167,safety.gas\n")
    r = run(main, ["import", "incidents", str(cases)])
    assert r.exit_code == 0, r.output
    r = run(main, ["plan", "publish", "2", "--note", "from the command line"])
    assert r.exit_code == 0, r.output
    trail = _trail(engine, start)
    # the import's entry, then each case's first history step (as intake through the API writes)
    assert [a for _, a in trail] == ["user.create", "import", "incident.report", "incident.report",
                                     "plan.change", "plan.publish"]
    assert {actor for actor, _ in trail} == {CLI_ACTOR}, trail
    with engine.connect() as conn:
        assert conn.execute(text("SELECT object_type, object_id, after FROM audit_log "
                                 "WHERE id > :i AND action = 'import'"), {"i": start}).one() == (
            "incidents", "cases.csv", {"loaded": 2, "rejected": 0, "read": 2})


@pytest.mark.parametrize("role", [APP_ROLE, embedded.DB_USER])
def test_changes_made_in_psql_name_the_database_role(db, db_home, role):
    start = _last_id(db)
    embedded.cluster(db_home).psql(
        "INSERT INTO users (name, role, password_hash) VALUES ('psql_user', 'viewer', 'x');"
        "UPDATE users SET role = 'admin' WHERE name = 'psql_user'", db.url.database, role=role)
    assert _trail(db, start) == [(f"db:{role}", "user.create"), (f"db:{role}", "user.role")]


def _drop_app_role(c: embedded.Cluster) -> None:
    for dbname in ("postgres", embedded.DB_NAME):
        c.psql(f"DROP OWNED BY {APP_ROLE}", dbname)
    c.psql(f"DROP ROLE {APP_ROLE}")


def test_a_cluster_made_before_the_app_role_gets_it_on_start():
    # not under pytest's tmp_path: another pytest run resets its base to 0700 at any time, and the
    # server's system user must keep reaching the socket
    c = embedded.cluster(Path(tempfile.mkdtemp(prefix="mapapp-roles-")) / "home")
    c.start()
    owner = create_engine(c.url(), future=True)
    upgrade(owner)
    owner.dispose()
    try:
        for restart in (False, True):  # the cluster kept running, and stopped then started again
            _drop_app_role(c)
            if restart:
                c.stop()
            c.start()
            app_engine = create_engine(c.app_url(), future=True)
            with app_engine.begin() as conn:
                conn.execute(text("INSERT INTO users (name, role, password_hash) "
                                  f"VALUES ('u{int(restart)}', 'viewer', 'x')"))
                assert conn.execute(text("SELECT has_table_privilege('audit_log', 'DELETE')")).scalar() is False
            app_engine.dispose()
    finally:
        c.stop()
        shutil.rmtree(c.home.parent)
