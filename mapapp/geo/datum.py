"""WGS84 <-> GCJ-02 <-> BD-09, vectorised over numpy arrays.

Written by hand: there is no well-kept PyPI library for it (the packages that exist are small,
unmaintained single-point scripts), and the algorithm is short. Sources:
- GCJ-02 ("Mars coordinates", GB 20263-2006 obfuscation): the widely published reimplementation
  of the leaked Chinese SDK transform, e.g. googollee/eviltransform (transform.go) and
  wandergis/coordtransform: Krasovsky 1940 ellipsoid (a = 6378245 m, e^2 = 0.00669342162296594323)
  and offset polynomials in (lon - 105, lat - 35). It has no closed-form inverse; gcj02_to_wgs84
  solves it by fixed-point iteration, which converges to millimetres in a few steps (the common
  one-step "subtract the offset" approximation is off by up to a few metres).
- BD-09: Baidu's rotation and shift of GCJ-02 (bd_encrypt/bd_decrypt with x_pi = pi * 3000 / 180),
  as published in the same references; bd_decrypt is itself approximate, so it is refined too.
Outside China (the usual bounding box, out_of_china) GCJ-02 equals WGS84.
"""
from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
DATUMS = ("wgs84", "gcj02", "bd09")


def out_of_china(lon, lat) -> np.ndarray:
    """The bounding-box rule of the published transform: no offset outside it."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _dlat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat to GCJ-02 (a few hundred metres of offset inside China)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _invert(forward, x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray,
            tolerance: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point inverse of `forward`: move the guess (gx, gy) until forward(guess) hits (x, y)."""
    for _ in range(max_iter):
        fx, fy = forward(gx, gy)
        dx, dy = fx - x, fy - y
        gx, gy = gx - dx, gy - dy
        if not (np.nanmax(np.abs(dx), initial=0.0) > tolerance
                or np.nanmax(np.abs(dy), initial=0.0) > tolerance):
            break
    return gx, gy


def gcj02_to_wgs84(lon, lat, tolerance: float = 1e-9, max_iter: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Iterative inverse: refine w until wgs84_to_gcj02(w) hits the input (1e-9 deg ~ 0.1 mm)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return _invert(wgs84_to_gcj02, lon, lat, lon.copy(), lat.copy(), tolerance, max_iter)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to Baidu's BD-09."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tolerance: float = 1e-9, max_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Baidu's BD-09 to GCJ-02: the published closed-form inverse (good to ~0.3 m), refined by
    the same fixed-point iteration as gcj02_to_wgs84."""
    blon, blat = np.asarray(lon, float), np.asarray(lat, float)
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, blon, blat, z * np.cos(theta), z * np.sin(theta), tolerance, max_iter)


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon, lat, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat given in `datum` ("wgs84", "gcj02" or "bd09") as WGS84."""
    if datum == "wgs84":
        return np.asarray(lon, float), np.asarray(lat, float)
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown datum {datum!r}; use one of {', '.join(DATUMS)}")
