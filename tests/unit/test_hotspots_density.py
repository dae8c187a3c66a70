"""Binned KDE: mass is kept, the peak sits on the planted point, the bandwidth rule is Silverman's."""
import numpy as np

from mapapp.hotspots.density import kde, silverman_bandwidth


def test_kde_keeps_mass_and_peaks_at_the_cluster():
    rng = np.random.default_rng(0)
    xy = np.vstack([rng.uniform(0, 2000, (200, 2)), rng.normal(1500, 30, (300, 2))])
    d = kde(xy, (0, 0, 2000, 2000), bandwidth=100.0, cell=20.0)
    assert d.values.shape == (100, 100)
    total = d.values.sum() * (20 * 20) / 1e6
    assert 470 < total < 500  # about 8 % of the uniform 200 leaks over the edge (sigma 100 m)
    row, col = np.unravel_index(d.values.argmax(), d.values.shape)
    x, y = col * 20 + 10, 2000 - (row * 20 + 10)  # row 0 is north
    assert abs(x - 1500) < 60 and abs(y - 1500) < 60


def test_silverman_bandwidth():
    xy = np.random.default_rng(1).normal(0, 100, (1000, 2))
    assert abs(silverman_bandwidth(xy) - 100 * 1000 ** (-1 / 6)) < 5
