"""Auto plan with minimise_disruption: grids already in band stay, the rest is rebuilt; the
plan stays contiguous, in band and tiling, and far fewer households change grid."""
from __future__ import annotations

import numpy as np
import shapely

from mapapp.grids.auto import redistrict, split_units, part_count
from mapapp.grids.auto_keep import keepable, match_origin, replan


def lattice(n: int = 30, seed: int = 1):
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    cells = shapely.box(i * 100, j * 100, i * 100 + 100, j * 100 + 100)
    current = (i // 3) * ((n + 2) // 3) + j // 3
    geoms = np.array([shapely.union_all(cells[current == g]) for g in range(current.max() + 1)], dtype=object)
    return shapely.box(0, 0, n * 100, n * 100), shapely.centroid(cells), \
        rng.integers(20, 61, n * n).astype(float), current, geoms


def changed_share(labels, current, hh):
    """Households whose grid changes, new grids matched one to one to current ones."""
    origin = match_origin(labels, current, hh, labels.max() + 1, np.unique(current))
    return hh[origin[labels] != current].sum() / hh.sum()


def test_keepable_needs_band_one_piece_and_inside():
    area = shapely.box(0, 0, 10, 10)
    geoms = np.array([shapely.box(0, 0, 5, 5), shapely.box(5, 5, 12, 10),
                      shapely.MultiPolygon([shapely.box(0, 6, 1, 7), shapely.box(2, 6, 3, 7)]),
                      shapely.box(5, 0, 10, 5)], dtype=object)
    assert keepable(geoms, np.array([400, 400, 400, 200.0]), area, 300, 500).tolist() == \
        [True, False, False, False]


def test_minimise_disruption_keeps_in_band_grids():
    area, pts, hh, current, cur_geoms = lattice()
    cur_hh = np.bincount(current, weights=hh)
    assert ((cur_hh < 300) | (cur_hh > 500)).sum() >= 5  # the current plan has grids to fix

    def split(region, idx):
        return split_units(region, pts[idx], hh[idx], part_count(hh[idx].sum(), 300, 500), band=(300, 500))
    res = replan(area, pts, hh, current, cur_geoms, 300, 500, split)
    assert ((res.households >= 300) & (res.households <= 500)).all(), res.households
    assert (shapely.get_type_id(res.geoms) == 3).all()
    assert abs(shapely.area(res.geoms).sum() - area.area) < 1e-3
    assert abs(shapely.union_all(res.geoms).area - area.area) < 1e-3
    assert shapely.contains(res.geoms[res.labels], pts).all()
    assert res.kept > 0 and (res.origin[:res.kept] >= 0).all()
    # every kept grid is the current grid, unchanged
    for g in range(res.kept):
        assert res.geoms[g].equals(cur_geoms[res.origin[g]])
    with_option = changed_share(res.labels, current, hh)
    without = changed_share(redistrict(area, pts, hh, 300, 500).labels, current, hh)
    assert with_option < without / 2, (with_option, without)
