"""POST /api/plans/<id>/auto options against the test city in PostGIS: validation names the
field, minimise_disruption keeps grids already in band, follow_streets draws grids along
streets, time_limit is reported."""
from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from tests.web.test_plans import EAST, WEST, planner, post  # noqa: F401  (fixture)

# the community is 24.940-24.950 x 60.160-60.170; a second street at lon 24.945 makes four blocks
STREETS_SQL = """
INSERT INTO streets (name, class, length_m, geom) VALUES
 ('Cross street', 'secondary', 1110.0,
  ST_SetSRID(ST_MakeLine(ST_MakePoint(24.945, 60.155), ST_MakePoint(24.945, 60.175)), 4326));
DELETE FROM base_units;
INSERT INTO base_units (kind, households, population, estimated, geom) VALUES
 ('building', 150, 260, true, ST_Buffer(ST_SetSRID(ST_MakePoint(24.942, 60.162), 4326), 0.0002)),
 ('building', 120, 210, true, ST_Buffer(ST_SetSRID(ST_MakePoint(24.942, 60.168), 4326), 0.0002)),
 ('building', 100, 170, true, ST_Buffer(ST_SetSRID(ST_MakePoint(24.948, 60.168), 4326), 0.0002));
"""


@pytest.mark.parametrize("body, field", [
    ({"band": [300]}, "band"),
    ({"time_limit": 0}, "time_limit"),
    ({"time_limit": "ten"}, "time_limit"),
    ({"time_limit": 10_000}, "time_limit"),
    ({"minimise_disruption": "yes"}, "minimise_disruption"),
    ({"follow_streets": 1}, "follow_streets"),
    ({"keep_locked": None}, "keep_locked"),
    ({"respect_communities": False}, "respect_communities"),
    ({"colour": "red"}, "colour"),
])
def test_bad_options_are_400_naming_the_field(planner, body, field):  # noqa: F811
    r = post(planner, "/api/plans/1/auto", {"name": "x", **body})
    assert r.status_code == 400 and r.get_json()["field"] == field, r.get_json()


def test_minimise_disruption_keeps_grids_in_band(planner, db):  # noqa: F811
    # West holds 400 households, East 50: with band 40-450 both are in band and stay as they are
    r = post(planner, "/api/plans/1/auto", {"name": "keep", "band": [40, 450], "minimise_disruption": True,
                                            "time_limit": 30})
    assert r.status_code == 201, r.get_json()
    rep = r.get_json()["report"]
    assert rep["kept_unchanged"] == 2 and rep["households_changed_share"] == 0
    assert rep["band_violations"] == 0 and rep["options"]["minimise_disruption"] is True
    assert rep["time_limit_reached"] is False
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT n.code, n.name, n.grid_head, ST_Equals(n.geom, o.geom) FROM grids n JOIN grids o "
            "ON o.plan_id = 1 AND o.code = n.code WHERE n.plan_id = :p ORDER BY n.code"),
            {"p": r.get_json()["plan"]}).all()
    assert [(c, same) for c, _, _, same in rows] == [(WEST, True), (EAST, True)]
    assert rows[0][2] == "Wang Wu"
    # without the option the whole community is redrawn (one grid of 450 fits the band)
    r = post(planner, "/api/plans/1/auto", {"name": "redo", "band": [40, 450]})
    assert r.get_json()["report"]["kept_unchanged"] == 0


def test_follow_streets_draws_grids_along_streets(planner, db):  # noqa: F811
    with db.begin() as conn:
        conn.execute(text(STREETS_SQL))
    r = post(planner, "/api/plans/1/auto", {"name": "streets", "band": [100, 300], "follow_streets": True})
    assert r.status_code == 201, r.get_json()
    rep = r.get_json()["report"]
    assert rep["grids"] == 2 and rep["band_violations"] == 0 and rep["non_contiguous"] == 0
    assert rep["split_blocks"] == []
    with db.connect() as conn:
        grids = [shapely.from_wkb(bytes(w)) for (w,) in conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM grids WHERE plan_id = :p"), {"p": r.get_json()["plan"]})]
        lines = [shapely.from_wkb(bytes(w)) for (w,) in conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM streets UNION ALL "
            "SELECT ST_AsBinary(ST_Boundary(geom)) FROM admin_areas WHERE id = 3"))]
    allowed = shapely.union_all(lines).buffer(1e-9)
    for g in grids:
        assert shapely.difference(g.boundary, allowed).length < 1e-9
    # the same band on buildings' Voronoi cells draws a boundary off the streets
    r = post(planner, "/api/plans/1/auto", {"name": "cells", "band": [100, 300]})
    with db.connect() as conn:
        grids = [shapely.from_wkb(bytes(w)) for (w,) in conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM grids WHERE plan_id = :p"), {"p": r.get_json()["plan"]})]
    assert max(shapely.difference(g.boundary, allowed).length for g in grids) > 1e-4


def test_cli_auto_options(city, db, monkeypatch):
    import json

    from click.testing import CliRunner

    from mapapp.cli import main
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    with db.begin() as conn:  # the city fixture inserts plans with explicit ids
        conn.execute(text("SELECT setval('grid_plans_id_seq', (SELECT max(id) FROM grid_plans))"))
    r = CliRunner().invoke(main, ["plan", "auto", "1", "--name", "cli keep", "--band", "40", "450",
                                  "--minimise-disruption", "--follow-streets", "--time-limit", "30"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output.splitlines()[-1])["report"]
    assert rep["kept_unchanged"] == 2 and rep["options"]["follow_streets"] is True
    r = CliRunner().invoke(main, ["plan", "auto", "1", "--name", "cli bad", "--time-limit", "0"])
    assert r.exit_code == 2 and "--time-limit" in r.output
