"""The importer against the real PostGIS: all or nothing, reprojection, grid assignment, export."""
from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from mapapp.errors import UserError
from mapapp.io.store import ImportRejected, export_layer, import_file

DATA = Path(__file__).resolve().parents[1] / "data"
MESA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mesa"


def _fc(features):
    return {"type": "FeatureCollection", "features": features}


def _poly(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def city(db):
    """District D1 > street S1 > community C1 and a published plan with grids G1, G2."""
    report = import_file(db, "admin_areas", DATA / "admin_areas.geojson")
    assert report.loaded == 3 and report.rejected == 0
    report = import_file(db, "grids", DATA / "grids.geojson", plan="p1", publish=True)
    assert report.loaded == 2
    assert any("households, population in the file not imported" in n for n in report.notes)
    return db


def _count(db, table):
    with db.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_admin_areas_parents_first_and_grids_get_their_community(city):
    with city.connect() as conn:
        tree = dict(conn.execute(text("SELECT a.code, p.code FROM admin_areas a "
                                      "LEFT JOIN admin_areas p ON p.id = a.parent_id")).all())
        grids = conn.execute(text("SELECT g.code, a.code, g.grid_head, pl.status FROM grids g "
                                  "JOIN admin_areas a ON a.id = g.community_id "
                                  "JOIN grid_plans pl ON pl.id = g.plan_id ORDER BY g.code")).all()
    assert tree == {"D1": None, "S1": "D1", "C1": "S1"}
    # G1 names its community; G2 has no community_code and gets the one covering it
    assert [tuple(r) for r in grids] == [("G1", "C1", "张三", "published"), ("G2", "C1", None, "published")]


def test_incidents_csv_loads_and_the_trigger_assigns_grids(city):
    report = import_file(city, "incidents", DATA / "incidents.csv")
    assert (report.read, report.loaded, report.rejected) == (2, 2, 0)
    with city.connect() as conn:
        rows = conn.execute(text("SELECT g.code, a.code, i.reported_at AT TIME ZONE 'UTC', i.description "
                                 "FROM incidents i JOIN grids g ON g.id = i.grid_id "
                                 "JOIN admin_areas a ON a.id = i.community_id ORDER BY i.id")).all()
    assert [(r[0], r[1]) for r in rows] == [("G1", "C1"), ("G2", "C1")]
    assert rows[0][2].hour == 8 and rows[1][2].hour == 1  # naive = UTC; +08:00 converted
    assert rows[1][3] == "a description, with a comma"
    with city.connect() as conn:  # each case starts its history, as intake through the API does
        steps = conn.execute(text("SELECT e.action, e.to_status = i.status, e.note, e.actor LIKE 'db:%' "
                                  "FROM incidents i JOIN incident_events e ON e.incident_id = i.id ORDER BY i.id")).all()
    assert steps == [("report", True, "imported from incidents.csv", True)] * 2


def test_one_bad_row_loads_nothing_and_names_the_row(city, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImportRejected) as err:
        import_file(city, "incidents", DATA / "incidents_one_bad.csv")
    assert "row 6, category: 'no_such_category' is not in the taxonomy" in str(err.value)
    assert err.value.report.rejected == 1 and err.value.row == 6
    assert _count(city, "incidents") == 0
    assert not list(tmp_path.iterdir())  # no rejects file either


def test_many_bad_rows_are_all_named(city, tmp_path):
    f = tmp_path / "cases.csv"
    f.write_text("lon,lat,category,reported_at\n"
                 "24.92,60.15,public_order.theft,2026-11-01\n"
                 "24.93,60.16,no_such_category,2026-11-01\n"
                 "24.94,,public_order,2026-11-01\n"
                 "24.94,60.17,public_order,not a date\n"
                 "30.00,61.00,public_order,2026-11-01\n")
    with pytest.raises(ImportRejected) as err:
        import_file(city, "incidents", f)
    message = str(err.value)
    assert "row 3, category" in message and "no_such_category" in message
    assert "row 4, geometry: lat is empty" in message
    assert "row 5, reported_at: not a valid datetime: 'not a date'" in message
    assert "row 6, geometry: outside the jurisdiction" in message
    assert err.value.report.rejected == 4 and _count(city, "incidents") == 0


def test_skip_bad_loads_the_rest_and_writes_rejects(city, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = import_file(city, "incidents", DATA / "incidents_one_bad.csv", skip_bad=True)
    assert (report.read, report.loaded, report.rejected) == (4, 3, 1)
    assert report.rejects_path == tmp_path / "incidents_one_bad.rejects.csv"
    lines = report.rejects_path.read_text().splitlines()
    assert lines == ["row,field,reason", "6,category,'no_such_category' is not in the taxonomy"]
    assert _count(city, "incidents") == 3
    chosen = tmp_path / "elsewhere.csv"
    report = import_file(city, "incidents", DATA / "incidents_one_bad.csv", skip_bad=True, rejects_path=chosen)
    assert report.rejects_path == chosen and chosen.exists()


def test_swapped_file_and_single_swapped_row(city, tmp_path):
    f = tmp_path / "swapped.csv"
    f.write_text("lon,lat,category\n60.15,24.92,public_order\n60.16,24.97,public_order\n")
    report = import_file(city, "incidents", f)
    assert report.loaded == 2 and any("swapped" in n for n in report.notes)
    with city.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents WHERE grid_id IS NOT NULL")).scalar() == 2
    g = tmp_path / "one.csv"
    g.write_text("lon,lat,category\n24.92,60.15,public_order\n24.93,60.16,public_order\n60.16,24.97,public_order\n")
    with pytest.raises(ImportRejected, match="row 4, geometry: lon/lat look swapped"):
        import_file(city, "incidents", g)


def test_gcj02_datum_is_converted(db, tmp_path):
    areas = tmp_path / "bj.geojson"
    areas.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(116.3, 39.8, 116.5, 40.0),
                                      "properties": {"code": "110101", "name": "东城", "level": "district"}}])))
    import_file(db, "admin_areas", areas)
    f = tmp_path / "gcj.csv"
    f.write_text("lng,lat,category\n116.397241,39.908401,public_order\n")
    report = import_file(db, "incidents", f, datum="gcj02")
    assert any("GCJ02" in n for n in report.notes)
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM incidents")).one()
    assert x == pytest.approx(116.391, abs=2e-5) and y == pytest.approx(39.907, abs=2e-5)


def test_admin_area_with_unknown_parent_is_rejected(city, tmp_path):
    f = tmp_path / "bad_areas.geojson"
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11),
                                  "properties": {"code": "C9", "name": "x", "level": "community",
                                                 "parent_code": "S404"}}])))
    with pytest.raises(ImportRejected, match="row 1, parent_code: unknown parent 'S404'"):
        import_file(city, "admin_areas", f)
    # a parent already in the database is found
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11),
                                  "properties": {"code": "C9", "name": "x", "level": "community",
                                                 "parent_code": "S1"}}])))
    assert import_file(city, "admin_areas", f).loaded == 1


def test_grid_checks_repair_and_draft_plan(city, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[24.90, 60.10], [24.95, 60.15], [24.95, 60.10],
                                                  [24.90, 60.15], [24.90, 60.10]]]}
    f = tmp_path / "g.geojson"
    f.write_text(json.dumps(_fc([
        {"type": "Feature", "geometry": bowtie, "properties": {"code": "G9", "name": "bow", "community_code": "C1"}},
        {"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11),
         "properties": {"code": "G8", "name": "x", "community_code": "C404"}},
        {"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11), "properties": {"code": "G1", "name": "y"}},
    ])))
    with pytest.raises(ImportRejected) as err:
        import_file(city, "grids", f, plan="p1")
    assert "row 2, community_code: no community with code 'C404'" in str(err.value)
    assert "row 3, code: 'G1' is already in plan 'p1'" in str(err.value)
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": bowtie,
                                  "properties": {"code": "G9", "name": "bow", "community_code": "C1"}}])))
    report = import_file(city, "grids", f, plan="draft")
    assert any("repaired invalid geometry in rows 1 (Self-intersection" in n for n in report.notes)
    with city.connect() as conn:
        assert conn.execute(text("SELECT ST_IsValid(geom) FROM grids WHERE code = 'G9'")).scalar()
        plans = dict(conn.execute(text("SELECT name, status FROM grid_plans")).all())
    assert plans == {"p1": "published", "draft": "draft"}


def test_publishing_a_plan_archives_the_previous_one(city):
    report = import_file(city, "grids", DATA / "grids.geojson", plan="p2", publish=True)
    assert report.loaded == 2
    with city.connect() as conn:
        plans = dict(conn.execute(text("SELECT name, status FROM grid_plans")).all())
    assert plans == {"p1": "archived", "p2": "published"}


def test_grid_outside_every_community_gets_a_note(city, tmp_path):
    f = tmp_path / "far.geojson"
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(24.81, 60.01, 24.82, 60.02),
                                  "properties": {"code": "G7", "name": "far"}}])))
    report = import_file(city, "grids", f, plan="p3")
    assert "1 grids lie in no community: G7" in report.notes


def test_mesa_crimes_are_reprojected_from_esri_102649(db, tmp_path):
    pts = gpd.read_file(MESA / "crimes.shp").to_crs(4326)
    hull = shapely.geometry.mapping(pts.union_all().convex_hull.buffer(0.01))
    areas = tmp_path / "mesa.geojson"
    areas.write_text(json.dumps(_fc([{"type": "Feature", "geometry": hull,
                                      "properties": {"code": "990101", "name": "Mesa", "level": "district"}}])))
    import_file(db, "admin_areas", areas)
    with pytest.raises(ImportRejected, match="category: required but empty"):
        import_file(db, "incidents", MESA / "crimes.shp")
    report = import_file(db, "incidents", MESA / "crimes.shp", constants={"category": "public_order"})
    assert (report.read, report.loaded) == (287, 287)
    assert any("ESRI:102649" in n for n in report.notes)
    with db.connect() as conn:
        x, y, n_reported = conn.execute(text(
            "SELECT avg(ST_X(geom)), avg(ST_Y(geom)), count(*) FILTER (WHERE status = 'reported') "
            "FROM incidents")).one()
    assert -111.9 < x < -111.7 and 33.35 < y < 33.5 and n_reported == 287


def test_zipped_shapefile_round_trip(db, tmp_path):
    archive = tmp_path / "streets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(MESA / f"streets.{ext}", f"streets.{ext}")
    report = import_file(db, "streets", archive)
    assert report.loaded == 293
    with db.connect() as conn:
        total_m = conn.execute(text("SELECT sum(length_m) FROM streets")).scalar()
    source = gpd.read_file(MESA / "streets.shp")
    assert total_m == pytest.approx(source.length.sum() * 0.3048006, rel=0.01)  # feet in the file
    out = tmp_path / "streets_out.gpkg"
    assert export_layer(db, "streets", out) == 293
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 4326 and back["length_m"].sum() == pytest.approx(total_m)
    expected = source.to_crs(4326).total_bounds
    assert back.total_bounds == pytest.approx(expected, abs=1e-6)
    with pytest.raises(UserError, match="crs"):
        import_file(db, "streets", archive, crs="EPSG:not-a-crs")


def test_crs_option_overrides_a_missing_prj(db, tmp_path):
    for ext in ("shp", "shx", "dbf"):
        shutil.copy(MESA / f"streets.{ext}", tmp_path / f"streets.{ext}")
    with pytest.raises(UserError, match="file has no CRS; pass --crs"):
        import_file(db, "streets", tmp_path / "streets.shp")
    assert import_file(db, "streets", tmp_path / "streets.shp", crs="ESRI:102649").loaded == 293


def test_unsupported_file_and_unknown_mapping(db, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello")
    with pytest.raises(UserError, match="unsupported file type"):
        import_file(db, "incidents", f)
    g = tmp_path / "y.csv"
    g.write_text("lon,lat,cat\n1,1,x\n")
    with pytest.raises(UserError, match="no field 'kind'"):
        import_file(db, "incidents", g, mapping={"category": "kind"})


def test_shift_time_to_now_moves_simulated_data_by_whole_weeks(city, tmp_path):
    latest = datetime.now(UTC).replace(microsecond=0) - timedelta(days=100)
    earlier = latest - timedelta(days=3, hours=5)
    f = tmp_path / "sim.csv"
    f.write_text("lon,lat,category,reported_at\n"
                 f"24.92,60.15,disputes,{earlier.isoformat()}\n24.93,60.15,disputes,{latest.isoformat()}\n")
    with pytest.raises(UserError, match="simulated"):
        import_file(city, "incidents", f, shift_time_to_now=True)
    report = import_file(city, "incidents", f, constants={"simulated": True}, shift_time_to_now=True)
    assert any("shifted by 14 weeks" in n for n in report.notes)
    with city.connect() as conn:
        times = conn.execute(text("SELECT reported_at FROM incidents ORDER BY reported_at")).scalars().all()
    now = datetime.now(UTC)
    assert now - timedelta(days=7) < times[1] <= now
    assert times[1] - times[0] == latest - earlier
    assert times[1].weekday() == latest.weekday() and times[1].hour == latest.hour


def test_progress_is_reported_per_batch(city, tmp_path):
    f = tmp_path / "many.csv"
    f.write_text("lon,lat,category\n" + "24.92,60.15,disputes\n" * 4500)
    calls = []
    report = import_file(city, "incidents", f, progress=lambda done, total: calls.append((done, total)))
    assert report.loaded == 4500 and calls == [(2000, 4500), (4000, 4500), (4500, 4500)]


def test_export_geojson_and_gpkg(city, tmp_path):
    import_file(city, "incidents", DATA / "incidents.csv")
    for name in ("grids.geojson", "grids.gpkg"):
        out = tmp_path / name
        assert export_layer(city, "grids", out) == 2
        back = gpd.read_file(out)
        assert sorted(back["code"]) == ["G1", "G2"] and back.crs.to_epsg() == 4326
        assert set(back["community_code"]) == {"C1"} and set(back["plan"]) == {"p1"}
        assert "grid_head" in back.columns
    assert "crs" not in json.loads((tmp_path / "grids.geojson").read_text())  # RFC 7946
    out = tmp_path / "incidents.geojson"
    assert export_layer(city, "incidents", out) == 2
    back = gpd.read_file(out)
    assert back["grid_code"].tolist() == ["G1", "G2"] and back["category"].tolist()[0] == "public_order.theft"
    with pytest.raises(UserError, match="geojson or .gpkg"):
        export_layer(city, "grids", tmp_path / "grids.kml")


def test_export_of_an_empty_layer_keeps_its_columns(db, tmp_path):
    out = tmp_path / "none.gpkg"
    assert export_layer(db, "key_places", out) == 0
    assert {"name", "category", "address"} <= set(gpd.read_file(out).columns)


def test_a_row_the_database_refuses_loads_nothing_and_is_a_user_error(city, tmp_path):
    f = tmp_path / "units.csv"
    f.write_text("lon,lat,households\n24.92,60.15,10\n24.93,60.15,3000000000\n")
    with pytest.raises(UserError, match="refused a row between rows 2 and 3: .*out of range") as err:
        import_file(city, "base_units", f)
    assert err.value.row == 2 and _count(city, "base_units") == 0
