"""A real Chromium (Debian package) driven by Playwright against the app served on loopback,
with the bundled Helsinki sample city loaded into the test database."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from mapapp import create_app, sample
from mapapp.accounts.queries import add_user, create_token
from mapapp.settings import Settings
from tests.conftest import DATA_TABLES, ROOT

PASSWORD = "browser-test-pass"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def sample_city(engine):
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
    sample.load(engine, "helsinki", echo=lambda *_: None)
    with engine.begin() as conn:
        add_user(conn, "duty", "dispatcher", PASSWORD)
        engine.token = create_token(conn, "duty", "browser-test")
    return engine


@pytest.fixture(scope="module")
def server(sample_city, app_url, tmp_path_factory):
    from werkzeug.serving import make_server

    app = create_app(Settings(database_url=app_url, home=tmp_path_factory.mktemp("home")))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Playwright starts Chromium with a fresh temporary profile (user-data dir)."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(exe).exists(), "Debian chromium is not installed (scripts/test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A new browser context (no cookies) for every test."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
