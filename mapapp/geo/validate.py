"""Checks and repairs on coordinates and geometries, vectorised with numpy and shapely 2."""
from __future__ import annotations

import numpy as np
import shapely

_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def out_of_range(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Indices of coordinates that are missing or outside lon [-180, 180] / lat [-90, 90]."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    return np.flatnonzero(bad)


def _inside(lon, lat, bounds) -> np.ndarray:
    minx, miny, maxx, maxy = bounds
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def detect_swapped(lon: np.ndarray, lat: np.ndarray, bounds=None) -> tuple[bool, np.ndarray]:
    """(whole file swapped, mask of single rows that look swapped).

    A row looks swapped when its lat cannot be a latitude (|lat| > 90) but its lon can, or
    (given the jurisdiction's bounds) when it is outside them as given and inside them swapped.
    The whole file is swapped when most rows look swapped and more fit swapped than as given."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    rows = (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    straight = ~rows & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if bounds is not None:
        inside, inside_swapped = _inside(lon, lat, bounds), _inside(lat, lon, bounds)
        rows = rows | (~inside & inside_swapped)
        straight = inside
    whole = bool(lon.size) and rows.mean() > 0.5 and rows.sum() > straight.sum()
    return whole, rows


def repair(geoms) -> tuple[np.ndarray, dict[int, str]]:
    """Force 2D (dropping Z and M) and make invalid geometries valid with shapely.make_valid.

    Returns the geometries and, for each repaired position, what was wrong and what it became,
    e.g. {3: "Self-intersection at (0.5 0.5); now a MultiPolygon"}. Empty results are left for
    the caller to reject."""
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    present = ~shapely.is_missing(geoms)
    invalid = np.flatnonzero(present & ~shapely.is_valid(geoms))
    notes: dict[int, str] = {}
    if invalid.size:
        reasons = shapely.is_valid_reason(geoms[invalid])
        geoms = geoms.copy()
        # "structure" rebuilds polygons from their rings: it copes with rings that touch or
        # cross themselves and never mixes in stray lines
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        geoms[invalid] = fixed
        kinds = shapely.get_type_id(fixed)
        empty = shapely.is_empty(fixed)
        for pos, reason, kind, gone in zip(invalid, reasons, kinds, empty):
            reason = str(reason).replace("[", " at (").replace("]", ")")
            became = "nothing is left (degenerate)" if gone else f"now a {_TYPE_NAMES.get(kind, 'geometry')}"
            notes[int(pos)] = f"{reason}; {became}"
    return geoms, notes
