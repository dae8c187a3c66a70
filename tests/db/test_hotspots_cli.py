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


def test_clusters_to_geojson_with_counts(run, tmp_path):
    r = run("hotspots", "clusters", str(tmp_path / "c.geojson"), "--area", "HS", "--eps", "400",
            "--minpoints", "4")
    assert r.exit_code == 0, r.output
    fc = json.loads((tmp_path / "c.geojson").read_text())
    meta = fc["meta"]
    assert meta["clusters"] == len(fc["features"]) > 0 and meta["eps_m"] == 400
    counts = [f["properties"]["count"] for f in fc["features"]]
    assert counts == sorted(counts, reverse=True) and sum(counts) == meta["clustered"]
    assert "DBSCAN (eps 400 m" in r.output and f"{meta['clusters']} clusters" in r.output
    r = run("hotspots", "clusters", str(tmp_path / "c.geojson"), "--area", "HS", "--eps", "0")
    assert r.exit_code != 0 and "eps" in r.output


def test_emerging_to_geopackage_with_progress(run, tmp_path):
    r = run("hotspots", "emerging", str(tmp_path / "e.gpkg"), "--area", "HS", "--since", "2026-10-12",
            "--until", "2026-11-02", "--step", "day", "--size", "500")
    assert r.exit_code == 0, r.output
    gdf = gpd.read_file(tmp_path / "e.gpkg")
    meta = json.loads((tmp_path / "e.meta.json").read_text())
    assert meta["steps"] == 21 and len(gdf) > 10 and "category" in gdf.columns
    assert sum(meta["categories"].values()) == len(gdf)
    assert "space-time cube of 21 days" in r.output and "Mann-Kendall" in r.output and " s] " in r.output
    r = run("hotspots", "emerging", str(tmp_path / "e.gpkg"), "--area", "HS", "--since", "2026-10-30",
            "--until", "2026-11-01", "--step", "day")
    assert r.exit_code != 0 and "a trend needs at least" in r.output


def test_backtest_prints_the_table_with_progress(run, tmp_path):
    r = run("hotspots", "backtest", "--area", "HS", "--since", "2026-10-12", "--split", "2026-10-26",
            "--until", "2026-11-02", "--size", "500", "--json", str(tmp_path / "b.json"))
    assert r.exit_code == 0, r.output
    result = json.loads((tmp_path / "b.json").read_text())
    assert set(result["results"]) == set(result["curves"]) == {"gistar", "kde", "naive", "prospective"}
    lines = r.output.splitlines()
    naive = next(line for line in lines if line.startswith("naive"))
    assert f"{result['results']['naive'][0]['hit_rate']:.1%}" in naive
    assert "scoring Gi*, KDE" in r.output and "1% hit/PAI/PEI*" in r.output
    r = run("hotspots", "backtest", "--area", "HS", "--since", "2026-10-12", "--split", "2026-11-26",
            "--until", "2026-11-02")
    assert r.exit_code != 0 and "split must lie between" in r.output


def test_gistar_h3_with_permutations_states_the_fdr_caveat(run, tmp_path):
    r = run("hotspots", "gistar", str(tmp_path / "h.geojson"), "--area", "HS", "--cells", "h3",
            "--resolution", "8", "--permutations", "99", "--seed", "5")
    assert r.exit_code == 0, r.output
    fc = json.loads((tmp_path / "h.geojson").read_text())
    assert fc["meta"]["h3_resolution"] == 8 and fc["meta"]["permutations"] == 99
    assert min(f["properties"]["p"] for f in fc["features"]) >= 1 / 100
    assert "warning: p-values by 99 conditional permutations" in r.output and "FDR" in r.output
