"""The choices of an "optimized" hot spot run, each with the reason a person can read: cell size
from the incidents' density, distance band from the first peak of incremental spatial
autocorrelation (global Moran's I z over increasing bands), as ArcGIS Optimized Hot Spot Analysis
does. Pure numpy/scipy."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

#: aim for about this many incidents per cell on average when choosing the cell size
INCIDENTS_PER_CELL = 5
MAX_CELLS = 20000
MIN_CELLS = 30
BAND_STEPS = 10


@dataclass(frozen=True)
class Choice:
    """A value chosen for the person, and why."""
    value: float
    reason: str


def nearest_neighbour_distances(xy: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest other point at a different location."""
    xy = np.unique(np.asarray(xy, dtype=float), axis=0)
    if len(xy) < 2:
        return np.zeros(0)
    d, _ = cKDTree(xy).query(xy, k=2)
    return d[:, 1]


def cell_area_to_size(cell_area: float, shape: str) -> float:
    """Edge length (hexagon, as ST_HexagonGrid takes it) or side (square) for a cell area in m²."""
    return math.sqrt(cell_area / (1.5 * math.sqrt(3))) if shape == "hex" else math.sqrt(cell_area)


def choose_cell_size(n_incidents: int, area_m2: float, nn_mean: float, shape: str) -> Choice:
    """About INCIDENTS_PER_CELL incidents a cell on average, between MIN_CELLS and MAX_CELLS
    cells over the area, and no finer than the incidents' mean nearest-neighbour distance."""
    cells = min(max(n_incidents / INCIDENTS_PER_CELL, MIN_CELLS), MAX_CELLS)
    size = cell_area_to_size(area_m2 / cells, shape)
    floor = nn_mean if shape == "square" else nn_mean / math.sqrt(3)
    size = max(size, floor, 10.0)
    size = float(round(size, 1 - int(math.floor(math.log10(size)))))  # two significant figures
    return Choice(size, (
        f"{'hexagon edge' if shape == 'hex' else 'square side'} {size:.0f} m: about "
        f"{INCIDENTS_PER_CELL} incidents per cell on average ({n_incidents} incidents over "
        f"{area_m2 / 1e6:.2f} km², {MIN_CELLS}–{MAX_CELLS} cells), not finer than the incidents' "
        f"mean nearest-neighbour distance of {nn_mean:.0f} m"))


def connecting_distance(xy: np.ndarray) -> float:
    """The smallest band that gives every cell at least one neighbour."""
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(d[:, 1].max())


def morans_i_z(y: np.ndarray, i: np.ndarray, j: np.ndarray) -> float:
    """Global Moran's I z-score (normality assumption) for symmetric binary weights given as
    pairs i < j (as esda.Moran(transform='B').z_norm, without building a W)."""
    n = len(y)
    z = y - y.mean()
    s0 = 2.0 * len(i)
    if s0 == 0 or not np.any(z):
        return float("nan")
    degree = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    moran = n / s0 * 2.0 * np.sum(z[i] * z[j]) / np.sum(z * z)
    expected = -1.0 / (n - 1)
    s1 = 2.0 * s0
    s2 = np.sum((2.0 * degree) ** 2)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected ** 2
    return float((moran - expected) / math.sqrt(variance))


def incremental_autocorrelation(xy: np.ndarray, y: np.ndarray, start: float, step: float,
                                steps: int = BAND_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Moran's I z at bands start, start + step, ...: pairs found once, thresholded per band."""
    bands = start + step * np.arange(steps)
    pairs = cKDTree(xy).query_pairs(bands[-1], output_type="ndarray")
    length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    order = np.argsort(length)
    pairs, length = pairs[order], length[order]
    ends = np.searchsorted(length, bands, side="right")
    zs = np.array([morans_i_z(y, pairs[:e, 0], pairs[:e, 1]) for e in ends])
    return bands, zs


def first_peak(z: np.ndarray) -> int | None:
    """Index of the first local maximum of z (a band whose z beats both neighbours), if any."""
    inner = np.nonzero((z[1:-1] > z[:-2]) & (z[1:-1] > z[2:]))[0]
    return int(inner[0] + 1) if len(inner) else None


def knn_average_distance(xy: np.ndarray, k: int) -> float:
    """Mean distance from a cell to its k-th nearest neighbour."""
    d, _ = cKDTree(xy).query(xy, k=k + 1)
    return float(d[:, -1].mean())


def choose_distance(xy: np.ndarray, y: np.ndarray) -> tuple[Choice, dict]:
    """Distance band at the first peak of Moran's I z, starting where every cell has a
    neighbour and stepping by the mean nearest-neighbour spacing; with no peak, the mean
    distance to K neighbours, K = 5 % of the cells between 3 and 30 (ArcGIS's rule)."""
    start = connecting_distance(xy)
    d, _ = cKDTree(xy).query(xy, k=2)
    step = float(d[:, 1].mean()) * 0.5
    bands, zs = incremental_autocorrelation(xy, y, start * 1.0001, step)
    profile = {"distances_m": [round(float(b), 1) for b in bands],
               "morans_i_z": [None if math.isnan(z) else round(float(z), 3) for z in zs]}
    peak = first_peak(np.nan_to_num(zs, nan=-np.inf))
    if peak is not None:
        return Choice(float(bands[peak]), (
            f"distance band {bands[peak]:.0f} m: first peak of spatial autocorrelation "
            f"(Moran's I z = {zs[peak]:.2f}) over {len(bands)} bands from {bands[0]:.0f} m "
            f"(every cell has a neighbour) in steps of {step:.0f} m")), profile
    k = int(min(max(round(0.05 * len(xy)), 3), 30, len(xy) - 1))
    dist = max(knn_average_distance(xy, k), start * 1.0001)
    return Choice(dist, (
        f"distance band {dist:.0f} m: no peak of spatial autocorrelation between {bands[0]:.0f} "
        f"and {bands[-1]:.0f} m, so the mean distance to {k} neighbours (5 % of the cells, "
        "3 to 30)")), profile
