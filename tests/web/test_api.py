"""Flask client tests for every endpoint, including bad input and missing roles."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.web.conftest import INCIDENTS, login

BBOX = "24.93,60.15,24.96,60.18"


def test_healthz_reports_versions(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.json["postgis"].startswith("3.")
    assert r.json["database"].startswith("15")


@pytest.mark.parametrize("path", ["/api/grids", "/api/incidents", "/api/grids/x/stats",
                                  "/api/taxonomy", "/api/admin_areas", f"/api/basemap?bbox={BBOX}"])
def test_api_needs_login(app, city, path):
    r = app.test_client().get(path)
    assert r.status_code == 401
    assert r.json["error"] == "unauthorized"


def test_map_page_redirects_to_login(app, city):
    r = app.test_client().get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wrong_password_is_refused(app, city):
    c = app.test_client()
    r = login(c, "viewer", "not the password")
    assert r.status_code == 401
    assert c.get("/api/grids").status_code == 401


def test_login_post_without_csrf_is_refused(app, city):
    r = app.test_client().post("/login", data={"name": "viewer", "password": "x" * 10})
    assert r.status_code == 400


def test_public_read_mode_serves_without_login_but_hides_names(public_app, city):
    c = public_app.test_client()
    r = c.get("/api/grids")
    assert r.status_code == 200
    teams = [f["properties"]["team"] for f in r.json["features"]]
    assert all(v is None for t in teams for v in t.values())


def test_bearer_token(app, city):
    c = app.test_client()
    r = c.get("/api/grids", headers={"Authorization": f"Bearer {city['token']}"})
    assert r.status_code == 200
    r = c.get("/api/grids", headers={"Authorization": "Bearer mapapp_wrong"})
    assert r.status_code == 401


def test_grids_published_with_derived_workload(dispatcher):
    r = dispatcher.get("/api/grids?plan=published")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    by_code = {f["properties"]["code"]: f["properties"] for f in r.json["features"]}
    assert set(by_code) == {"910101001001001", "910101001001002"}
    west, east = by_code["910101001001001"], by_code["910101001001002"]
    assert (west["households"], west["population"]) == (400, 700)
    assert (east["households"], east["population"]) == (50, 90)
    assert west["community"] == "910101001001"
    assert west["team"]["grid_head"] == "Wang Wu"  # staff see the team
    assert r.json["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_viewer_does_not_see_team_names(viewer):
    r = viewer.get("/api/grids")
    assert all(v is None for f in r.json["features"] for v in f["properties"]["team"].values())


def test_grids_of_a_draft_plan_and_unknown_plan(dispatcher):
    r = dispatcher.get("/api/grids?plan=draft A")
    assert [f["properties"]["name"] for f in r.json["features"]] == ["Draft whole"]
    r = dispatcher.get("/api/grids?plan=nope")
    assert r.status_code == 404 and r.json["field"] == "plan"


def test_incidents_assigned_to_grids_on_insert(engine, city):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT i.category, g.code, i.assign_flag, a.code FROM incidents i "
                                 "LEFT JOIN grids g ON g.id = i.grid_id "
                                 "LEFT JOIN admin_areas a ON a.id = i.community_id ORDER BY i.id")).all()
    assert rows[0][1] == "910101001001001" and rows[0][2] is None and rows[0][3] == "910101001001"
    assert rows[4][1] == "910101001001002"
    assert rows[6][1] is None and rows[6][2] == "outside" and rows[6][3] is None


def test_incidents_by_bbox_and_time(dispatcher):
    r = dispatcher.get(f"/api/incidents?bbox={BBOX}")
    assert r.status_code == 200
    assert r.json["numberMatched"] == len(INCIDENTS)
    r = dispatcher.get("/api/incidents?bbox=24.940,60.160,24.945,60.170&since=7d")
    assert r.json["numberMatched"] == 3
    cats = sorted(f["properties"]["category"] for f in r.json["features"])
    assert cats == ["public_order.noise", "public_order.noise", "public_order.theft"]
    f = r.json["features"][0]
    assert f["geometry"]["type"] == "Point" and -180 <= f["geometry"]["coordinates"][0] <= 180


def test_incident_filters_category_and_status(dispatcher):
    r = dispatcher.get("/api/incidents?category=public_order")
    assert r.json["numberMatched"] == 3  # top-level code covers its subcategories
    r = dispatcher.get("/api/incidents?status=open")
    assert r.json["numberMatched"] == 3  # reported, dispatched, in_progress
    r = dispatcher.get("/api/incidents?status=closed&category=disputes.neighbour")
    assert r.json["numberMatched"] == 1


def test_incident_paging_with_cursor(dispatcher):
    seen, url, pages = [], "/api/incidents?limit=3", 0
    while url:
        r = dispatcher.get(url)
        assert r.json["numberMatched"] == len(INCIDENTS)
        seen += [f["id"] for f in r.json["features"]]
        url = r.json.get("next")
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == len(INCIDENTS)


def test_limit_is_capped(dispatcher):
    r = dispatcher.get("/api/incidents?limit=100000")
    assert r.status_code == 200 and r.json["limit"] == 5000


@pytest.mark.parametrize("query, field", [
    ("bbox=1,2,3", "bbox"), ("bbox=10,60,5,61", "bbox"), ("bbox=0,0,200,1", "bbox"),
    ("since=yesterday", "since"), ("since=2026-02-01&until=2026-01-01", "since"),
    ("category=nope", "category"), ("status=lost", "status"), ("limit=-1", "limit"),
    ("limit=abc", "limit"), ("cursor=zzz", "cursor"),
])
def test_bad_incident_parameters_are_400_naming_the_field(dispatcher, query, field):
    r = dispatcher.get(f"/api/incidents?{query}")
    assert r.status_code == 400
    assert r.json["error"] == "bad_parameter" and r.json["field"] == field
    assert r.json["message"]


def test_grid_stats(dispatcher):
    r = dispatcher.get("/api/grids/910101001001001/stats?since=30d")
    assert r.status_code == 200
    assert r.json["total"] == 4 and r.json["open"] == 2 and r.json["closed"] == 2
    assert r.json["per_1000_households"] == 10.0  # 4 incidents / 400 households
    by = {c["code"]: c for c in r.json["by_category"]}
    assert by["public_order"]["total"] == 3 and by["disputes"]["total"] == 1
    assert by["public_order"]["per_1000_households"] == 7.5


def test_grid_stats_bad_input(dispatcher):
    assert dispatcher.get("/api/grids/999/stats").status_code == 404
    r = dispatcher.get("/api/grids/910101001001001/stats?until=soon")
    assert r.status_code == 400 and r.json["field"] == "until"
    r = dispatcher.get("/api/grids/910101001001001/stats?bbox=1,2,3,4")
    assert r.status_code == 400 and r.json["field"] == "bbox"


def test_basemap_and_key_places(viewer):
    r = viewer.get(f"/api/basemap?bbox={BBOX}")
    assert len(r.json["streets"]["features"]) == 1 and len(r.json["buildings"]["features"]) == 2
    assert viewer.get("/api/basemap").json["field"] == "bbox"
    r = viewer.get("/api/key_places")
    assert r.json["features"][0]["properties"]["category"] == "bar"


def test_taxonomy_speaks_the_language(viewer):
    zh = viewer.get("/api/taxonomy").json["categories"]
    en = viewer.get("/api/taxonomy?lang=en").json["categories"]
    assert {c["code"]: c["label"] for c in zh}["disputes"] == "矛盾纠纷"
    assert {c["code"]: c["label"] for c in en}["disputes"] == "Disputes"


def test_logout_needs_csrf_and_ends_the_session(viewer):
    assert viewer.post("/logout").status_code == 400
    viewer.get("/")  # the page hands out the CSRF token
    with viewer.session_transaction() as sess:
        csrf = sess["csrf"]
    assert viewer.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert viewer.get("/api/grids").status_code == 401
