"""Shared fixtures. Database tests use the embedded PostGIS cluster (MAPAPP_HOME, default ./var)
with a fresh database for each test session; nothing is mocked."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
DATA_TABLES = ("incident_events", "incidents", "grids", "grid_plans", "base_units", "key_places", "streets",
               "street_edges", "street_vertices", "patrols",
               "api_tokens", "users", "admin_areas")


@pytest.fixture(scope="session")
def db_home() -> Path:
    return Path(os.environ.get("MAPAPP_HOME", ROOT / "var")).resolve()


@pytest.fixture(scope="session")
def engine(db_home):
    """A fresh, migrated database in the embedded cluster, dropped at the end of the session; this
    engine is the tables' owner (migrations, emptying tables), the app connects as `app_url`."""
    from mapapp.db import embedded
    from mapapp.db.migrate import upgrade

    name = f"mapapp_test_{os.getpid()}"
    url = embedded.create_database(db_home, name)
    eng = create_engine(url, future=True)
    upgrade(eng)
    yield eng
    eng.dispose()
    embedded.drop_database(db_home, name)


@pytest.fixture(scope="session")
def app_url(engine) -> str:
    """The test database as the app's own role (mapapp.db.roles.APP_ROLE), as the app connects."""
    from mapapp.db.roles import APP_ROLE

    return engine.url.set(username=APP_ROLE).render_as_string(hide_password=False)


@pytest.fixture
def db(engine):
    """The test database, emptied before each test that asks for it."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
    return engine
