"""`mapapp hotspots gistar` writes GeoJSON and GeoPackage with the same cells as the API."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
from click.testing import CliRunner

from mapapp.cli import main
from tests.db.test_hotspots_queries import area_db  # noqa: F401 -- the fixture


@pytest.fixture
def run(area_db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", area_db.url.render_as_string(hide_password=False))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_gistar_to_geojson_and_geopackage(run, tmp_path):
    r = run("hotspots", "gistar", str(tmp_path / "h.geojson"), "--area", "HS", "--size", "300")
    assert r.exit_code == 0, r.output
    fc = json.loads((tmp_path / "h.geojson").read_text())
    assert fc["meta"]["size_m"] == 300 and fc["meta"]["incidents"] == sum(
        f["properties"]["count"] for f in fc["features"])
    assert "chosen: distance band" in r.output and "cells from" in r.output
    r = run("hotspots", "gistar", str(tmp_path / "h.gpkg"), "--area", "HS", "--size", "300", "--no-fdr")
    assert r.exit_code == 0, r.output
    gdf = gpd.read_file(tmp_path / "h.gpkg")
    assert len(gdf) == len(fc["features"]) and {"count", "z", "p", "q", "bin"} <= set(gdf.columns)
    assert json.loads((tmp_path / "h.meta.json").read_text())["fdr"] is False


def test_gistar_bad_parameter_names_it(run, tmp_path):
    r = run("hotspots", "gistar", str(tmp_path / "h.geojson"), "--area", "HS", "--size", "3")
    assert r.exit_code != 0 and "size must be between" in r.output
    r = run("hotspots", "gistar", str(tmp_path / "h.txt"), "--area", "HS", "--size", "300")
    assert r.exit_code != 0 and "write .geojson or .gpkg" in r.output
