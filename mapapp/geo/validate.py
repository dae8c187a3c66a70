"""Checks and repairs on coordinates and geometries, vectorised with numpy and shapely 2."""
from __future__ import annotations

import numpy as np
import shapely


def out_of_range(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a coordinate is missing or outside lon [-180, 180] / lat [-90, 90]."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)


def _inside(lon, lat, bounds) -> np.ndarray:
    minx, miny, maxx, maxy = bounds
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def swapped_file(lon: np.ndarray, lat: np.ndarray, bounds) -> bool:
    """Most points fall outside the jurisdiction's bounds but inside them with x and y swapped."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if lon.size == 0 or bounds is None:
        return False
    straight, swapped = _inside(lon, lat, bounds).mean(), _inside(lat, lon, bounds).mean()
    return swapped > 0.5 and swapped > straight


def swapped_rows(lon: np.ndarray, lat: np.ndarray, bounds) -> np.ndarray:
    """Single rows that are outside as given but inside (or only valid) when swapped."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    impossible = (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    if bounds is None:
        return impossible
    return impossible | (~_inside(lon, lat, bounds) & _inside(lat, lon, bounds))


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Force 2D and make invalid geometries valid. Returns (geometries, repaired mask)."""
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    present = ~shapely.is_missing(geoms)
    invalid = present & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        # "structure" rebuilds polygons from their rings: it copes with rings that touch or
        # cross themselves and never mixes in stray lines
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return geoms, invalid
