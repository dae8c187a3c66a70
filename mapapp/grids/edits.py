"""Pure geometry of plan edits: split a grid along a drawn line, merge grids, hierarchical codes."""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_by_line


class EditError(ValueError):
    """An edit that cannot be made, with the field at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def split(grid: BaseGeometry, line: BaseGeometry) -> tuple[BaseGeometry, BaseGeometry]:
    """Cut a grid in two along a line drawn across it; the larger piece comes first."""
    if line.geom_type != "LineString":
        raise EditError("the split line must be a LineString", "line")
    pieces = shapely.get_parts(split_by_line(shapely.make_valid(grid), line))
    pieces = pieces[shapely.get_type_id(pieces) == 3]
    if len(pieces) < 2:
        raise EditError("the line does not cross the grid from edge to edge", "line")
    order = np.argsort(-shapely.area(pieces))
    # more than two pieces (a line that crosses several times): the largest against the rest
    first = pieces[order[0]]
    rest = shapely.union_all(pieces[order[1:]])
    return first, rest


def merge(geoms: list[BaseGeometry], codes: list[str] | None = None) -> BaseGeometry:
    """Union of grids that share an edge; refuses grids that only touch or are apart, and says
    which grid is already in pieces when that is why the union would be."""
    arr = np.asarray(geoms, dtype=object)
    merged = shapely.union_all(arr)
    if shapely.get_num_geometries(merged) != 1 or merged.geom_type != "Polygon":
        pieces = shapely.get_num_geometries(arr)
        split = np.flatnonzero(pieces > 1)
        if len(split):
            k = int(split[0])
            name = codes[k] if codes else f"{k + 1} of the {len(arr)}"
            raise EditError(f"grid {name} is in {int(pieces[k])} pieces, so the merged grid would be in "
                            f"{shapely.get_num_geometries(merged)}", "codes")
        raise EditError("grids to merge must share an edge", "codes")
    return merged


def sequence_codes(community_code: str, centroids: np.ndarray, width: int = 3) -> list[str]:
    """Hierarchical codes community code + sequence, numbered north-west to south-east
    (rows of the centroids' latitude, then longitude) so neighbours get neighbouring numbers."""
    xy = np.asarray(centroids, dtype=float).reshape(-1, 2)
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], 3)))
    codes = np.empty(len(xy), dtype=object)
    codes[order] = [f"{community_code}{k + 1:0{width}d}" for k in range(len(xy))]
    return codes.tolist()


def paint(source: BaseGeometry, target: BaseGeometry, unit_points: np.ndarray,
          moved: np.ndarray) -> tuple[BaseGeometry, BaseGeometry]:
    """Move base units (their Voronoi cells among the source grid's units, clipped to the source
    grid) from source to target, so grids keep tiling with no gap or overlap."""
    pts = np.asarray(unit_points, dtype=object)
    if len(pts) < 2:
        region = source  # the only unit takes the whole grid with it
    else:
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=source))
        hit = shapely.STRtree(cells).query(pts[np.asarray(moved, dtype=bool)], predicate="intersects")[1]
        region = shapely.intersection(shapely.union_all(cells[np.unique(hit)]), source)
    new_source = shapely.difference(source, region)
    if new_source.is_empty or new_source.area == 0:
        raise EditError("a grid cannot give away all its base units; merge it instead", "unit_ids")
    return new_source, shapely.union(target, region)


def move_vertex(geoms: np.ndarray, old: tuple[float, float], new: tuple[float, float],
                tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Move the vertex at `old` to `new` in every grid that has one there (within `tol`), so a
    shared boundary moves on both sides and no gap or overlap opens; returns (moved mask, geoms)."""
    old_xy, new_xy = np.asarray(old, dtype=float), np.asarray(new, dtype=float)

    def shift(coords: np.ndarray) -> np.ndarray:
        hit = np.abs(coords - old_xy).max(axis=1) <= tol
        coords[hit] = new_xy
        return coords
    geoms = np.asarray(geoms, dtype=object)
    out = shapely.transform(geoms, shift)
    moved = ~shapely.equals_exact(out, geoms, tolerance=0)
    if not moved.any():
        raise EditError("no grid has a vertex there", "from")
    bad = moved & ~shapely.is_valid(out)
    if bad.any() or (shapely.area(out[moved]) <= 0).any():
        raise EditError("moving the vertex there makes a grid cross itself", "to")
    return moved, out
