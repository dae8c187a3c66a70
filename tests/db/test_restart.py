"""An acknowledged incident is never lost: the database restarts while clients keep posting and
reading the map (tiles, lists), and no answer carries a stack trace.

Runs on a cluster of its own (a second embedded cluster in a temporary MAPAPP_HOME), so the
restart disturbs no other test. The app is served over HTTP on loopback by a threaded server,
as a client would see it."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from mapapp import create_app
from mapapp.accounts.queries import add_user, create_token
from mapapp.db import embedded
from mapapp.db.migrate import upgrade
from mapapp.settings import Settings
from tests.web.conftest import CITY_SQL


@pytest.fixture
def own_cluster(tmp_path):
    home = tmp_path / "home"
    url = embedded.create_database(home, "mapapp_restart")
    engine = create_engine(url, future=True, pool_pre_ping=True)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(CITY_SQL))
        add_user(conn, "dispatcher", "dispatcher", "correct horse battery")
        token = create_token(conn, "dispatcher", "restart test")
    yield home, engine, token
    engine.dispose()
    embedded.cluster(home).stop()


def test_database_restart_during_intake_loses_no_acknowledged_incident(own_cluster):
    home, engine, token = own_cluster
    app = create_app(Settings(database_url=engine.url.render_as_string(hide_password=False), home=home))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/api/incidents"
    acknowledged: dict[str, int] = {}
    answers: list[int] = []
    bad_bodies: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(k: int) -> None:
        i = 0
        while not stop.is_set():
            tag = f"restart-{k}-{i}"
            i += 1
            body = json.dumps({"category": "city_mgmt.sanitation", "lon": 24.942 + (i % 7) * 0.0005,
                               "lat": 60.162 + (i % 5) * 0.001, "description": tag}).encode()
            req = urllib.request.Request(base, data=body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=15) as resp:
                    code, payload = resp.status, resp.read().decode()
            except urllib.error.HTTPError as exc:
                code, payload = exc.code, exc.read().decode()
            except OSError as exc:  # no answer at all (timeout, reset): never acknowledged
                code, payload = 0, repr(exc)
            with lock:
                answers.append(code)
                if code == 201:
                    acknowledged[tag] = json.loads(payload)["id"]
                elif code == 0:
                    bad_bodies.append(f"no answer: {payload}")
                elif code != 503 or "Traceback" in payload or json.loads(payload).get("error") != "database_unavailable":
                    bad_bodies.append(f"{code}: {payload[:300]}")
            if code == 503:
                time.sleep(0.2)

    root = base.rsplit("/api/", 1)[0]
    reads: list[int] = []

    def reader(k: int) -> None:
        """Map reads alongside: each answers 200, or 503 database_unavailable, never a stack trace."""
        x, y = 9327 + k, 4743  # zoom-14 tiles over the fixture city
        paths = [f"/tiles/incidents/14/{x}/{y}.pbf", "/api/incidents?limit=20", "/api/incidents/latest"]
        i = 0
        while not stop.is_set():
            i += 1
            req = urllib.request.Request(root + paths[i % len(paths)], headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=15) as resp:
                    code, payload = resp.status, ""
            except urllib.error.HTTPError as exc:
                code, payload = exc.code, exc.read().decode()
            except OSError as exc:
                code, payload = 0, repr(exc)
            with lock:
                reads.append(code)
                if code not in (200, 503) or "Traceback" in payload or (
                        code == 503 and json.loads(payload).get("error") != "database_unavailable"):
                    bad_bodies.append(f"read {code}: {payload[:300]}")
            time.sleep(0.05)

    cluster = embedded.cluster(home)
    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(client, k) for k in range(3)] + [pool.submit(reader, k) for k in range(2)]
        time.sleep(2)
        before = len(acknowledged)
        cluster.stop()
        time.sleep(1.5)
        during = len(answers)
        cluster.start()
        time.sleep(3)
        stop.set()
        for f in futures:
            f.result(timeout=60)
    server.shutdown()

    assert bad_bodies == [], bad_bodies[:3]
    assert before > 0, "no incident was acknowledged before the restart"
    after_restart = [a for a in answers[during:] if a == 201]
    assert after_restart, "the app did not reconnect after the database came back"
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT description, id FROM incidents WHERE description LIKE 'restart-%'")).all())
    missing = {tag: i for tag, i in acknowledged.items() if stored.get(tag) != i}
    assert missing == {}, f"{len(missing)} acknowledged incidents are missing after the restart"
    assert answers.count(503) > 0, "the database stop was not noticed by any request"
    assert reads.count(200) > 0 and reads[-1] == 200, "map reads did not resume after the restart"
