"""Backtests of hot spot methods as the predictive-policing literature scores them: rank cells by a
method's score on the training period, flag the top share of the area, and count how many of the
next period's incidents fall in them. Hit rate, PAI (Chainey et al. 2008) and PEI* (Hunt 2016:
hits over the most any selection of that size could have caught). Pure numpy/scipy."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from mapapp.hotspots.gistar import gi_star_z

COVERAGES = (0.01, 0.05, 0.10, 0.20)


def selected(score: np.ndarray, coverage: float) -> np.ndarray:
    """Mask of the top ceil(coverage x cells) cells by score (ties: the earlier cell first)."""
    n = len(score)
    k = max(1, int(np.ceil(coverage * n - 1e-9)))
    order = np.lexsort((np.arange(n), -np.nan_to_num(score, nan=-np.inf)))
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def scores_at(score: np.ndarray, test: np.ndarray, coverages=COVERAGES) -> list[dict]:
    """Hit rate, PAI and PEI* of a score against the test counts, for equal-area cells."""
    total = test.sum()
    best = np.sort(test)[::-1]
    out = []
    for c in coverages:
        mask = selected(score, c)
        area_share = mask.mean()
        hits = test[mask].sum()
        most = best[:mask.sum()].sum()
        hit_rate = hits / total if total else float("nan")
        out.append({"coverage": c, "cells": int(mask.sum()), "area_share": float(area_share),
                    "hits": float(hits), "hit_rate": float(hit_rate),
                    "pai": float(hit_rate / area_share) if total else float("nan"),
                    "pei_star": float(hits / most) if most else float("nan")})
    return out


#: area shares at which the hit-rate curve is drawn
CURVE_COVERAGES = tuple(np.round(np.concatenate([np.arange(0.01, 0.1, 0.01), np.arange(0.1, 1.0001, 0.05)]), 2))


def curve(score: np.ndarray, test: np.ndarray, coverages=CURVE_COVERAGES) -> list[dict]:
    """Hit rate against area share when the top cells by score are flagged (the same ranking and
    rounding as `selected`), for the hit-rate curve; one sort, one cumulative sum."""
    n, total = len(score), test.sum()
    order = np.lexsort((np.arange(n), -np.nan_to_num(score, nan=-np.inf)))
    caught = np.cumsum(test[order])
    k = np.maximum(1, np.ceil(np.asarray(coverages) * n - 1e-9).astype(int))
    hit = caught[k - 1] / total if total else np.full(len(k), np.nan)
    return [{"coverage": float(c), "area_share": float(kk / n), "hit_rate": float(h)}
            for c, kk, h in zip(coverages, k, hit)]


def gaussian_weights(xy: np.ndarray, bandwidth: float) -> sparse.csr_matrix:
    """Gaussian kernel between cell centres up to 3 bandwidths (the cell with itself is 1)."""
    d = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), 3 * bandwidth, output_type="coo_matrix")
    w = sparse.coo_matrix((np.exp(-0.5 * (d.data / bandwidth) ** 2), (d.row, d.col)), shape=d.shape)
    return (w + sparse.identity(len(xy)) - sparse.diags(w.diagonal())).tocsr()


def kde_score(xy: np.ndarray, train: np.ndarray, bandwidth: float) -> np.ndarray:
    """Kernel density of the training counts at each cell centre."""
    return gaussian_weights(xy, bandwidth) @ train


def gistar_score(train: np.ndarray, w: sparse.spmatrix) -> np.ndarray:
    """Gi* z of the training counts."""
    return np.nan_to_num(gi_star_z(train, w), nan=0.0)


def prospective_score(xy: np.ndarray, cube: np.ndarray, spacing: float, radius: float) -> np.ndarray:
    """Prospective hot spotting (Bowers, Johnson & Pease 2004): each training event raises the
    risk of cells within `radius`, by 1 / (1 + distance in cells) x 1 / (1 + weeks ago);
    cube holds training counts per cell and step, the last column the most recent."""
    d = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), radius, output_type="coo_matrix")
    near = sparse.coo_matrix((1.0 / (1.0 + d.data / spacing), (d.row, d.col)), shape=d.shape)
    near = (near + sparse.identity(len(xy)) - sparse.diags(near.diagonal())).tocsr()
    age = np.arange(cube.shape[1])[::-1]
    recent = cube @ (1.0 / (1.0 + age))
    return near @ recent
