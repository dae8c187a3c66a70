"""Plan export round trips: GeoJSON, GeoPackage, Shapefile, assignment CSV, evaluation JSON."""
from __future__ import annotations

import csv
import json

import geopandas as gpd
import pytest
import shapely

from mapapp.grids import queries as gq
from mapapp.grids.plan_export import export


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_grid_files_round_trip(city, db, tmp_path, suffix):
    path = tmp_path / f"plan{suffix}"
    with db.connect() as conn:
        assert export(conn, 1, path) == 2
        rows = gq.snapshot(conn, 1)
    back = gpd.read_file(path).sort_values("code").reset_index(drop=True)
    assert back.crs.to_epsg() == 4326
    assert back["code"].tolist() == [r["code"] for r in rows]
    assert back["name"].tolist() == [r["name"] for r in rows]
    assert back["staffing"].tolist() == [1, 1]
    assert back["community"].tolist() == ["910101001001", "910101001001"]
    for geom, r in zip(back.geometry, rows):
        assert shapely.equals_exact(shapely.normalize(shapely.from_geojson(r["geometry"])),
                                    shapely.normalize(shapely.multipolygons([geom]) if geom.geom_type == "Polygon"
                                                      else geom), tolerance=1e-9)


def test_assignment_csv_and_evaluation_json(city, db, tmp_path):
    with db.connect() as conn:
        assert export(conn, 1, tmp_path / "a.csv") == 3
        assert export(conn, 1, tmp_path / "plan.evaluation.json") == 2
    with (tmp_path / "a.csv").open(encoding="utf-8") as f:
        assignment = {int(r["unit_id"]): r["grid_code"] for r in csv.DictReader(f)}
    assert assignment == {1: "910101001001001", 2: "910101001001001", 3: "910101001001002"}
    ev = json.loads((tmp_path / "plan.evaluation.json").read_text(encoding="utf-8"))
    assert ev["check"]["ok"] and {p["key"] for p in ev["metrics"]["provenance"]} >= {"households", "reock"}
    with db.connect() as conn, pytest.raises(Exception, match="write .geojson"):
        export(conn, 1, tmp_path / "plan.txt")


def test_plan_commands(city, db, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mapapp.cli import main

    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    run = CliRunner()
    r = run.invoke(main, ["plan", "check", "1"])
    assert r.exit_code == 0 and json.loads(r.output)["summary"]["ok"]
    r = run.invoke(main, ["plan", "check", "2"])  # the draft's single grid holds all 450 households
    assert r.exit_code == 0
    r = run.invoke(main, ["plan", "export", "1", str(tmp_path / "p.gpkg")])
    assert r.exit_code == 0 and (tmp_path / "p.gpkg").exists()
    r = run.invoke(main, ["plan", "publish", "2"])  # 450 households in one grid: in band, clean
    assert r.exit_code == 0, r.output
    r = run.invoke(main, ["plan", "publish", "1"])  # east grid has 50 households: the gate refuses
    assert r.exit_code == 1 and "band" in r.output


def test_plan_auto_command(city, db, monkeypatch):
    from click.testing import CliRunner
    from sqlalchemy import text

    from mapapp.cli import main

    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    with db.begin() as conn:  # the city fixture inserts plans with explicit ids
        conn.execute(text("SELECT setval('grid_plans_id_seq', (SELECT max(id) FROM grid_plans))"))
    r = CliRunner().invoke(main, ["plan", "auto", "1", "--name", "cli auto", "--band", "100", "600"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.splitlines()[-1])
    assert out["report"]["band_violations"] == 0 and out["report"]["non_contiguous"] == 0
    with db.connect() as conn:
        assert gq.plan(conn, out["plan"])["name"] == "cli auto"
    r = CliRunner().invoke(main, ["plan", "auto", "1", "--name", "cli auto 2", "--band", "1000", "2000"])
    assert r.exit_code == 1 and "ceil(450/2000) = 1" in r.output
