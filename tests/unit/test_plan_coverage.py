"""Coverage check on planted problems, in metres: two 1 km x 1 km communities side by side."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import box

from mapapp.grids.coverage import CheckOptions, PlanLayers, check

A, B = box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)


def layers(grids: list[tuple[str, object, int]], units: list[tuple[float, float, int]] = ()) -> PlanLayers:
    return PlanLayers(
        grid_codes=np.array([g[0] for g in grids], dtype=object),
        grid_geoms=np.array([g[1] for g in grids], dtype=object),
        grid_community=np.array([g[2] for g in grids]),
        community_ids=np.array([1, 2]), community_codes=np.array(["A", "B"], dtype=object),
        community_geoms=np.array([A, B], dtype=object),
        unit_ids=np.arange(1, len(units) + 1),
        unit_geoms=np.array([shapely.Point(x, y).buffer(2) for x, y, _ in units], dtype=object),
        unit_households=np.array([h for _, _, h in units], dtype=int))


def found(table: dict, kind: str) -> list[dict]:
    sel = table["kind"] == kind
    return [{"grid": g, "other": o, "community": c, "unit": u, "area": round(a, 1)}
            for g, o, c, u, a in zip(table["grid"][sel], table["other"][sel], table["community"][sel],
                                     table["unit"][sel], table["area"][sel])]


CLEAN = [("A1", box(0, 0, 500, 1000), 1), ("A2", box(500, 0, 1000, 1000), 1), ("B1", B, 2)]


def test_clean_plan_has_no_problems_and_full_cover():
    table, summary = check(layers(CLEAN, [(100, 100, 40), (1500, 500, 60)]))
    assert len(table["kind"]) == 0
    assert summary["ok"] and summary["valid_coverage"]
    assert summary["area_covered_share"] == 1.0 and summary["households_covered_share"] == 1.0
    assert summary["jurisdiction_area_m2"] == 2_000_000 and summary["contiguous_grids"] == 3


def test_gap_found_with_its_area_and_community_and_unit_inside_unassigned():
    grids = [("A1", box(0, 0, 500, 1000), 1), ("A2", box(500, 0, 1000, 990), 1), ("B1", B, 2)]
    table, summary = check(layers(grids, [(100, 100, 30), (700, 995, 10)]))
    assert found(table, "gap") == [{"grid": None, "other": None, "community": "A", "unit": None,
                                    "area": 5000.0}]
    assert [p["unit"] for p in found(table, "unassigned_unit")] == [2]
    assert summary["area_covered_share"] == pytest.approx(1 - 5000 / 2_000_000)
    assert summary["households_covered_share"] == pytest.approx(0.75)
    assert not summary["ok"]


def test_overlap_found_with_area_and_unit_in_both_grids():
    grids = [("A1", box(0, 0, 510, 1000), 1), ("A2", box(500, 0, 1000, 1000), 1), ("B1", B, 2)]
    table, summary = check(layers(grids, [(505, 500, 20)]))
    assert found(table, "overlap") == [{"grid": "A1", "other": "A2", "community": None, "unit": None,
                                        "area": 10000.0}]
    assert found(table, "multiply_assigned_unit")[0]["grid"] == "A1"
    assert found(table, "multiply_assigned_unit")[0]["other"] == "A2"
    assert not summary["valid_coverage"]


def test_sliver_below_threshold():
    grids = [("A1", box(0, 0, 500, 1000), 1), ("A2", box(500, 0, 1000, 999.8), 1),
             ("A3", box(500, 999.8, 1000, 1000), 1), ("B1", B, 2)]
    table, _ = check(layers(grids), CheckOptions(sliver_m2=200))
    assert found(table, "sliver") == [{"grid": "A3", "other": None, "community": None, "unit": None,
                                       "area": 100.0}]
    table, _ = check(layers(grids), CheckOptions(sliver_m2=50))
    assert found(table, "sliver") == []


def test_grid_crossing_into_another_community():
    grids = [("A1", box(0, 0, 500, 1000), 1), ("A2", box(500, 0, 900, 1000), 1), ("B1", box(900, 0, 2000, 1000), 2)]
    table, _ = check(layers(grids))
    assert found(table, "crosses_community") == [{"grid": "B1", "other": None, "community": "A",
                                                  "unit": None, "area": 100000.0}]


def test_grid_outside_every_community():
    grids = CLEAN[:2] + [("B1", box(1000, 0, 2000, 1100), 2)]
    table, _ = check(layers(grids))
    assert found(table, "outside") == [{"grid": "B1", "other": None, "community": None, "unit": None,
                                        "area": 100000.0}]


def test_two_piece_grid_reports_the_smaller_piece():
    a1 = shapely.union(box(0, 0, 500, 500), box(500, 500, 1000, 800))
    a2 = shapely.union(box(500, 0, 1000, 500), box(0, 500, 500, 1000))
    grids = [("A1", a1, 1), ("A2", a2, 1), ("A3", box(500, 800, 1000, 1000), 1), ("B1", B, 2)]
    table, summary = check(layers(grids))
    assert sorted((p["grid"], p["area"]) for p in found(table, "detached_part")) == [
        ("A1", 150000.0), ("A2", 250000.0)]
    assert summary["contiguous_grids"] == 2
    assert found(table, "gap") == []


def test_hole_found_even_when_another_grid_fills_it():
    ring = shapely.difference(A, box(400, 400, 600, 600))
    grids = [("A1", ring, 1), ("A2", box(400, 400, 600, 600), 1), ("B1", B, 2)]
    table, summary = check(layers(grids))
    assert found(table, "hole") == [{"grid": "A1", "other": None, "community": None, "unit": None,
                                     "area": 40000.0}]
    assert found(table, "gap") == [] and summary["area_covered_share"] == 1.0


def test_invalid_geometry_reported_and_repaired_for_the_other_checks():
    bowtie = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])
    grids = [("A1", bowtie, 1), ("B1", B, 2)]
    table, _ = check(layers(grids))
    assert [p["grid"] for p in found(table, "invalid")] == ["A1"]
    assert found(table, "invalid")[0]["area"] == 500000.0
    assert sum(p["area"] for p in found(table, "gap")) == 500000.0


def test_mismatched_edges_drawn_when_asked():
    grids = [("A1", box(0, 0, 500, 1000), 1),
             ("A2", shapely.Polygon([(500, 0), (1000, 0), (1000, 1000), (500, 1000), (500.5, 500)]), 1),
             ("B1", B, 2)]
    table, _ = check(layers(grids), CheckOptions(edges=True, gap_width=1.0))
    assert {p["grid"] for p in found(table, "edge_mismatch")} == {"A1", "A2"}
