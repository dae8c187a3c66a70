"""The pure side of import: reading files and preparing rows (no database)."""
from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from mapapp.geo import datum
from mapapp.incidents import taxonomy
from mapapp.io.layers import LAYERS, spec
from mapapp.io.prepare import prepare
from mapapp.io.readers import ReadError, read

DATA = Path(__file__).resolve().parents[1] / "data"
HELSINKI = shapely.box(24.8, 60.0, 25.1, 60.3)
TAX = taxonomy.load()


def _frame(rows: list[dict], geoms, crs=4326) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry=list(geoms), crs=crs)
    gdf["_row"] = np.arange(len(gdf)) + 1
    return gdf


def _incidents(gdf, **kw):
    kw.setdefault("src_crs", gdf.crs)
    kw.setdefault("jurisdiction", HELSINKI)
    return prepare(gdf, "incidents", taxonomy=TAX, **kw)


def test_esri_102649_frame_is_reprojected_to_lonlat():
    lon, lat = np.array([-111.83, -111.79]), np.array([33.41, 33.38])
    to_ft = pyproj.Transformer.from_crs(4326, "ESRI:102649", always_xy=True)
    x, y = to_ft.transform(lon, lat)
    assert x.min() > 600_000  # US survey feet, nothing like degrees
    gdf = _frame([{"category": "public_order"}] * 2, shapely.points(x, y), crs="ESRI:102649")
    out = prepare(gdf, "incidents", src_crs=gdf.crs, taxonomy=TAX)
    assert not out.rejects
    np.testing.assert_allclose(shapely.get_x(out.frame.geometry.array), lon, atol=1e-7)
    np.testing.assert_allclose(shapely.get_y(out.frame.geometry.array), lat, atol=1e-7)
    assert out.frame.crs.to_epsg() == 4326
    assert any("ESRI:102649" in n for n in out.notes)


def test_projected_coordinates_without_a_crs_need_one():
    gdf = _frame([{"category": "public_order"}], [shapely.Point(700_000, 880_000)], crs=None)
    with pytest.raises(ValueError, match="file has no CRS; pass --crs"):
        prepare(gdf, "incidents", src_crs=None, taxonomy=TAX)


def test_csv_rejects_carry_the_line_number_of_the_file():
    gdf = read(DATA / "incidents_one_bad.csv")
    # line 3 is blank and lines 4-5 hold one quoted record: the bad row is on line 6
    assert gdf["_row"].tolist() == [2, 4, 6, 7]
    out = _incidents(gdf)
    assert [str(r) for r in out.rejects] == ["row 6, category: 'no_such_category' is not in the taxonomy"]
    assert out.frame["_row"].tolist() == [2, 4, 7]
    assert out.frame["description"].tolist()[1] == "a note\nover two lines"


def test_csv_blank_and_non_numeric_coordinates_are_rejects_not_crashes(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("Longitude,LAT,category\n24.92,60.15,public_order\n,60.1,public_order\n"
                 "abc,60.1,public_order\n24.9,60.1,public_order,surplus\n")
    out = _incidents(read(f))
    assert [str(r) for r in out.rejects] == [
        "row 3, geometry: Longitude is empty",
        "row 4, geometry: Longitude 'abc' is not a number",
        "row 5, row: 4 fields but the header has 3 (an unquoted comma?)"]
    assert len(out.frame) == 1


def test_whole_file_with_swapped_lonlat_is_swapped_back_with_a_note():
    gdf = _frame([{"category": "public_order"}] * 3,
                 [shapely.Point(60.15, 24.92), shapely.Point(60.16, 24.97), shapely.Point(60.2, 24.95)])
    out = _incidents(gdf)
    assert not out.rejects
    assert any("swapped throughout the file" in n for n in out.notes)
    assert shapely.get_x(out.frame.geometry.array).tolist() == [24.92, 24.97, 24.95]


def test_single_swapped_row_is_rejected():
    gdf = _frame([{"category": "public_order"}] * 3,
                 [shapely.Point(24.92, 60.15), shapely.Point(60.16, 24.97), shapely.Point(24.93, 60.16)])
    out = _incidents(gdf)
    assert [str(r) for r in out.rejects] == ["row 2, geometry: lon/lat look swapped"]
    assert not any("swapped" in n for n in out.notes) and len(out.frame) == 2


def test_swapped_row_in_china_without_jurisdiction_is_rejected_not_a_crs_error():
    gdf = _frame([{"category": "public_order"}] * 3,
                 [shapely.Point(116.40, 39.91), shapely.Point(39.92, 116.41), shapely.Point(116.42, 39.93)],
                 crs=None)
    out = _incidents(gdf, src_crs=None, jurisdiction=None)
    assert [str(r) for r in out.rejects] == ["row 2, geometry: lon/lat look swapped"]


def test_gcj02_coordinates_are_converted_to_wgs84():
    glon, glat = 116.397241, 39.908401  # Tiananmen, as Amap gives it
    beijing = shapely.box(116.2, 39.7, 116.6, 40.1)
    gdf = _frame([{"category": "public_order"}], [shapely.Point(glon, glat)])
    out = _incidents(gdf, datum="gcj02", jurisdiction=beijing)
    p = out.frame.geometry.iloc[0]
    wlon, wlat = datum.gcj02_to_wgs84(glon, glat)
    assert (p.x, p.y) == pytest.approx((float(wlon), float(wlat)), abs=1e-9)
    assert p.x == pytest.approx(116.391, abs=2e-5) and p.y == pytest.approx(39.907, abs=2e-5)
    assert any("GCJ02" in n for n in out.notes)


def test_bad_category_is_rejected_naming_the_row_and_value():
    gdf = _frame([{"category": "public_order.theft"}, {"category": "disputes"}, {"category": "theft"}],
                 [shapely.Point(24.92, 60.15)] * 3)
    out = _incidents(gdf)
    assert [str(r) for r in out.rejects] == ["row 3, category: 'theft' is not in the taxonomy"]


def test_naive_time_is_utc_offsets_are_converted_and_empty_is_unknown():
    gdf = _frame([{"category": "disputes", "reported_at": t} for t in
                  ("2026-11-01T08:00:00", "2026-11-01T08:00:00+08:00", "", "2026/11/01 08:00", "yesterday")],
                 [shapely.Point(24.92, 60.15)] * 5)
    out = _incidents(gdf)
    times = out.frame["reported_at"].tolist()
    assert times[0] == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert times[1] == datetime(2026, 11, 1, 0, tzinfo=UTC)
    assert times[2] is None and times[3] == times[0]
    assert [str(r) for r in out.rejects] == ["row 5, reported_at: not a valid datetime: 'yesterday'"]


def test_defaults_types_choices_and_limits_per_field():
    rows = [{"category": "disputes", "status": None, "priority": None, "count": "3", "simulated": "是"},
            {"category": "disputes", "status": "finished", "priority": "high", "count": "2.5", "simulated": "maybe"},
            {"category": "disputes", "status": "closed", "priority": "urgent", "count": "-1", "simulated": "0"},
            {"category": "", "status": "closed", "priority": "normal", "count": "1", "simulated": "1",
             "source": "x" * 40}]
    out = _incidents(_frame(rows, [shapely.Point(24.92, 60.15)] * 4))
    assert [str(r) for r in out.rejects] == [
        "row 2, count: not a valid int: '2.5'",
        "row 2, simulated: not a valid bool: 'maybe'",
        ("row 2, status: 'finished' is not one of reported, registered, dispatched, in_progress, "
         "handled, closed, voided"),
        "row 3, count: -1 is below 0",
        "row 4, category: required but empty",
        "row 4, source: longer than 32 characters (40)"]
    first = out.frame.iloc[0]
    assert (first["status"], first["priority"], first["count"], first["simulated"]) == ("reported", "normal", 3, True)


def test_mapping_constants_and_their_errors():
    gdf = _frame([{"kind": "public_order", "note": "n"}], [shapely.Point(24.92, 60.15)])
    out = _incidents(gdf, mapping={"category": "kind"}, constants={"simulated": True, "source": "hotline"})
    row = out.frame.iloc[0]
    assert (row["category"], row["simulated"], row["source"]) == ("public_order", True, "hotline")
    assert list(out.frame.columns) == [c.name for c in spec("incidents").columns] + ["geometry", "_row"]
    with pytest.raises(ValueError, match="no field 'cat'"):
        _incidents(gdf, mapping={"category": "cat"})
    with pytest.raises(ValueError, match="no column 'colour'"):
        _incidents(gdf, constants={"colour": "red"})
    with pytest.raises(ValueError, match="--set priority='asap'"):
        _incidents(gdf, mapping={"category": "kind"}, constants={"priority": "asap"})


def test_outside_jurisdiction_and_out_of_range_rows_are_rejected():
    gdf = _frame([{"category": "disputes"}] * 3,
                 [shapely.Point(24.92, 60.15), shapely.Point(30.0, 61.0), shapely.Point(200.0, 95.0)])
    out = _incidents(gdf)
    assert [str(r) for r in out.rejects] == [
        "row 2, geometry: outside the jurisdiction (the loaded districts)",
        "row 3, geometry: coordinates out of range (lon -180..180, lat -90..90): 200, 95"]


def test_invalid_polygon_is_repaired_with_a_note_and_stored_as_multipolygon():
    bowtie = shapely.Polygon([(24.90, 60.10), (24.95, 60.15), (24.95, 60.10), (24.90, 60.15), (24.90, 60.10)])
    square = shapely.box(24.95, 60.10, 25.0, 60.15)
    line = shapely.LineString([(24.9, 60.1), (24.95, 60.12)])
    gdf = _frame([{"code": "G1", "name": "a"}, {"code": "G2", "name": "b"}, {"code": "G3", "name": "c"}],
                 [square, bowtie, line])
    out = prepare(gdf, "grids", src_crs=gdf.crs)
    assert [str(r) for r in out.rejects] == ["row 3, geometry: expected a polygon, got a line"]
    note = next(n for n in out.notes if n.startswith("repaired invalid geometry"))
    assert "rows 2 (Self-intersection" in note and "MultiPolygon" in note
    geoms = out.frame.geometry
    assert geoms.geom_type.tolist() == ["MultiPolygon", "MultiPolygon"] and geoms.is_valid.all()


def test_grid_households_in_the_file_are_ignored():
    gdf = _frame([{"code": "G1", "name": "a", "households": 400, "population": 1200}],
                 [shapely.box(24.9, 60.1, 24.95, 60.15)])
    out = prepare(gdf, "grids", src_crs=gdf.crs)
    assert "households" not in out.frame.columns
    assert any("households, population in the file not imported" in n for n in out.notes)


def test_key_place_polygon_becomes_a_point_inside_it():
    l_shape = shapely.Polygon([(24.90, 60.10), (24.96, 60.10), (24.96, 60.11), (24.91, 60.11),
                               (24.91, 60.16), (24.90, 60.16)])
    gdf = _frame([{"name": "school", "category": "school"}], [l_shape])
    out = prepare(gdf, "key_places", src_crs=gdf.crs, jurisdiction=HELSINKI)
    p = out.frame.geometry.iloc[0]
    assert p.geom_type == "Point" and l_shape.contains(p)
    assert any("placed at a point inside them (rows 1)" in n for n in out.notes)


def test_multiline_street_is_split_and_measured_in_metres():
    a = shapely.LineString([(24.90, 60.10), (24.91, 60.10)])
    b = shapely.LineString([(24.95, 60.10), (24.95, 60.11)])  # not touching a: cannot merge
    gdf = _frame([{"name": "Mannerheimintie", "length_m": 999.0}, {"name": "short"}],
                 [shapely.MultiLineString([a, b]), shapely.LineString([(24.9, 60.2), (24.9, 60.201)])])
    out = prepare(gdf, "streets", src_crs=gdf.crs)
    assert out.frame.geom_type.tolist() == ["LineString"] * 3
    assert out.frame["_row"].tolist() == [1, 1, 2]
    lengths = out.frame["length_m"].astype(float).tolist()
    assert lengths[0] == pytest.approx(555, rel=0.01)   # 0.01 deg of lon at 60 N
    assert lengths[1] == pytest.approx(1113, rel=0.01)  # 0.01 deg of lat
    assert lengths[2] == pytest.approx(111, rel=0.02)
    assert any("split into single lines (rows 1)" in n for n in out.notes)


def test_readers_number_features_from_one_and_reject_unknown_types(tmp_path):
    gdf = read(DATA / "grids.geojson")
    assert gdf["_row"].tolist() == [1, 2] and gdf.crs.to_epsg() == 4326
    with pytest.raises(ReadError, match="unsupported file type .kml"):
        read(tmp_path / "x.kml")


def test_gpkg_with_several_layers_names_them(tmp_path):
    f = tmp_path / "two.gpkg"
    pts = _frame([{"category": "public_order"}], [shapely.Point(24.92, 60.15)]).drop(columns="_row")
    pts.to_file(f, layer="cases", driver="GPKG")
    pts.to_file(f, layer="other", driver="GPKG")
    with pytest.raises(ReadError, match=r"several layers \(cases, other\)"):
        read(f)
    assert read(f, gpkg_layer="cases")["category"].tolist() == ["public_order"]
    with pytest.raises(ReadError, match="no layer 'nope'"):
        read(f, gpkg_layer="nope")


def test_zipped_shapefile_is_read(tmp_path):
    shp = tmp_path / "pts.shp"
    _frame([{"category": "public_order"}] * 2, [shapely.Point(24.92, 60.15)] * 2).to_file(shp)
    archive = tmp_path / "pts.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(shp.with_suffix(f".{ext}"), f"inner/pts.{ext}")
    gdf = read(archive)
    assert len(gdf) == 2 and gdf["_row"].tolist() == [1, 2] and gdf.crs.to_epsg() == 4326


def test_every_layer_has_a_geometry_kind_and_typed_columns():
    assert set(LAYERS) == {"admin_areas", "grids", "base_units", "incidents", "key_places", "streets"}
    for s in LAYERS.values():
        assert s.geometry in ("polygon", "point", "line", "any")
        assert all(c.type in ("str", "int", "float", "bool", "datetime") for c in s.columns)


def test_csv_coordinate_columns_can_be_named_and_gb18030_is_read(tmp_path):
    f = tmp_path / "案件.csv"
    f.write_bytes("经度,纬度,类别\n116.40,39.91,治安\n".encode("gb18030"))
    with pytest.raises(ReadError, match="no lon column"):
        read(f)
    gdf = read(f, lon_col="经度", lat_col="纬度")
    assert (gdf.geometry.iloc[0].x, gdf.geometry.iloc[0].y) == (116.40, 39.91)
    assert gdf["类别"].tolist() == ["治安"] and gdf["_row"].tolist() == [2]
    assert gdf.attrs["notes"] == ["案件.csv read as GB18030 text"]
