"""Automatic redistricting of one community: recursive balanced bisection of its base units
(alternating the longer axis, so parts stay compact), then each grid is the union of its units'
Voronoi cells clipped to the community, so the grids tile it with no gap and no overlap.

Hand-written rather than spopt max-p: max-p has a floor but no ceiling on the band; bisection
lands every part within one unit of its share, which keeps the band both ways.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


class NoBalancedPlan(ValueError):
    """The community's households cannot be split into grids within the band."""


@dataclass(frozen=True)
class AutoResult:
    labels: np.ndarray        # part number per unit
    geoms: np.ndarray         # one grid geometry per part
    households: np.ndarray    # households per part


def part_count(total: float, low: float, high: float) -> int:
    """How many grids: the count whose mean is nearest the band's middle, mean inside the band."""
    k_min, k_max = int(np.ceil(total / high)), int(np.floor(total / low))
    if total <= 0 or k_min > k_max:
        raise NoBalancedPlan(f"{total:g} households cannot be split into grids of {low:g}-{high:g}")
    k = int(np.clip(round(total / ((low + high) / 2)), max(k_min, 1), k_max))
    return k


def bisect(xy: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k-1: split the units in two along the longer side of their extent at the
    weighted share k1/k, recursively; every part gets its share within one unit's weight."""
    labels = np.zeros(len(xy), dtype=int)
    stack = [(np.arange(len(xy)), k, 0)]
    while stack:
        idx, parts, first = stack.pop()
        if parts == 1:
            labels[idx] = first
            continue
        k1 = parts // 2
        span = xy[idx].max(axis=0) - xy[idx].min(axis=0)
        axis = int(np.argmax(span))
        order = idx[np.lexsort((xy[idx, 1 - axis], xy[idx, axis]))]
        cum = np.cumsum(weight[order])
        cut = int(np.argmin(np.abs(cum - cum[-1] * k1 / parts))) + 1
        cut = min(max(cut, k1), len(order) - (parts - k1))  # each side keeps a unit per part
        stack.append((order[:cut], k1, first))
        stack.append((order[cut:], parts - k1, first + k1))
    return labels


def redistrict(community: BaseGeometry, points: np.ndarray, households: np.ndarray,
               low: float, high: float, xy: np.ndarray | None = None) -> AutoResult:
    """Grids for one community from its base units' points and households; `xy` are the points
    in metres when the geometries are lon/lat (cut in metres, draw in the stored coordinates)."""
    hh = np.asarray(households, dtype=float)
    return split_units(community, points, hh, part_count(float(hh.sum()), low, high), xy)


def split_units(area: BaseGeometry, points: np.ndarray, households: np.ndarray, k: int,
                xy: np.ndarray | None = None) -> AutoResult:
    """k grids tiling `area`, balanced by households (also the one-click repair: k=2 over two
    neighbouring grids)."""
    pts = np.asarray(points, dtype=object)
    hh = np.asarray(households, dtype=float)
    if len(pts) < k:
        raise NoBalancedPlan(f"{len(pts)} base units cannot make {k} grids")
    labels = bisect(shapely.get_coordinates(pts) if xy is None else np.asarray(xy, dtype=float), hh, k)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=area))
    # voronoi cells come in no fixed order: match each unit to the cell that contains it
    unit_idx, cell_idx = shapely.STRtree(cells).query(pts, predicate="within")
    cell_label = np.full(len(cells), -1)
    cell_label[cell_idx] = labels[unit_idx]
    cells = shapely.intersection(cells, area)
    cell_label, geoms = _make_contiguous(cells, cell_label, k)
    unit_cell = np.empty(len(pts), dtype=int)
    unit_cell[unit_idx] = cell_idx
    labels = cell_label[unit_cell]
    return AutoResult(labels=labels, geoms=geoms, households=np.bincount(labels, weights=hh, minlength=k))


def _unions(cells: np.ndarray, cell_label: np.ndarray, k: int) -> np.ndarray:
    return np.array([shapely.coverage_union_all(cells[cell_label == p]) for p in range(k)], dtype=object)


def _make_contiguous(cells: np.ndarray, cell_label: np.ndarray, k: int,
                     rounds: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A bisection cut through a ragged edge can strand a cell or two: hand every piece but the
    largest of a part to the neighbouring part it shares the longest border with."""
    geoms = _unions(cells, cell_label, k)
    tree = shapely.STRtree(cells)
    for _ in range(rounds):
        broken = np.flatnonzero(shapely.get_num_geometries(geoms) > 1)
        if len(broken) == 0:
            break
        for p in broken:
            pieces = shapely.get_parts(geoms[p])
            for piece in pieces[np.argsort(-shapely.area(pieces))[1:]]:
                border = shapely.length(shapely.intersection(geoms, piece.boundary))
                border[p] = -1
                inside = tree.query(shapely.buffer(piece, -1e-6), predicate="intersects")
                inside = inside[cell_label[inside] == p]
                cell_label[inside] = int(np.argmax(border))
        geoms = _unions(cells, cell_label, k)
    return cell_label, geoms
