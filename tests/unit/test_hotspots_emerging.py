"""Emerging hot spots: Mann-Kendall by hand, every one of the 17 categories on a planted series,
and a planted space-time cube through Gi*."""
import math

import numpy as np

from mapapp.hotspots.emerging import CATEGORIES, classify, gi_star_cube, mann_kendall
from mapapp.hotspots.gistar import distance_weights

H, C, O = 3.0, -3.0, 0.0  # significant hot, significant cold, nothing (|z| > 1.645 is 90 %)
PLANTED = {
    "new_hot_spot": [O] * 9 + [H],
    "consecutive_hot_spot": [O] * 7 + [H, H, H],
    "intensifying_hot_spot": list(np.linspace(2.0, 5.0, 10)),
    "persistent_hot_spot": [3.0, 3.2, 2.9, 3.1, 3.0, 3.2, 2.9, 3.1, 3.0, 3.05],
    "diminishing_hot_spot": list(np.linspace(5.0, 2.0, 10)),
    "sporadic_hot_spot": [H, O, O, H, O, H, O, O, O, H],
    "oscillating_hot_spot": [C, O, H, O, C, O, O, O, O, H],
    "historical_hot_spot": [H] * 9 + [O],
    "no_pattern": [O, H, O, O, O, O, O, O, O, O],
}
for name in list(PLANTED):
    if name.endswith("_hot_spot"):
        PLANTED[name.replace("_hot_", "_cold_")] = [-v for v in PLANTED[name]]


def test_mann_kendall_hand_checked():
    z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 1, 1, 1, 1.0]]))
    # S = 10, var = 5*4*15/18, z = (S - 1) / sqrt(var)
    assert math.isclose(z[0], 9 / math.sqrt(50 / 3)) and math.isclose(z[1], -z[0])
    assert z[2] == 0 and p[2] == 1
    # ties: [1, 1, 2]: S = 2, var = (3*2*11 - 2*1*9) / 18 = 8/3
    z, _ = mann_kendall(np.array([[1, 1, 2.0]]))
    assert math.isclose(z[0], 1 / math.sqrt(8 / 3))


def test_all_17_categories_on_planted_series():
    assert len(CATEGORIES) == 17 and set(PLANTED) == set(CATEGORIES)
    names = sorted(PLANTED)
    cat, _, _ = classify(np.array([PLANTED[n] for n in names]), fdr=False)
    assert [CATEGORIES[c] for c in cat] == names


def test_planted_cube_through_gi_star():
    # 20 x 20 lattice, 12 steps: a block that switches on in the last 3 steps (consecutive), one
    # that is hot throughout and grows (intensifying), and Poisson noise elsewhere
    rng = np.random.default_rng(9)
    ix, iy = np.meshgrid(np.arange(20), np.arange(20))
    xy = np.column_stack([ix.ravel(), iy.ravel()]) * 100.0
    counts = rng.poisson(2, (400, 12)).astype(float)
    late = (np.abs(xy[:, 0] - 400) <= 100) & (np.abs(xy[:, 1] - 400) <= 100)
    grows = (np.abs(xy[:, 0] - 1500) <= 100) & (np.abs(xy[:, 1] - 1500) <= 100)
    counts[late, 9:] += 15
    counts[grows] += 6 + np.arange(12) * 2.0
    z = gi_star_cube(counts, distance_weights(xy, 150.0))
    cat, _, _ = classify(z)
    names = np.array(CATEGORIES)[cat]
    assert (names[late & (xy[:, 0] == 400) & (xy[:, 1] == 400)] == "consecutive_hot_spot").all()
    assert (names[grows & (xy[:, 0] == 1500) & (xy[:, 1] == 1500)] == "intensifying_hot_spot").all()
    far = (np.hypot(xy[:, 0] - 400, xy[:, 1] - 400) > 500) & (np.hypot(xy[:, 0] - 1500, xy[:, 1] - 1500) > 500)
    assert (names[far] == "no_pattern").mean() > 0.8
