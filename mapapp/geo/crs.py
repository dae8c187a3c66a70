"""Coordinate reference systems: which one a file is in, and a metric one for measuring."""
from __future__ import annotations

import pyproj
from pyproj.exceptions import CRSError

WGS84 = pyproj.CRS.from_epsg(4326)


def parse_crs(value: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"--crs {value!r} is not a CRS pyproj knows (try EPSG:4326 or ESRI:102649)") from exc


def resolve_crs(user_crs: str | None, file_crs, bounds=None) -> pyproj.CRS:
    """--crs wins over the file's own; a file with neither is lon/lat only if it looks like it."""
    if user_crs:
        return parse_crs(user_crs)
    if file_crs is not None:
        return pyproj.CRS.from_user_input(file_crs)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
            return WGS84
    raise ValueError("the file has no CRS and its coordinates are not lon/lat; pass --crs (e.g. --crs EPSG:32650)")


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The UTM zone containing a point: metres for lengths and areas in that city."""
    zone = int((lon + 180) // 6) + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
