"""Closed-loop indicators: fixtures with known answers, and the same figures as direct SQL."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

WINDOW = "since=2025-01-01&until=2025-02-01"
# (label, lon, lat, status, reported, due, closed)
CASES = [
    ("A", 24.942, 60.163, "closed", "2025-01-05 10:00", "2025-01-06 10:00", "2025-01-05 20:00"),  # on time, 10 h
    ("B", 24.942, 60.164, "closed", "2025-01-30 10:00", "2025-02-01 00:00", "2025-02-02 06:00"),  # late, next month, 68 h
    ("C", 24.943, 60.165, "in_progress", "2025-01-10 09:00", "2025-01-11 09:00", None),  # overdue now
    ("D", 24.943, 60.166, "voided", "2025-01-12 09:00", None, None),  # not a case
    ("E", 24.947, 60.165, "closed", "2025-01-10 08:00", "2025-01-11 08:00", "2025-01-10 12:00"),  # east grid, 4 h
    ("F", 24.948, 60.166, "closed", "2024-12-30 08:00", "2025-01-01 08:00", "2024-12-31 08:00"),  # before the window
]


@pytest.fixture
def kpi_city(city, engine):
    with engine.begin() as conn:
        for _label, x, y, status, reported, due, closed in CASES:
            conn.execute(text(
                "INSERT INTO incidents (category, status, reported_at, due_at, closed_at, geom) VALUES "
                "('public_order.theft', :s, CAST(:r AS timestamptz), CAST(:d AS timestamptz), "
                "CAST(:c AS timestamptz), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                {"s": status, "r": reported + "+00", "d": due and due + "+00", "c": closed and closed + "+00",
                 "x": x, "y": y})
    return city


def test_grid_indicators_have_the_known_values(viewer, kpi_city):
    r = viewer.get(f"/api/kpi?level=grid&{WINDOW}")
    assert r.status_code == 200
    west, east = r.json["areas"]
    assert west["code"] == "910101001001001" and east["code"] == "910101001001002"
    assert (west["cases"], west["closed"], west["overdue_now"], west["month_cleared"]) == (3, 2, 1, 1)
    assert west["closure_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert west["on_time_rate"] == 0.5
    assert west["median_hours_to_close"] == 39.0  # median of 10 h and 68 h
    assert west["month_cleared_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (east["cases"], east["closed"], east["on_time_rate"], east["median_hours_to_close"]) == (1, 1, 1.0, 4.0)
    assert r.json["total"]["cases"] == 4 and r.json["total"]["closed"] == 3


def test_community_and_street_levels_sum_the_grids(viewer, kpi_city):
    for level, code in (("community", "910101001001"), ("street", "910101001")):
        areas = viewer.get(f"/api/kpi?level={level}&{WINDOW}").json["areas"]
        assert [a["code"] for a in areas] == [code]
        assert (areas[0]["cases"], areas[0]["closed"], areas[0]["closed_on_time"]) == (4, 3, 2)


def test_indicators_equal_direct_sql(viewer, kpi_city, engine):
    areas = {a["code"]: a for a in viewer.get("/api/kpi?level=grid").json["areas"]}
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT g.code, count(*), count(*) FILTER (WHERE i.status = 'closed'),
                   count(*) FILTER (WHERE i.closed_at <= i.due_at AND i.status = 'closed')
              FROM incidents i JOIN grids g ON g.id = i.grid_id
             WHERE i.status <> 'voided' GROUP BY g.code""")).all()
    assert rows
    for code, cases, closed, on_time in rows:
        assert (areas[code]["cases"], areas[code]["closed"], areas[code]["closed_on_time"]) == (cases, closed, on_time)


def test_csv_export_and_bad_parameters(viewer, kpi_city):
    r = viewer.get(f"/api/kpi?level=grid&format=csv&{WINDOW}")
    assert r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["code"] for row in rows] == ["910101001001001", "910101001001002"] and rows[0]["cases"] == "3"
    assert viewer.get("/api/kpi?level=city").json["field"] == "level"
    assert viewer.get("/api/kpi?format=xml").json["field"] == "format"
    assert viewer.get("/api/kpi?bbox=1,2,3,4").json["field"] == "bbox"


def test_kpi_page_shows_table_and_chart(viewer, kpi_city):
    html = viewer.get(f"/kpi?level=grid&{WINDOW}").get_data(as_text=True)
    assert "按期结案率" in html and 'data-code="910101001001001"' in html and "66.7%" in html
    assert "kpi-chart" in html and "format=csv" in html
    assert "On-time closure rate" in viewer.get("/kpi?lang=en").get_data(as_text=True)
