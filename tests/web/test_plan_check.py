"""GET /api/plans/<id>/check against the test city in PostGIS."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import text

# plan 3: the west grid stops short (a gap 0.0005 deg wide) and a third grid overlaps the east one
PLANTED = """
INSERT INTO grid_plans (id, name, status) VALUES (3, 'planted', 'draft');
INSERT INTO grids (plan_id, code, name, community_id, geom) VALUES
 (3, 'W', 'West', 3, ST_Multi(ST_MakeEnvelope(24.940, 60.160, 24.9445, 60.170, 4326))),
 (3, 'E', 'East', 3, ST_Multi(ST_MakeEnvelope(24.945, 60.160, 24.950, 60.170, 4326))),
 (3, 'X', 'Extra', 3, ST_Multi(ST_MakeEnvelope(24.948, 60.166, 24.952, 60.169, 4326)));
"""


def _area(db, wkt: str) -> float:
    with db.connect() as conn:
        return conn.execute(text("SELECT ST_Area(ST_GeomFromText(:w, 4326)::geography)"), {"w": wkt}).scalar()


def test_published_plan_is_clean(viewer):
    r = viewer.get("/api/plans/1/check")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    body = r.get_json()
    assert body["features"] == []
    s = body["summary"]
    assert s["ok"] and s["grids"] == 2 and s["communities"] == 1 and s["units"] == 3
    assert s["area_covered_share"] == 1.0 and s["households_covered_share"] == 1.0


def test_planted_problems_found_with_their_areas(viewer, db):
    with db.begin() as conn:
        conn.execute(text(PLANTED))
    body = viewer.get("/api/plans/3/check").get_json()
    by_kind = {}
    for f in body["features"]:
        by_kind.setdefault(f["properties"]["kind"], []).append(f["properties"])
    gap = _area(db, "POLYGON((24.9445 60.16,24.945 60.16,24.945 60.17,24.9445 60.17,24.9445 60.16))")
    overlap = _area(db, "POLYGON((24.948 60.166,24.95 60.166,24.95 60.169,24.948 60.169,24.948 60.166))")
    outside = _area(db, "POLYGON((24.95 60.166,24.952 60.166,24.952 60.169,24.95 60.169,24.95 60.166))")
    assert [p["community"] for p in by_kind["gap"]] == ["910101001001"]
    assert by_kind["gap"][0]["area_m2"] == pytest.approx(gap, rel=2e-3)
    assert by_kind["overlap"][0]["area_m2"] == pytest.approx(overlap, rel=2e-3)
    assert {by_kind["overlap"][0]["grid"], by_kind["overlap"][0]["other"]} == {"E", "X"}
    assert by_kind["outside"][0]["grid"] == "X"
    assert by_kind["outside"][0]["area_m2"] == pytest.approx(outside, rel=2e-3)
    # the address point at (24.948, 60.168) lies in both E and X
    assert by_kind["multiply_assigned_unit"][0]["unit"] == 3
    assert not body["summary"]["ok"] and body["summary"]["area_covered_share"] < 1


def test_check_errors(viewer, app):
    assert viewer.get("/api/plans/99/check").get_json()["error"] == "not_found"
    r = viewer.get("/api/plans/1/check?sliver_m2=abc")
    assert r.status_code == 400 and r.get_json()["field"] == "sliver_m2"
    assert app.test_client().get("/api/plans/1/check").status_code == 401


def test_metrics_of_the_published_plan(viewer):
    body = viewer.get("/api/plans/1/metrics?band=households:300:500:2,incidents_12m:0:2:1").get_json()
    west, east = body["grids"]
    assert (west["households"], east["households"]) == (400, 50)
    assert west["flags"]["households"] == "ok" and east["flags"]["households"] == "under"
    # west has the four incidents of the last year at x < 24.945 -> over the 0-2 band
    assert west["incidents_12m"] == 4 and west["flags"]["incidents_12m"] == "over"
    assert east["key_places"] == 1
    assert body["summary"]["band_violations"] == 2
    w, h = 0.005 * 111_320 * math.cos(math.radians(60.165)), 0.01 * 111_320  # metres
    assert west["polsby_popper"] == pytest.approx(4 * math.pi * w * h / (2 * (w + h)) ** 2, rel=0.01)
    assert {p["key"] for p in body["provenance"]} >= {"households", "polsby_popper", "reock"}
    r = viewer.get("/api/plans/1/metrics?band=households:500:300")
    assert r.status_code == 400 and r.get_json()["field"] == "band"
