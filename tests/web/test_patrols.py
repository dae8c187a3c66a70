"""The patrol API through the Flask client: plan (role patrol_lead), saved patrols, GPX and GeoJSON
exports, candidates, reachability; bad input answered with the field that is wrong."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from mapapp.accounts.queries import add_user
from mapapp.patrol.queries import rebuild_network
from tests.web.conftest import PASSWORD, login

GRID_STREETS = """
INSERT INTO streets (name, class, length_m, geom) VALUES
 ('V1', 'residential', 1, ST_GeomFromText('LINESTRING(24.942 60.160, 24.942 60.170)', 4326)),
 ('V2', 'residential', 1, ST_GeomFromText('LINESTRING(24.946 60.160, 24.946 60.170)', 4326)),
 ('V3', 'residential', 1, ST_GeomFromText('LINESTRING(24.948 60.160, 24.948 60.170)', 4326)),
 ('H1', 'residential', 1, ST_GeomFromText('LINESTRING(24.940 60.161, 24.950 60.161)', 4326)),
 ('H2', 'residential', 1, ST_GeomFromText('LINESTRING(24.940 60.169, 24.950 60.169)', 4326));
"""
COMMUNITY = "910101001001"
PLAN = {"area": {"community": COMMUNITY}, "start": [24.946, 60.165], "mode": "foot",
        "shift_minutes": 120, "dwell_minutes": 10, "teams": 2}
GPX_XSD = Path(__file__).resolve().parents[1] / "data" / "gpx-1.1.xsd"


@pytest.fixture
def lead(app, city, db):
    with db.begin() as conn:
        conn.execute(text(GRID_STREETS))
        rebuild_network(conn)
        add_user(conn, "lead", "patrol_lead", PASSWORD)
    c = app.test_client()
    assert login(c, "lead").status_code == 302
    with c.session_transaction() as sess:
        sess["csrf"] = c.csrf = "csrf-for-tests"
    return c


def _post(client, url, body):
    return client.post(url, json=body, headers={"X-CSRF-Token": getattr(client, "csrf", "")})


def test_plan_answers_routes_as_geojson_and_saves_them(lead):
    r = _post(lead, "/api/patrols/plan", PLAN)
    assert r.status_code == 201, r.get_json()
    assert r.mimetype == "application/geo+json"
    body = r.get_json()
    routes = [f for f in body["features"] if f["properties"]["kind"] == "route"]
    stops = [f for f in body["features"] if f["properties"]["kind"] == "stop"]
    assert len(routes) == 2 and len(stops) == 4  # noise, theft, gas leak and the bar
    s = body["summary"]
    assert s["share"] == 1.0 and s["value"] == s["available_value"] > 0
    for route in routes:
        p = route["properties"]
        assert p["duration_s"] <= 120 * 60 and p["colour"].startswith("#")
        if p["stops"]:
            assert route["geometry"]["type"] == "LineString" and p["distance_m"] > 0
    for stop in stops:
        assert stop["properties"]["arrival_s"] + 600 <= 7200 and stop["properties"]["arrival"]
    saved = lead.get(r.headers["Location"])
    assert saved.status_code == 200 and saved.get_json()["id"] == body["id"]
    assert saved.get_json()["features"] == body["features"]
    assert saved.get_json()["created_by"] == "lead"


def test_gpx_export_validates_against_the_gpx_1_1_schema(lead):
    import xmlschema

    patrol_id = _post(lead, "/api/patrols/plan", PLAN).get_json()["id"]
    r = lead.get(f"/api/patrols/{patrol_id}.gpx")
    assert r.status_code == 200 and r.mimetype == "application/gpx+xml"
    assert "attachment" in r.headers["Content-Disposition"]
    xmlschema.XMLSchema(str(GPX_XSD)).validate(r.data)
    root = ET.fromstring(r.data)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(root.findall("g:wpt", ns)) == 4 and root.findall("g:trk/g:trkseg/g:trkpt", ns)
    g = lead.get(f"/api/patrols/{patrol_id}.geojson")
    assert g.status_code == 200 and "attachment" in g.headers["Content-Disposition"]
    assert g.get_json()["type"] == "FeatureCollection"


def test_candidates_are_listed_with_value(lead):
    r = _post(lead, "/api/patrols/candidates", {"area": {"community": COMMUNITY}})
    assert r.status_code == 200
    cands = [f for f in r.get_json()["features"] if f["properties"]["kind"] == "candidate"]
    assert len(cands) == 4 and all(f["properties"]["value"] > 0 for f in cands)


def test_reach_polygons_are_valid_and_grow_with_time(lead):
    r = lead.get("/api/reach?from=24.946,60.165&mode=foot&minutes=2,5,15")
    assert r.status_code == 200
    bands = r.get_json()["features"]
    assert [b["properties"]["minutes"] for b in bands] == [2, 5, 15]
    shapes = [shapely.geometry.shape(b["geometry"]) for b in bands]
    assert all(s.is_valid and s.geom_type in ("Polygon", "MultiPolygon") for s in shapes)
    assert shapes[0].area < shapes[1].area <= shapes[2].area
    assert shapes[0].contains(shapely.Point(24.946, 60.165))
    assert bands[2]["properties"]["grids"] == ["910101001001001", "910101001001002"]


@pytest.mark.parametrize("url, field", [
    ("/api/reach?from=abc&mode=foot", "from"),
    ("/api/reach?from=24.946,60.165&mode=boat", "mode"),
    ("/api/reach?from=24.946,60.165&minutes=0", "minutes"),
    ("/api/reach?from=10,10", "from"),
    ("/api/patrols/999", "id"),
])
def test_bad_reads_name_the_field(lead, url, field):
    r = lead.get(url)
    assert 400 <= r.status_code < 500 and r.get_json()["field"] == field


@pytest.mark.parametrize("change, field", [
    ({"teams": "two"}, "teams"),
    ({"area": {"community": "nope"}}, "area.community"),
    ({"start": [24.99, 60.19]}, "start"),
    ({"mode": "boat"}, "mode"),
])
def test_bad_plans_name_the_field_and_save_nothing(lead, db, change, field):
    r = _post(lead, "/api/patrols/plan", {**PLAN, **change})
    assert 400 <= r.status_code < 500 and r.get_json()["field"] == field
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrols")).scalar() == 0


def test_planning_needs_the_patrol_lead_role(dispatcher, app):
    with dispatcher.session_transaction() as sess:
        sess["csrf"] = "csrf-for-tests"
    r = dispatcher.post("/api/patrols/plan", json=PLAN, headers={"X-CSRF-Token": "csrf-for-tests"})
    assert r.status_code == 403
    assert app.test_client().post("/api/patrols/plan", json=PLAN).status_code == 401
