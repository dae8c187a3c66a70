"""A small city written straight into the test database, and Flask clients with each role."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from mapapp import create_app
from mapapp.accounts.queries import add_user, create_token
from mapapp.settings import Settings

PASSWORD = "correct horse battery"

# Two grids side by side inside one community; x in [24.940, 24.950], y in [60.160, 60.170].
CITY_SQL = """
INSERT INTO admin_areas (id, code, name, level, parent_id, geom) VALUES
 (1, '910101', 'Test District', 'district', NULL,
  ST_Multi(ST_MakeEnvelope(24.930, 60.150, 24.960, 60.180, 4326))),
 (2, '910101001', 'Test Street', 'street', 1,
  ST_Multi(ST_MakeEnvelope(24.930, 60.150, 24.960, 60.180, 4326))),
 (3, '910101001001', 'Test Community <b>', 'community', 2,
  ST_Multi(ST_MakeEnvelope(24.940, 60.160, 24.950, 60.170, 4326)));
INSERT INTO grid_plans (id, name, status) VALUES (1, 'initial', 'published'), (2, 'draft A', 'draft');
INSERT INTO grids (plan_id, code, name, community_id, grid_head, police_officer, geom) VALUES
 (1, '910101001001001', 'West <script>alert(1)</script>', 3, 'Wang Wu', NULL,
  ST_Multi(ST_MakeEnvelope(24.940, 60.160, 24.945, 60.170, 4326))),
 (1, '910101001001002', 'East', 3, NULL, 'Li Si',
  ST_Multi(ST_MakeEnvelope(24.945, 60.160, 24.950, 60.170, 4326))),
 (2, '910101001001001', 'Draft whole', 3, NULL, NULL,
  ST_Multi(ST_MakeEnvelope(24.940, 60.160, 24.950, 60.170, 4326)));
INSERT INTO base_units (kind, households, population, estimated, geom) VALUES
 ('building', 120, 210, true, ST_Buffer(ST_SetSRID(ST_MakePoint(24.942, 60.165), 4326), 0.0002)),
 ('building', 280, 490, true, ST_Buffer(ST_SetSRID(ST_MakePoint(24.943, 60.162), 4326), 0.0002)),
 ('address', 50, 90, false, ST_SetSRID(ST_MakePoint(24.948, 60.168), 4326));
INSERT INTO streets (name, class, length_m, geom) VALUES
 ('Main street', 'primary', 555.0, ST_SetSRID(ST_MakeLine(ST_MakePoint(24.940, 60.165), ST_MakePoint(24.950, 60.165)), 4326));
INSERT INTO key_places (name, category, geom) VALUES
 ('Bar <img src=x onerror=alert(1)>', 'bar', ST_SetSRID(ST_MakePoint(24.946, 60.166), 4326));
"""

# (category, days ago, status, lon, lat)
INCIDENTS = [
    ("public_order.noise", 1, "reported", 24.942, 60.163),
    ("public_order.noise", 2, "closed", 24.942, 60.164),
    ("public_order.theft", 3, "dispatched", 24.943, 60.166),
    ("disputes.neighbour", 10, "closed", 24.944, 60.161),
    ("city_mgmt.vending", 40, "closed", 24.947, 60.165),
    ("safety.gas", 0.5, "in_progress", 24.948, 60.169),
    ("emergency.accident", 100, "voided", 24.935, 60.155),  # inside the district, outside grids
]


@pytest.fixture
def city(db):
    with db.begin() as conn:
        conn.execute(text(CITY_SQL))
        for cat, days, status, lon, lat in INCIDENTS:
            conn.execute(text(
                "INSERT INTO incidents (category, reported_at, status, source, description, geom) "
                "VALUES (:c, now() - make_interval(secs => :d * 86400), :s, 'hotline', :desc, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                {"c": cat, "d": days, "s": status, "x": lon, "y": lat,
                 "desc": "<script>alert('x')</script> test"})
        for role in ("viewer", "dispatcher", "admin"):
            add_user(conn, role, role, PASSWORD)
        token = create_token(conn, "dispatcher", "test")
    return {"token": token}


@pytest.fixture
def app(app_url, tmp_path):
    return create_app(Settings(database_url=app_url, home=tmp_path, testing=True))


@pytest.fixture
def public_app(app_url, tmp_path):
    return create_app(Settings(database_url=app_url, home=tmp_path, testing=True, public_read=True))


def login(client, name: str, password: str = PASSWORD):
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf})


@pytest.fixture
def viewer(app, city):
    c = app.test_client()
    assert login(c, "viewer").status_code == 302
    return c


@pytest.fixture
def dispatcher(app, city):
    c = app.test_client()
    assert login(c, "dispatcher").status_code == 302
    return c


@pytest.fixture
def api(app, city):
    """post(path, json) and get(path) with the dispatcher's API token."""
    c = app.test_client()
    headers = {"Authorization": f"Bearer {city['token']}"}

    def post(path, json=None, **kw):
        return c.post(path, json=json, headers=headers, **kw)

    def get(path):
        return c.get(path, headers=headers)
    return post, get
