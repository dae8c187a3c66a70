"""The mapapp command against the test database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from mapapp.cli import main


@pytest.fixture
def run(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    return invoke


def test_user_add_and_token(run, db):
    r = run("user", "add", "wang", "--role", "dispatcher", env={"MAPAPP_NEW_PASSWORD": "long enough pw"})
    assert r.exit_code == 0, r.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT role FROM users WHERE name = 'wang'")).scalar() == "dispatcher"
    r = run("token", "create", "wang")
    assert r.exit_code == 0 and r.output.strip().startswith("mapapp_")


def test_user_add_refuses_bad_role_short_password_and_duplicates(run):
    assert run("user", "add", "li", "--role", "boss").exit_code == 2
    r = run("user", "add", "li", "--role", "viewer", env={"MAPAPP_NEW_PASSWORD": "short"})
    assert r.exit_code == 1 and "at least 8" in r.output
    run("user", "add", "li", "--role", "viewer", env={"MAPAPP_NEW_PASSWORD": "long enough pw"})
    r = run("user", "add", "li", "--role", "viewer", env={"MAPAPP_NEW_PASSWORD": "long enough pw"})
    assert r.exit_code == 1 and "already exists" in r.output


def test_random_password_is_printed_once(run):
    r = run("user", "add", "zhao", "--role", "planner")
    assert r.exit_code == 0 and "password (shown once):" in r.output


def test_token_for_unknown_user(run):
    r = run("token", "create", "nobody")
    assert r.exit_code == 1 and "nobody" in r.output


def test_db_commands_refuse_when_database_url_is_set(run):
    r = run("db", "status")
    assert r.exit_code == 1 and "DATABASE_URL" in r.output


def test_bad_database_url_is_explained(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@/nowhere?host=/nonexistent")
    r = CliRunner().invoke(main, ["db", "migrate"])
    assert r.exit_code == 1 and "cannot connect" in r.output


def test_import_reports_rows_and_refuses_bad_files(run, db, tmp_path):
    areas = tmp_path / "d.geojson"
    areas.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                     '{"code": "D1", "name": "d", "level": "district"}, "geometry": {"type": "Polygon", '
                     '"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}')
    r = run("import", "admin_areas", str(areas))
    assert r.exit_code == 0 and "1 admin_areas imported" in r.output
    cases = tmp_path / "c.csv"
    cases.write_text("x,y,kind\n0.5,0.5,public_order\n0.6,0.6,nope\n")
    r = run("import", "incidents", str(cases), "--map", "category=kind")
    assert r.exit_code == 1 and "nothing was imported" in r.output and "row 3, category" in r.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == 0
    rejects = tmp_path / "rejects.csv"
    r = run("import", "incidents", str(cases), "--map", "category=kind", "--skip-bad", "--rejects", str(rejects))
    assert r.exit_code == 0 and "1 incidents imported" in r.output and rejects.exists()
    assert run("import", "incidents", str(cases), "--map", "category").exit_code == 2
    out = tmp_path / "out.gpkg"
    r = run("export", "incidents", str(out))
    assert r.exit_code == 0 and out.exists()


def test_serve_runs_gunicorn_workers_that_answer(db, tmp_path):
    """`mapapp serve` (what ./scripts/demo ends in) starts worker processes that reach the database."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).with_name("mapapp")
    env = {**os.environ, "DATABASE_URL": db.url.render_as_string(hide_password=False), "MAPAPP_HOME": str(tmp_path)}
    server = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        answers = []
        for _ in range(150):
            try:
                for _ in range(4):  # several requests, so more than one worker is likely to answer
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                        answers.append(r.status)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.2)
        assert answers == [200] * 4
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "2 workers x 2 threads" in out
    assert err.count("Booting worker") == 2


def test_db_start_says_when_the_running_server_lacks_its_memory_settings(db_home, monkeypatch):
    from mapapp.db import embedded

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MAPAPP_HOME", str(db_home))
    r = CliRunner().invoke(main, ["db", "start"], catch_exceptions=False)
    assert r.exit_code == 0 and "already running" in r.output and "memory settings" not in r.output
    monkeypatch.setattr(embedded.Cluster, "server_malloc", lambda self: {})  # as one started before them
    r = CliRunner().invoke(main, ["db", "start"], catch_exceptions=False)
    assert "memory settings" in r.output and "mapapp db stop" in r.output
