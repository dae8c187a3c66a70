"""Optimized-mode choices: Moran's I z equals esda's, the first peak, sizes and their reasons."""
import math

import numpy as np
from esda.moran import Moran
from libpysal.weights import DistanceBand
from scipy.spatial import cKDTree

from mapapp.hotspots.optimize import (cell_area_to_size, choose_cell_size, choose_distance,
                                      first_peak, morans_i_z)


def test_morans_i_z_equals_esda():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 3000, size=(400, 2))
    y = rng.poisson(4, 400).astype(float) + (xy[:, 0] < 800) * 5
    pairs = cKDTree(xy).query_pairs(350.0, output_type="ndarray")
    w = DistanceBand(xy, threshold=350.0, binary=True, silence_warnings=True)
    expected = Moran(y, w, transformation="B", permutations=0).z_norm
    assert math.isclose(morans_i_z(y, pairs[:, 0], pairs[:, 1]), expected, abs_tol=1e-9)


def test_first_peak():
    assert first_peak(np.array([1.0, 2.0, 3.0, 2.5, 4.0])) == 2
    assert first_peak(np.array([1.0, 2.0, 3.0])) is None


def test_cell_size_aims_at_five_per_cell_and_says_why():
    # 10 km² and 10,000 incidents -> 2,000 cells of 5,000 m² each
    choice = choose_cell_size(10_000, 1e7, 3.0, "square")
    assert choice.value == 71.0 and "5 incidents per cell" in choice.reason
    hexa = choose_cell_size(10_000, 1e7, 3.0, "hex")
    assert abs(1.5 * math.sqrt(3) * hexa.value ** 2 - 5000) < 400
    assert math.isclose(cell_area_to_size(1.5 * math.sqrt(3) * 100 ** 2, "hex"), 100)
    # sparse incidents: never finer than their mean spacing
    assert choose_cell_size(40, 1e6, 400.0, "square").value == 400.0


def test_distance_band_peaks_at_the_planted_scale():
    # a lattice with blobs of radius ~3 cells: autocorrelation z first peaks at a band below the
    # last one, and the band chosen connects every cell
    ix, iy = np.meshgrid(np.arange(40), np.arange(40))
    xy = np.column_stack([ix.ravel(), iy.ravel()]) * 100.0
    rng = np.random.default_rng(2)
    y = rng.poisson(2, len(xy)).astype(float)
    for cx, cy in ((1000, 1000), (3000, 2500), (1500, 3200)):
        y += 8 * (np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) < 300)
    choice, profile = choose_distance(xy, y)
    assert 100 <= choice.value <= max(profile["distances_m"])
    assert len(profile["morans_i_z"]) == 10 and "autocorrelation" in choice.reason
