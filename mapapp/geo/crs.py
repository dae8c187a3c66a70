"""Coordinate reference systems: which one a file is in, and a metric one for measuring."""
from __future__ import annotations

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError

WGS84 = pyproj.CRS.from_epsg(4326)


def parse_crs(value: str) -> pyproj.CRS:
    """A CRS a person typed ("EPSG:2263", "ESRI:102649", a WKT or PROJ string)."""
    try:
        return pyproj.CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"--crs {value!r} is not a CRS pyproj knows (try EPSG:4326 or ESRI:102649)") from exc


def looks_like_lonlat(xy: np.ndarray) -> bool:
    """Most coordinates fit lon/lat, either way round (a swapped file is still lon/lat)."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return True
    ax, ay = np.abs(xy[:, 0]), np.abs(xy[:, 1])
    fits = ((ax <= 180) & (ay <= 90)) | ((ax <= 90) & (ay <= 180))
    return bool(fits.mean() > 0.5)


def resolve_crs(user_crs: str | None, file_crs, xy: np.ndarray | None = None) -> pyproj.CRS:
    """--crs wins over the file's own; a file with neither is taken as EPSG:4326 only when its
    coordinates `xy` (N x 2) look like lon/lat."""
    if user_crs:
        return parse_crs(user_crs)
    if file_crs is not None:
        return pyproj.CRS.from_user_input(file_crs)
    if xy is not None and looks_like_lonlat(xy):
        return WGS84
    raise ValueError("file has no CRS; pass --crs (its coordinates are not lon/lat, "
                     "e.g. --crs EPSG:32650 or --crs ESRI:102649)")


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The UTM zone containing a point: metres for lengths and areas in that city."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def project(geoms: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> np.ndarray:
    """Reproject an array of shapely geometries in one vectorised pass over all coordinates."""
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
