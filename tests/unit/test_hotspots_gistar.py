"""Gi*, FDR and bins against esda's analytic G_Local (star=True), hand-checked BH and planted data."""
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from esda.getisord import G_Local
from libpysal.weights import KNN, DistanceBand, W

from mapapp.hotspots.gistar import (bh_qvalues, confidence_bins, distance_weights, gi_star,
                                    gi_star_z, knn_weights, two_sided_p)

MESA = Path(__file__).resolve().parents[2] / "geodata" / "mesa" / "crimes.shp"


def esda_z(y, w_sparse):
    """esda's analytic Gi* z on the same binary weights (diagonal removed, esda puts it back)."""
    off = w_sparse.tolil()
    off.setdiag(0)
    off = off.tocsr()
    off.eliminate_zeros()
    w = W.from_sparse(off)
    return G_Local(y, w, transform="B", star=True, permutations=0).Zs


def lattice(n_side=30, cell=100.0):
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    return np.column_stack([ix.ravel(), iy.ravel()]) * cell + cell / 2


def mesa_cells(size=150.0):
    """Mesa's 287 real crimes counted in square cells of `size` metres (UTM 12N), zeros included."""
    pts = gpd.read_file(MESA).to_crs(32612).geometry
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    i = ((x - x.min()) // size).astype(int)
    j = ((y - y.min()) // size).astype(int)
    counts = np.zeros((i.max() + 1, j.max() + 1))
    np.add.at(counts, (i, j), 1)
    gi, gj = np.meshgrid(np.arange(counts.shape[0]), np.arange(counts.shape[1]), indexing="ij")
    xy = np.column_stack([gi.ravel(), gj.ravel()]) * size + size / 2
    return xy, counts.ravel()


def test_z_equals_esda_on_synthetic_lattice_distance_and_knn():
    rng = np.random.default_rng(7)
    xy = lattice()
    y = rng.poisson(3, len(xy)).astype(float)
    y[:45] += 10  # a planted hot strip
    for w in (distance_weights(xy, 150.0), distance_weights(xy, 310.0), knn_weights(xy, 8)):
        np.testing.assert_allclose(gi_star_z(y, w), esda_z(y, w), rtol=0, atol=1e-9)


def test_z_equals_esda_on_real_mesa_crimes():
    xy, y = mesa_cells()
    assert y.sum() == 287 and (y == 0).sum() > 0
    for w in (distance_weights(xy, 350.0), knn_weights(xy, 6)):
        np.testing.assert_allclose(gi_star_z(y, w), esda_z(y, w), rtol=0, atol=1e-9)


def test_weights_match_libpysal():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 5000, size=(300, 2))
    band = DistanceBand(xy, threshold=600.0, binary=True, silence_warnings=True)
    mine = distance_weights(xy, 600.0).tolil()
    mine.setdiag(0)
    assert (mine.tocsr() != band.sparse).nnz == 0
    knn = KNN.from_array(xy, k=5)
    mine = knn_weights(xy, 5).tolil()
    mine.setdiag(0)
    assert (mine.tocsr() != knn.sparse).nnz == 0


def test_bh_hand_checked():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    # sorted: .005 .01 .03 .04 .5 -> *5/rank: .025 .025 .05 .05 .5 (already monotone)
    np.testing.assert_allclose(bh_qvalues(p), [0.025, 0.05, 0.05, 0.025, 0.5])
    # monotonicity step: p=(.02,.021) with m=2 -> .04 then .021 -> first becomes .021
    np.testing.assert_allclose(bh_qvalues(np.array([0.02, 0.021])), [0.021, 0.021])
    assert bh_qvalues(np.array([0.9, 0.95])).max() <= 1.0


def test_bins_match_confidence_thresholds():
    z = np.array([3.0, 2.2, 1.7, 1.0, -1.7, -2.2, -3.0])
    p = two_sided_p(z)
    assert confidence_bins(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3]
    # the thresholds themselves: just inside and just outside 90/95/99 %
    for zc, b in ((1.6449, 1), (1.9600, 2), (2.5759, 3)):
        assert confidence_bins(np.array([zc + 1e-3]), two_sided_p(np.array([zc + 1e-3])))[0] == b
        assert confidence_bins(np.array([zc - 1e-3]), two_sided_p(np.array([zc - 1e-3])))[0] == b - 1


def test_planted_cluster_is_found_and_uniform_has_nothing_after_fdr():
    rng = np.random.default_rng(42)
    xy = lattice(40)
    w = distance_weights(xy, 150.0)
    uniform = rng.poisson(5, len(xy)).astype(float)
    res = gi_star(uniform, w)
    assert (res.bin != 0).sum() == 0
    assert (gi_star(uniform, w, fdr=False).bin != 0).sum() > 0  # without FDR, noise "hot spots"
    planted = uniform.copy()
    centre = (np.abs(xy[:, 0] - 2050) < 160) & (np.abs(xy[:, 1] - 2050) < 160)
    planted[centre] += 12
    res = gi_star(planted, w)
    assert (res.bin[centre] == 3).all()
    assert (res.bin[~centre] > 0).sum() <= 16  # only the planted block's ring may light up


def test_neighbours_exclude_self_and_zero_variance_is_nan():
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [5000.0, 0.0]])
    res = gi_star(np.array([1.0, 2.0, 3.0]), distance_weights(xy, 150.0))
    assert res.neighbours.tolist() == [1, 1, 0]
    assert np.isnan(gi_star_z(np.ones(3), distance_weights(xy, 150.0))).all()


@pytest.mark.parametrize("k", [1, 4])
def test_knn_rows_have_k_neighbours(k):
    xy = lattice(5)
    assert (np.diff(knn_weights(xy, k).indptr) == k + 1).all()


def test_permutation_p_is_seeded_bounded_and_agrees_with_esda():
    from mapapp.hotspots.gistar import permutation_p

    rng = np.random.default_rng(1)
    xy = np.array([(i, j) for i in range(30) for j in range(30)], dtype=float)
    y = rng.poisson(3, len(xy)).astype(float)
    y[:40] += 8  # a planted hot corner
    w = distance_weights(xy, 1.5)
    p = permutation_p(y, w, 999, seed=3)
    assert p.min() >= 1 / 1000 and p.max() <= 1
    assert p[:10].max() == 1 / 1000  # nothing permuted beats the planted corner
    assert np.array_equal(p, permutation_p(y, w, 999, seed=3))
    assert not np.array_equal(p, permutation_p(y, w, 999, seed=4))
    esda = G_Local(y, DistanceBand(xy, threshold=1.5, binary=True, silence_warnings=True),
                   transform="B", star=True, permutations=999, seed=3).p_sim
    assert np.corrcoef(p, esda)[0, 1] > 0.98 and np.median(np.abs(p - esda)) < 0.02
