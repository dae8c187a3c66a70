"""Emerging hot spots: a space-time cube of counts (cells x time steps), Gi* per step, the
Mann-Kendall trend of each cell's z-scores, and the 17 pattern categories as ArcGIS Pro's
Emerging Hot Spot Analysis defines them (including its 90 % rules). Pure numpy/scipy.

Hand-written because no maintained library offers these categories; the Mann-Kendall test is
short, and vectorised over cells here (pymannkendall works one series at a time)."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.stats import norm

from mapapp.hotspots.gistar import bh_qvalues, gi_star_z, two_sided_p

HOT_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
                "oscillating", "historical")
#: the 17 categories: eight hot, eight cold, and none
CATEGORIES = (tuple(f"{p}_hot_spot" for p in HOT_PATTERNS)
              + tuple(f"{p}_cold_spot" for p in HOT_PATTERNS) + ("no_pattern",))
MOST = 0.9  # "at least 90 % of the time steps"


def gi_star_cube(counts: np.ndarray, w: sparse.spmatrix) -> np.ndarray:
    """Gi* z for every cell and time step (counts: cells x steps); a step without variation is 0."""
    z = np.column_stack([gi_star_z(counts[:, t], w) for t in range(counts.shape[1])])
    return np.nan_to_num(z, nan=0.0)


def mann_kendall(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend z and two-sided p for each row of x (cells x steps), ties corrected."""
    x = np.asarray(x, dtype=float)
    n = x.shape[1]
    diff = x[:, None, :] - x[:, :, None]  # [c, i, j] = x_j - x_i
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    s = np.sign(diff)[:, upper].sum(axis=1)
    equal = (diff == 0).sum(axis=2)  # per element: how many values of its row equal it (itself too)
    ties = ((equal - 1) * (2 * equal + 5)).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.nan_to_num(z)
    return z, 2.0 * norm.sf(np.abs(z))


def significant_steps(z: np.ndarray, alpha: float = 0.1, fdr: bool = True) -> np.ndarray:
    """+1 hot / -1 cold / 0 per cell and step, at `alpha` on p (or on each step's BH q)."""
    p = two_sided_p(z)
    if fdr:
        p = np.column_stack([bh_qvalues(p[:, t]) for t in range(p.shape[1])])
    return np.sign(z) * (p < alpha)


def _pattern(state: np.ndarray, trend_z: np.ndarray, trend_sig: np.ndarray, side: int) -> np.ndarray:
    """Pattern index (into HOT_PATTERNS) for one side (+1 hot, -1 cold), -1 where none applies."""
    on = state == side
    other = state == -side
    steps = state.shape[1]
    last = on[:, -1]
    share = on.mean(axis=1)
    # length of the run of `on` that ends at the last step
    off_positions = np.where(~on, np.arange(steps), -1)
    trailing = steps - 1 - off_positions.max(axis=1)
    before_run = on[:, :-1].sum(axis=1) - (trailing - 1).clip(min=0)
    most = share >= MOST
    rising = trend_sig & (side * trend_z > 0)
    falling = trend_sig & (side * trend_z < 0)
    out = np.full(len(state), -1)
    rules = [  # first that holds wins; the order makes them exclusive
        (last & (on[:, :-1].sum(axis=1) == 0), "new"),
        (last & (trailing >= 2) & (before_run == 0) & ~most, "consecutive"),
        (last & most & rising, "intensifying"),
        (last & most & falling, "diminishing"),
        (last & most, "persistent"),
        (last & ~most & other[:, :-1].any(axis=1), "oscillating"),
        (last & ~most, "sporadic"),
        (~last & most, "historical"),
    ]
    for mask, name in reversed(rules):
        out[mask] = HOT_PATTERNS.index(name)
    return out


def classify(z: np.ndarray, *, alpha: float = 0.1, fdr: bool = True,
             trend_alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category (index into CATEGORIES) per cell from its Gi* z series (cells x steps), with the
    Mann-Kendall trend z and p of that series."""
    state = significant_steps(z, alpha, fdr)
    trend_z, trend_p = mann_kendall(z)
    sig = trend_p < trend_alpha
    hot = _pattern(state, trend_z, sig, 1)
    cold = _pattern(state, trend_z, sig, -1)
    last = state[:, -1]
    category = np.full(len(z), CATEGORIES.index("no_pattern"))
    # the side of the last step decides; otherwise whichever side has a (historical) pattern
    use_cold = (cold >= 0) & ((last < 0) | (hot < 0))
    use_hot = (hot >= 0) & ~use_cold
    category[use_hot] = hot[use_hot]
    category[use_cold] = len(HOT_PATTERNS) + cold[use_cold]
    return category, trend_z, trend_p
