"""The importer against the real PostGIS: all or nothing, reprojection, grid assignment, export."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from mapapp.errors import UserError
from mapapp.io.store import ImportRejected, export_layer, import_file

MESA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mesa"


def _fc(features):
    return {"type": "FeatureCollection", "features": features}


def _poly(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def city(db, tmp_path):
    areas = tmp_path / "areas.geojson"
    areas.write_text(json.dumps(_fc([
        {"type": "Feature", "geometry": _poly(24.90, 60.10, 25.00, 60.20),
         "properties": {"code": "C1", "name": "社区一", "level": "community", "parent_code": "S1"}},
        {"type": "Feature", "geometry": _poly(24.90, 60.10, 25.00, 60.20),
         "properties": {"code": "S1", "name": "街道", "level": "street", "parent_code": "D1"}},
        {"type": "Feature", "geometry": _poly(24.80, 60.00, 25.10, 60.30),
         "properties": {"code": "D1", "name": "区", "level": "district", "parent_code": None}},
    ])))
    grids = tmp_path / "grids.geojson"
    grids.write_text(json.dumps(_fc([
        {"type": "Feature", "geometry": _poly(24.90, 60.10, 24.95, 60.20),
         "properties": {"code": "G1", "name": "一", "community_code": "C1", "grid_head": "张三"}},
        {"type": "Feature", "geometry": _poly(24.95, 60.10, 25.00, 60.20),
         "properties": {"code": "G2", "name": "二", "community_code": "C1"}},
    ])))
    assert import_file(db, "admin_areas", areas).loaded == 3
    assert import_file(db, "grids", grids, plan="p1", publish=True).loaded == 2
    return db


def _count(db, table):
    with db.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_incidents_csv_loads_and_is_assigned_to_grids(city, tmp_path):
    f = tmp_path / "cases.csv"
    f.write_text("lon,lat,category,reported_at,status\n"
                 "24.92,60.15,public_order.theft,2026-11-01T08:00:00,reported\n"
                 "24.97,60.15,disputes,2026-11-02T09:30:00+08:00,closed\n")
    report = import_file(city, "incidents", f)
    assert report.loaded == 2 and report.rejected == 0
    with city.connect() as conn:
        rows = conn.execute(text("SELECT g.code, i.reported_at AT TIME ZONE 'UTC' FROM incidents i "
                                 "JOIN grids g ON g.id = i.grid_id ORDER BY i.id")).all()
    assert [r[0] for r in rows] == ["G1", "G2"]
    assert rows[0][1].hour == 8 and rows[1][1].hour == 1  # naive = UTC; +08:00 converted


def test_one_bad_row_loads_nothing_and_names_the_row(city, tmp_path):
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
    assert "row 4, geometry" in message
    assert "row 5, reported_at" in message
    assert "row 6, geometry: outside the jurisdiction" in message
    assert err.value.report.rejected == 4
    assert _count(city, "incidents") == 0


def test_skip_bad_loads_the_rest_and_writes_rejects(city, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "cases.csv"
    f.write_text("lon,lat,category\n24.92,60.15,public_order\n24.93,60.16,bogus\n")
    report = import_file(city, "incidents", f, skip_bad=True)
    assert report.loaded == 1 and report.rejected == 1
    lines = report.rejects_path.read_text().splitlines()
    assert lines[0] == "row,field,reason" and lines[1].startswith("3,category,")
    assert _count(city, "incidents") == 1


def test_swapped_file_and_single_swapped_row(city, tmp_path):
    f = tmp_path / "swapped.csv"
    f.write_text("lon,lat,category\n60.15,24.92,public_order\n60.16,24.97,public_order\n")
    report = import_file(city, "incidents", f)
    assert report.loaded == 2 and any("swapped" in n for n in report.notes)
    g = tmp_path / "one.csv"
    g.write_text("lon,lat,category\n24.92,60.15,public_order\n24.93,60.16,public_order\n60.16,24.97,public_order\n")
    with pytest.raises(ImportRejected, match="row 4, geometry: lon/lat look swapped"):
        import_file(city, "incidents", g)


def test_gcj02_datum_is_converted(db, tmp_path):
    # a district in Beijing, then one incident given in GCJ-02
    areas = tmp_path / "bj.geojson"
    areas.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(116.3, 39.8, 116.5, 40.0),
                                      "properties": {"code": "110101", "name": "东城", "level": "district"}}])))
    import_file(db, "admin_areas", areas)
    f = tmp_path / "gcj.csv"
    f.write_text("lon,lat,category\n116.40374,39.91506,public_order\n")
    import_file(db, "incidents", f, datum="gcj02")
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM incidents")).one()
    assert 116.3965 < x < 116.3985 and 39.9135 < y < 39.9145  # moved ~ 600 m back to WGS84


def test_admin_area_with_unknown_parent_is_rejected(city, tmp_path):
    f = tmp_path / "bad_areas.geojson"
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11),
                                  "properties": {"code": "C9", "name": "x", "level": "community",
                                                 "parent_code": "S404"}}])))
    with pytest.raises(ImportRejected, match="row 1, parent_code: unknown parent 'S404'"):
        import_file(city, "admin_areas", f)


def test_grid_with_unknown_community_is_rejected_and_invalid_polygon_repaired(city, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[24.90, 60.10], [24.95, 60.15], [24.95, 60.10],
                                                  [24.90, 60.15], [24.90, 60.10]]]}
    f = tmp_path / "g.geojson"
    f.write_text(json.dumps(_fc([
        {"type": "Feature", "geometry": bowtie, "properties": {"code": "G9", "name": "bow", "community_code": "C1"}},
        {"type": "Feature", "geometry": _poly(24.9, 60.1, 24.91, 60.11), "properties": {"code": "G8", "name": "x", "community_code": "C404"}},
    ])))
    with pytest.raises(ImportRejected, match="row 2, community_code"):
        import_file(city, "grids", f, plan="draft")
    f.write_text(json.dumps(_fc([{"type": "Feature", "geometry": bowtie,
                                  "properties": {"code": "G9", "name": "bow", "community_code": "C1"}}])))
    report = import_file(city, "grids", f, plan="draft")
    assert any("repaired invalid geometry in rows 1" in n for n in report.notes)
    with city.connect() as conn:
        assert conn.execute(text("SELECT ST_IsValid(geom) FROM grids WHERE code = 'G9'")).scalar()
        assert conn.execute(text("SELECT status FROM grid_plans WHERE name = 'draft'")).scalar() == "draft"


def test_mesa_crimes_are_reprojected_from_esri_102649(db, tmp_path):
    pts = gpd.read_file(MESA / "crimes.shp").to_crs(4326)
    hull = shapely.geometry.mapping(pts.union_all().convex_hull.buffer(0.01))
    areas = tmp_path / "mesa.geojson"
    areas.write_text(json.dumps(_fc([{"type": "Feature", "geometry": hull,
                                      "properties": {"code": "990101", "name": "Mesa", "level": "district"}}])))
    import_file(db, "admin_areas", areas)
    report = import_file(db, "incidents", MESA / "crimes.shp", constants={"category": "public_order"})
    assert report.loaded == 287
    assert any("ESRI:102649" in n or "NAD83" in n or "reprojected" in n for n in report.notes)
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT avg(ST_X(geom)), avg(ST_Y(geom)) FROM incidents")).one()
    assert -111.9 < x < -111.7 and 33.35 < y < 33.5


def test_zipped_shapefile_and_crs_option(db, tmp_path):
    archive = tmp_path / "streets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(MESA / f"streets.{ext}", f"streets.{ext}")
    report = import_file(db, "streets", archive)
    assert report.loaded == 293
    with db.connect() as conn:
        total_m = conn.execute(text("SELECT sum(length_m) FROM streets")).scalar()
    src_ft = gpd.read_file(MESA / "streets.shp").length.sum()
    assert total_m == pytest.approx(src_ft * 0.3048006, rel=0.01)
    with pytest.raises(UserError, match="crs"):
        import_file(db, "streets", archive, crs="EPSG:not-a-crs")


def test_unsupported_file_and_unknown_mapping(db, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello")
    with pytest.raises(UserError, match="unsupported file type"):
        import_file(db, "incidents", f)
    g = tmp_path / "y.csv"
    g.write_text("lon,lat,cat\n1,1,x\n")
    with pytest.raises(UserError, match="no field 'kind'"):
        import_file(db, "incidents", g, mapping={"category": "kind"})


def test_export_geojson_and_gpkg(city, tmp_path):
    for name in ("grids.geojson", "grids.gpkg"):
        out = tmp_path / name
        assert export_layer(city, "grids", out) == 2
        back = gpd.read_file(out)
        assert sorted(back["code"]) == ["G1", "G2"] and back.crs.to_epsg() == 4326
    with pytest.raises(UserError):
        export_layer(city, "grids", tmp_path / "grids.kml")
