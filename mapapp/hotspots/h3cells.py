"""H3 cells (Uber's hexagonal index, the `h3` package 4.x) for hot spots: the resolution for a
cell size, each point's cell, the cells covering an area, and their centres and outlines.
Pure: no SQL. h3 has no array entry point, so points go through numpy's frompyfunc (a C loop
calling h3 per point, ~2 s for a million); the hexagon lattice (mapapp.hotspots.binning) is the
fast default."""
from __future__ import annotations

import json

import h3
import numpy as np
import shapely

RESOLUTIONS = range(0, 16)
_cell_of = np.frompyfunc(h3.api.basic_int.latlng_to_cell, 3, 1)


def resolution_for(size_m: float) -> int:
    """The H3 resolution whose average hexagon edge is nearest to `size_m` metres."""
    edges = np.array([h3.average_hexagon_edge_length(r, "m") for r in RESOLUTIONS])
    return int(np.argmin(np.abs(np.log(edges / size_m))))


def edge_length(resolution: int) -> float:
    """Average hexagon edge (metres) at a resolution."""
    return float(h3.average_hexagon_edge_length(resolution, "m"))


def cell_area(resolution: int) -> float:
    """Average hexagon area (m²) at a resolution."""
    return float(h3.average_hexagon_area(resolution, "m^2"))


def point_cells(lon: np.ndarray, lat: np.ndarray, resolution: int) -> np.ndarray:
    """The H3 cell (uint64) of each lon/lat point."""
    if not len(lon):
        return np.zeros(0, dtype=np.uint64)
    return _cell_of(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float),
                    resolution).astype(np.uint64)


def area_cells(area_wkb: bytes, resolution: int, mask: bool = True) -> np.ndarray:
    """Every cell overlapping the area (mask) or its bounding box, sorted."""
    geom = shapely.from_wkb(area_wkb)
    if not mask:
        geom = shapely.box(*geom.bounds)
    shape = h3.geo_to_h3shape(geom.__geo_interface__)
    cells = h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
    return np.unique(np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64))


def centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of each cell's centre."""
    latlng = np.array([h3.api.basic_int.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2)
    return latlng[:, 1], latlng[:, 0]


def outlines(cells: np.ndarray) -> list[str]:
    """Each cell's outline as a GeoJSON polygon (lon/lat, 6 decimals, closed ring)."""
    out = []
    for c in cells:
        ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.api.basic_int.cell_to_boundary(int(c))]
        out.append(json.dumps({"type": "Polygon", "coordinates": [ring + ring[:1]]}, separators=(",", ":")))
    return out


def ids(cells: np.ndarray) -> list[str]:
    """The cells' H3 strings."""
    return [h3.int_to_str(int(c)) for c in cells]
