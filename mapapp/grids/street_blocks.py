"""Street blocks as base units: the community cut by its street network (shapely polygonize of
the noded street lines and the community boundary), each block carrying its buildings'
households, so grids made of whole blocks have boundaries that run along streets. A block that
alone holds more than the band's top is split by its buildings' Voronoi cells instead (reported).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from mapapp.grids.auto import AutoResult, NoBalancedPlan, _pieces, assemble, part_count


@dataclass(frozen=True)
class BlockResult:
    result: AutoResult        # labels per building, grid geometries, households per grid
    blocks: int               # street blocks in the area
    empty_blocks: int         # blocks with no building (joined to a neighbouring grid)
    split_blocks: np.ndarray  # blocks over the band's top, split by their buildings (polygons)
    split_households: np.ndarray  # households in each split block


def blocks(area: BaseGeometry, streets: np.ndarray) -> np.ndarray:
    """The polygons the street lines cut `area` into (they tile it: the area's own boundary is
    one of the noded lines, and pieces in its holes are dropped)."""
    lines = shapely.intersection(np.asarray(streets, dtype=object), area)
    noded = shapely.union_all(np.r_[lines, [shapely.boundary(area)]])  # union nodes the lines
    cells = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    cells = cells[shapely.get_type_id(cells) == 3]
    return cells[shapely.contains_properly(area, shapely.point_on_surface(cells))]


def block_of(cells: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the block each point lies in (a point on a street: the first block it touches;
    outside every block: the nearest)."""
    pi, bi = shapely.STRtree(cells).query(points, predicate="intersects")
    home = np.full(len(points), -1)
    home[pi[::-1]] = bi[::-1]
    lost = np.flatnonzero(home < 0)
    if len(lost):
        li, lb = shapely.STRtree(cells).query_nearest(points[lost], return_distance=False)
        home[lost[li]] = lb
    return home


def redistrict_blocks(area: BaseGeometry, streets: np.ndarray, points: np.ndarray,
                      households: np.ndarray, low: float, high: float,
                      to_xy: Callable[[np.ndarray], np.ndarray] = shapely.get_coordinates,
                      deadline: float | None = None) -> BlockResult:
    """Grids for one community as unions of whole street blocks, in band where the blocks allow;
    `to_xy` gives points' coordinates in metres (cuts are balanced in metres)."""
    pts = np.asarray(points, dtype=object)
    hh = np.asarray(households, dtype=float)
    k = part_count(float(hh.sum()), low, high)
    cells = blocks(area, streets)
    if len(cells) == 0:
        raise NoBalancedPlan("the street network cuts the area into no block")
    home = block_of(cells, pts)
    block_hh = np.bincount(home, weights=hh, minlength=len(cells))
    counts = np.bincount(home, minlength=len(cells))
    big = np.flatnonzero((block_hh > high) & (counts > 1))
    whole = np.flatnonzero((counts > 0) & ~np.isin(np.arange(len(cells)), big))
    empty = np.flatnonzero(counts == 0)
    # units: whole blocks first, then the buildings of split blocks; pieces own units by index
    unit_of_block = np.full(len(cells), -1)
    unit_of_block[whole] = np.arange(len(whole))
    pieces = [cells[whole], cells[empty]]
    owner = [np.arange(len(whole)), np.full(len(empty), -1)]
    unit_hh = [block_hh[whole]]
    unit_xy = [to_xy(shapely.point_on_surface(cells[whole]))]
    building_unit = np.where(np.isin(home, whole), unit_of_block[home], -1)
    n_units = len(whole)
    for b in big:  # few blocks: a loop over them, each a Voronoi split of its own buildings
        mine = np.flatnonzero(home == b)
        sub, sub_owner = _pieces(cells[b], pts[mine])
        pieces.append(sub)
        owner.append(np.where(sub_owner >= 0, sub_owner + n_units, -1))
        unit_hh.append(hh[mine])
        unit_xy.append(to_xy(pts[mine]))
        building_unit[mine] = n_units + np.arange(len(mine))
        n_units += len(mine)
    if n_units < k:
        raise NoBalancedPlan(f"{n_units} street blocks with buildings cannot make {k} grids")
    res = assemble(np.concatenate(pieces), np.concatenate(owner), np.concatenate(unit_hh),
                   np.concatenate(unit_xy), k, (low, high), deadline,
                   noded=len(big) == 0)  # a split block's cells do not share its neighbours' vertices
    return BlockResult(result=AutoResult(labels=res.labels[building_unit], geoms=res.geoms,
                                         households=res.households),
                       blocks=len(cells), empty_blocks=len(empty), split_blocks=cells[big],
                       split_households=block_hh[big])
