"""Kernel density of incidents as a raster for a heat layer: points binned on a fine grid, then
smoothed with a Gaussian of the bandwidth (binned KDE; scipy.ndimage does the convolution, which
is what scipy.stats.gaussian_kde would do point by point, far slower on a million points)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter


@dataclass(frozen=True)
class Density:
    """Incidents per km² on a raster: values[row, col], row 0 at the top (north)."""
    values: np.ndarray
    bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy in metres
    cell: float
    bandwidth: float


def silverman_bandwidth(xy: np.ndarray) -> float:
    """Silverman's rule of thumb for a 2-D Gaussian kernel, on the mean standard deviation."""
    n = len(xy)
    sd = float(np.mean(xy.std(axis=0, ddof=1)))
    return sd * n ** (-1.0 / 6.0)


def kde(xy: np.ndarray, bounds: tuple[float, float, float, float], bandwidth: float,
        cell: float, weights: np.ndarray | None = None) -> Density:
    """Gaussian kernel density (incidents per km²) on cells of `cell` metres over `bounds`."""
    minx, miny, maxx, maxy = bounds
    nx = max(1, int(np.ceil((maxx - minx) / cell)))
    ny = max(1, int(np.ceil((maxy - miny) / cell)))
    counts, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=(ny, nx), weights=weights,
                                  range=((miny, miny + ny * cell), (minx, minx + nx * cell)))
    smooth = gaussian_filter(counts, sigma=bandwidth / cell, mode="constant", truncate=4.0)
    per_km2 = smooth / (cell * cell) * 1e6
    return Density(per_km2[::-1], (minx, miny, minx + nx * cell, miny + ny * cell), cell, bandwidth)
