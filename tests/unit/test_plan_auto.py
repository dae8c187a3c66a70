"""Automatic redistricting on lattice fixtures: every grid contiguous, in band, tiling the community."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from mapapp.grids.auto import NoBalancedPlan, part_count, redistrict
from mapapp.grids.coverage import CheckOptions, PlanLayers, check


def lattice(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pts = shapely.points(i.ravel() * 100 + 50, j.ravel() * 100 + 50)
    return shapely.box(0, 0, n * 100, n * 100), pts, rng.integers(20, 61, n * n)


@pytest.mark.parametrize("n", [10, 40])
def test_auto_plan_in_band_contiguous_and_tiling(n):
    community, pts, hh = lattice(n)
    res = redistrict(community, pts, hh, 300, 500)
    assert ((res.households >= 300) & (res.households <= 500)).all()
    assert res.households.sum() == hh.sum()
    assert (shapely.get_type_id(res.geoms) == 3).all()  # one polygon each: contiguous
    layers = PlanLayers(grid_codes=np.array([f"G{k}" for k in range(len(res.geoms))], dtype=object),
                        grid_geoms=res.geoms, grid_community=np.ones(len(res.geoms), dtype=int),
                        community_ids=np.array([1]), community_codes=np.array(["C"], dtype=object),
                        community_geoms=np.array([community], dtype=object), unit_ids=np.arange(len(pts)),
                        unit_geoms=pts, unit_households=hh)
    table, summary = check(layers, CheckOptions(sliver_m2=0))
    assert summary["ok"], {k: v for k, v in summary["problems"].items() if v}
    # each unit lies in the grid of its label
    assert (shapely.contains(res.geoms[res.labels], pts)).all()


def test_part_count_and_impossible_band():
    assert part_count(4000, 300, 500) == 10
    with pytest.raises(NoBalancedPlan):
        part_count(250, 300, 500)


def test_sample_city_communities_in_band_and_contiguous():
    """The Helsinki sample's buildings (estimated households, up to 437 in one building):
    every community's grids come out in band, one piece each, holding all its households."""
    import geopandas as gpd
    from pathlib import Path

    from mapapp.geo.crs import utm_crs_for
    root = Path(__file__).resolve().parents[2] / "geodata" / "helsinki"
    crs = utm_crs_for(24.95, 60.17)
    areas = gpd.read_file(root / "admin_areas.geojson").to_crs(crs)
    units = gpd.read_file(root / "base_units.geojson").to_crs(crs)
    pts = units.geometry.representative_point().values
    comms = areas[areas.level == "community"]
    assert len(comms) == 6
    for geom in comms.geometry:
        mine = shapely.within(pts, geom)
        res = redistrict(geom, pts[mine], units.households.values[mine], 300, 500)
        assert ((res.households >= 300) & (res.households <= 500)).all(), res.households
        assert res.households.sum() == units.households.values[mine].sum()
        assert (shapely.get_type_id(res.geoms) == 3).all()
        assert shapely.contains(res.geoms[res.labels], pts[mine]).all()


def test_infeasible_band_says_the_arithmetic():
    with pytest.raises(NoBalancedPlan, match=r"ceil\(520/500\) = 2 .* floor\(520/300\) = 1"):
        part_count(520, 300, 500)
