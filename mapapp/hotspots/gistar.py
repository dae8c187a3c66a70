"""Getis-Ord Gi* hot spots: spatial weights, the analytic z and p, Benjamini-Hochberg q-values and
the -3..3 confidence bins. Pure numpy/scipy, vectorised; no database, no Flask.

The analytic z is the one esda.G_Local(star=True) computes (its `Zs`) and the one ArcGIS Pro's
Hot Spot Analysis reports; it is hand-written here because esda builds a libpysal W object per
call (slow on 40,000 cells) while the statistic itself is one sparse product. The weights are
binary with the cell itself included (the "star")."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

#: confidence levels of the bins: |bin| 3, 2, 1 at 99, 95, 90 %
BIN_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))


@dataclass(frozen=True)
class GiStar:
    """Per-cell result: z, two-sided p, FDR q, bin -3..3, neighbours (self excluded)."""
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    neighbours: np.ndarray


def distance_weights(xy: np.ndarray, distance: float) -> sparse.csr_matrix:
    """Binary weights: 1 for every pair of points within `distance` (metres), self included."""
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(distance, output_type="ndarray")
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def knn_weights(xy: np.ndarray, k: int) -> sparse.csr_matrix:
    """Binary weights: each point's k nearest other points (rows, not symmetrised), self included."""
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    k = min(k, n - 1)
    _, idx = cKDTree(xy).query(xy, k=k + 1)
    idx = idx.reshape(n, k + 1)
    others = idx != np.arange(n)[:, None]
    keep = others & (np.cumsum(others, axis=1) <= k)
    rows = np.concatenate([np.nonzero(keep)[0], np.arange(n)])
    cols = np.concatenate([idx[keep], np.arange(n)])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def gi_star_z(y: np.ndarray, w: sparse.spmatrix) -> np.ndarray:
    """Analytic Gi* z-scores (Ord & Getis 1995) for values y and weights w with the diagonal set.

    z_i = (sum_j w_ij y_j - ybar W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1))), with W_i the row sum,
    S1_i the row sum of squared weights and S the population standard deviation of y."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = sparse.csr_matrix(w)
    ybar = y.mean()
    s = np.sqrt((y ** 2).mean() - ybar ** 2)
    wsum = np.asarray(w.sum(axis=1)).ravel()
    s1 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w @ y - ybar * wsum) / (s * np.sqrt((n * s1 - wsum ** 2) / (n - 1)))


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value of z (as ArcGIS reports it; esda's p_norm is one-sided)."""
    return 2.0 * norm.sf(np.abs(z))


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values: q_(i) = min over j >= i of p_(j) m / j, capped at 1.

    A cell has q <= alpha exactly when BH at level alpha rejects it (same as
    statsmodels.multipletests(method='fdr_bh'), which mapapp does not otherwise need)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(adjusted, 1.0)
    return q


def confidence_bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Bins -3..3: sign of z times 3, 2, 1 where p < 0.01, 0.05, 0.10 (0 otherwise).

    Pass q-values as p for the FDR-corrected bins, as ArcGIS does with its FDR option."""
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    level = np.zeros(len(z), dtype=int)
    for value, cutoff in reversed(BIN_LEVELS):
        level[p < cutoff] = value
    return (np.sign(np.nan_to_num(z)) * level).astype(int)


def gi_star(y: np.ndarray, w: sparse.spmatrix, *, fdr: bool = True) -> GiStar:
    """Gi* for counts y on weights w: z, p, q and the bins (from q when fdr, else from p)."""
    z = gi_star_z(y, w)
    p = two_sided_p(z)
    q = bh_qvalues(p)
    neighbours = np.diff(sparse.csr_matrix(w).indptr) - (sparse.csr_matrix(w).diagonal() != 0)
    return GiStar(z=z, p=p, q=q, bin=confidence_bins(z, q if fdr else p), neighbours=neighbours)


def permutation_p(y: np.ndarray, w: sparse.spmatrix, permutations: int, seed: int = 0,
                  budget: int = 10_000_000) -> np.ndarray:
    """Pseudo p-values of Gi* by conditional permutation, as esda.G_Local(star=True) computes
    its p_sim: cell i keeps its own value and its w_i neighbour slots are filled with values of
    the other n - 1 cells drawn without replacement (one draw of max w_i indices per permutation,
    shared by all cells, as esda's crand does); p = (extreme + 1) / (permutations + 1), extreme
    counted on the side of the observed value. Binary weights (self included) are assumed.
    The smallest possible p is 1 / (permutations + 1). Vectorised over chunks of cells, each
    holding at most `budget` drawn values (80 MB) whatever the band and permutations."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = sparse.csr_matrix(w)
    observed = w @ y
    k = np.diff(w.indptr) - (w.diagonal() != 0)
    kmax = int(k.max()) if n else 0
    p = np.ones(n)
    if kmax == 0:
        return p
    rng = np.random.default_rng(seed)
    # one draw per permutation (a loop over permutations, not cells): O(kmax) memory each
    draws = np.stack([rng.choice(n - 1, kmax, replace=False) for _ in range(permutations)])
    chunk = max(1, budget // (permutations * kmax))
    for start in range(0, n, chunk):
        cells = np.arange(start, min(n, start + chunk))
        # index m among the others is cell m, or m + 1 from the cell itself on
        others = draws[None, :, :] + (draws[None, :, :] >= cells[:, None, None])
        sums = np.cumsum(y[others], axis=2)
        kc = k[cells]
        simulated = y[cells, None] + np.where(
            kc[:, None] > 0, np.take_along_axis(sums, np.maximum(kc - 1, 0)[:, None, None], axis=2)[:, :, 0], 0.0)
        larger = (simulated >= observed[cells, None]).sum(axis=1)
        larger = np.minimum(larger, permutations - larger)
        p[cells] = (larger + 1.0) / (permutations + 1.0)
    return p
