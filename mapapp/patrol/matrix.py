"""Travel-time matrices from pgRouting's rows (pure): rows written into a dense matrix, and the
few vertices whose missing pairs are worth routing again on the whole network."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def put_costs(full: np.ndarray, uniq: np.ndarray, rows: Sequence[tuple], mirror: bool = False,
              transpose: bool = False) -> None:
    """Write (start vertex, end vertex, seconds) rows into `full`, whose rows and columns are the
    sorted vertex ids `uniq`; `mirror` fills (end, start) too, `transpose` writes (end, start) only."""
    if not len(rows):
        return
    arr = np.asarray(rows, dtype=float)
    i = np.searchsorted(uniq, arr[:, 0].astype(np.int64))
    j = np.searchsorted(uniq, arr[:, 1].astype(np.int64))
    if transpose:
        i, j = j, i
    full[i, j] = arr[:, 2]
    if mirror:
        full[j, i] = arr[:, 2]


def cover_missing(missing: np.ndarray) -> list[int]:
    """Indices of a few vertices that between them touch every missing pair (greedy vertex cover).

    A vertex cut off from the rest misses a pair with every other vertex: it alone needs routing
    again, not all the others. One step per chosen vertex, each a vectorised count."""
    missing = np.asarray(missing, dtype=bool).copy()
    chosen: list[int] = []
    while missing.any():
        k = int(np.argmax(missing.sum(axis=0) + missing.sum(axis=1)))
        chosen.append(k)
        missing[k, :] = missing[:, k] = False
    return chosen
