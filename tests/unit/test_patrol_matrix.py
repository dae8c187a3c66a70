"""Writing pgRouting's cost rows into a matrix and choosing which vertices to route again."""
from __future__ import annotations

import numpy as np

from mapapp.patrol.matrix import cover_missing, put_costs


def test_rows_land_by_vertex_id_mirrored_or_transposed():
    uniq = np.array([3, 10, 42])
    full = np.full((3, 3), np.inf)
    put_costs(full, uniq, [(3, 42, 5.0), (10, 3, 7.0)])
    assert full[0, 2] == 5.0 and full[1, 0] == 7.0 and np.isinf(full[2, 0])
    put_costs(full, uniq, [(42, 10, 2.0)], mirror=True)
    assert full[2, 1] == full[1, 2] == 2.0
    put_costs(full, uniq, [(3, 10, 9.0)], transpose=True)
    assert full[1, 0] == 9.0 and np.isinf(full[0, 1])
    put_costs(full, uniq, [])
    assert np.isfinite(full).sum() == 4


def test_one_cut_off_vertex_is_all_that_needs_routing_again():
    missing = np.zeros((6, 6), bool)
    missing[4, :] = missing[:, 4] = True
    missing[4, 4] = False
    assert cover_missing(missing) == [4]


def test_the_cover_touches_every_missing_pair():
    rng = np.random.default_rng(7)
    missing = rng.random((30, 30)) < 0.05
    chosen = cover_missing(missing)
    left = missing.copy()
    left[chosen, :] = left[:, chosen] = False
    assert chosen and not left.any() and len(chosen) < 30
    assert cover_missing(np.zeros((4, 4), bool)) == []
