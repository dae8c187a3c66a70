"""Auto plan that changes the current plan as little as it can: every current grid that is in
band, one piece and inside the community is kept as it is; only the rest of the community is
redistricted. When a leftover region cannot make grids in band (too few or too many households
for the band), the kept grids bordering it are released into it and it is redistricted again.
New grids are matched one to one to the current grids they take most households from
(Hungarian assignment), so units keep their grid's code where the band allows."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment
from shapely.geometry.base import BaseGeometry

from mapapp.grids.auto import AutoResult, NoBalancedPlan

Splitter = Callable[[BaseGeometry, np.ndarray], AutoResult]  # (region, unit indices) -> grids


@dataclass(frozen=True)
class KeepResult:
    labels: np.ndarray      # grid per unit
    geoms: np.ndarray       # grid geometries
    households: np.ndarray  # households per grid
    origin: np.ndarray      # the current grid each grid continues, or -1
    kept: int               # current grids kept unchanged
    time_limit_reached: bool


def keepable(geoms: np.ndarray, households: np.ndarray, area: BaseGeometry, low: float,
             high: float, tolerance: float = 1e-6) -> np.ndarray:
    """Current grids that may stay as they are: in band, one polygon (a multipolygon of one part
    as stored), inside `area` (all but a `tolerance` share of their area)."""
    g = np.asarray(geoms, dtype=object)
    outside = shapely.area(shapely.difference(g, area))
    return ((households >= low) & (households <= high) & np.isin(shapely.get_type_id(g), [3, 6])
            & (shapely.get_num_geometries(g) == 1)
            & (outside <= tolerance * shapely.area(g)))


def match_origin(labels: np.ndarray, current: np.ndarray, households: np.ndarray, k: int,
                 candidates: np.ndarray) -> np.ndarray:
    """For each of k new grids, the current grid (among `candidates`) it continues: a one-to-one
    assignment keeping the most households in their grid; -1 where none is matched."""
    origin = np.full(k, -1)
    cand = np.asarray(candidates, dtype=int)
    if len(cand) == 0 or k == 0:
        return origin
    col = np.full(max(int(current.max()) + 1, cand.max() + 1, 1), -1)
    col[cand] = np.arange(len(cand))
    ok = (current >= 0) & (col[np.maximum(current, 0)] >= 0)
    table = np.zeros((k, len(cand)))
    np.add.at(table, (labels[ok], col[current[ok]]), households[ok] + 1e-9)
    r, c = linear_sum_assignment(-table)
    hit = table[r, c] > 0
    origin[r[hit]] = cand[c[hit]]
    return origin


def replan(area: BaseGeometry, points: np.ndarray, households: np.ndarray, current: np.ndarray,
           current_geoms: np.ndarray, low: float, high: float, split: Splitter,
           deadline: float | None = None) -> KeepResult:
    """Grids for `area`: keepable current grids kept, the regions between them split by
    `split`; current[u] is unit u's current grid (index into current_geoms) or -1."""
    pts = np.asarray(points, dtype=object)
    hh = np.asarray(households, dtype=float)
    cur_geoms = np.asarray(current_geoms, dtype=object)
    n_cur = len(cur_geoms)
    ok = current >= 0
    cur_hh = np.bincount(current[ok], weights=hh[ok], minlength=n_cur)
    keep = keepable(cur_geoms, cur_hh, area, low, high) if n_cur else np.zeros(0, dtype=bool)
    cache: dict[bytes, AutoResult] = {}
    late = False
    while True:
        late = deadline is not None and time.perf_counter() > deadline
        kept_idx = np.flatnonzero(keep)
        kept_geoms = shapely.intersection(cur_geoms[kept_idx], area)
        in_kept = np.isin(current, kept_idx) & shapely.intersects(
            shapely.union_all(kept_geoms), pts) if len(kept_idx) else np.zeros(len(pts), dtype=bool)
        free = shapely.difference(area, shapely.union_all(kept_geoms)) if len(kept_idx) else area
        parts = shapely.get_parts(free)
        parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)]
        free_units = np.flatnonzero(~in_kept)
        part_of = np.full(len(pts), -1)
        if len(parts) and len(free_units):
            ui, pi = shapely.STRtree(parts).query(pts[free_units], predicate="intersects")
            part_of[free_units[ui[::-1]]] = pi[::-1]
        results, release = [], np.zeros(n_cur, dtype=bool)
        for p, part in enumerate(parts):  # the few regions left between kept grids
            idx = np.flatnonzero(part_of == p)
            if len(idx) == 0:
                results.append((part, idx, None))
                continue
            key = shapely.to_wkb(part)
            res, err = cache.get(key), None
            if res is None:
                try:
                    res = cache[key] = split(part, idx)
                except NoBalancedPlan as exc:
                    err = exc
            bad = err is not None or _avoidable(res, hh[idx], low, high)
            if bad and not late:
                border = shapely.length(shapely.intersection(shapely.boundary(kept_geoms), part))
                release[kept_idx[border > 0]] = True
            if err is not None and not release.any():
                raise err
            results.append((part, idx, res))
        if release.any() and not late:
            keep &= ~release
            continue
        break
    return _compose(pts, hh, current, cur_geoms, kept_idx, kept_geoms, in_kept, results, late)


def _avoidable(res: AutoResult, hh: np.ndarray, low: float, high: float) -> bool:
    """Whether a region's grids are out of band other than because one unit alone is over."""
    out = (res.households < low) | (res.households > high)
    forced = np.isin(np.arange(len(res.households)), res.labels[hh > high])
    return bool((out & ~forced).any())


def _compose(pts, hh, current, cur_geoms, kept_idx, kept_geoms, in_kept, results, late) -> KeepResult:
    """Kept grids then each region's new grids; empty regions join the grid they border most."""
    geoms = list(kept_geoms)
    labels = np.full(len(pts), -1)
    kept_pos = np.full(max(len(cur_geoms), 1), -1)
    kept_pos[kept_idx] = np.arange(len(kept_idx))
    labels[in_kept] = kept_pos[current[in_kept]]
    empties = []
    for part, idx, res in results:
        if res is None:
            empties.append(part)
            continue
        labels[idx] = res.labels + len(geoms)
        geoms += list(res.geoms)
    geoms = np.array(geoms, dtype=object)
    lost = np.flatnonzero(labels < 0)  # a unit of a kept grid whose point the clip left out
    if len(lost):
        labels[lost] = shapely.STRtree(geoms).query_nearest(pts[lost], return_distance=False)[1]
    for part in empties:  # slivers between kept grids: a short loop over few pieces
        border = shapely.length(shapely.intersection(shapely.boundary(geoms), part))
        g = int(np.argmax(border)) if border.max() > 0 else int(np.argmin(shapely.distance(geoms, part)))
        geoms[g] = shapely.union(geoms[g], part)
    k = len(geoms)
    origin = match_origin(labels, current, hh, k, np.setdiff1d(np.unique(current[current >= 0]), kept_idx))
    origin[:len(kept_idx)] = kept_idx
    return KeepResult(labels=labels, geoms=geoms, households=np.bincount(labels, weights=hh, minlength=k),
                      origin=origin, kept=len(kept_idx), time_limit_reached=late)
