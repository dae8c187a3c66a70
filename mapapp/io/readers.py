"""Read GeoJSON, GeoPackage, Shapefile (plain or zipped) and CSV with lon/lat columns into a
GeoDataFrame with `_row`: the row number a person finds in the file (CSV: its line number)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")


class ReadError(ValueError):
    """The file cannot be read as a layer; the message says why and what to do."""


def _pick(columns, names, explicit: str | None, what: str, path: Path) -> str:
    if explicit:
        if explicit not in columns:
            raise ReadError(f"{path.name}: no column {explicit!r} for {what}; columns are {', '.join(columns)}")
        return explicit
    lowered = {c.lower().strip(): c for c in columns}
    for n in names:
        if n in lowered:
            return lowered[n]
    raise ReadError(f"{path.name}: no {what} column (looked for {', '.join(names)}); "
                    f"name it with --map {what}=COLUMN")


def read_csv(path: Path, lon_col: str | None = None, lat_col: str | None = None) -> gpd.GeoDataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lon_name = _pick(df.columns, LON_NAMES, lon_col, "lon", path)
    lat_name = _pick(df.columns, LAT_NAMES, lat_col, "lat", path)
    lon = pd.to_numeric(df[lon_name].str.strip(), errors="coerce").to_numpy(float)
    lat = pd.to_numeric(df[lat_name].str.strip(), errors="coerce").to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    df = df.drop(columns=[lon_name, lat_name]).replace({"": None})
    out = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index), crs=None)
    out["_row"] = np.arange(len(df)) + 2  # line 1 is the header
    return out


def _zip_member(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        shps = [n for n in z.namelist() if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise ReadError(f"{path.name}: a zipped shapefile must hold exactly one .shp, found {len(shps)}")
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def read(path: Path, gpkg_layer: str | None = None, lon_col: str | None = None,
         lat_col: str | None = None) -> gpd.GeoDataFrame:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, lon_col, lat_col)
    if suffix in (".geojson", ".json", ".shp"):
        source = str(path)
    elif suffix == ".zip":
        source = _zip_member(path)
    elif suffix == ".gpkg":
        source = str(path)
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if gpkg_layer is None and len(layers) > 1:
            raise ReadError(f"{path.name} holds several layers ({', '.join(layers)}); choose one with --layer")
        if gpkg_layer is not None and gpkg_layer not in layers:
            raise ReadError(f"{path.name} has no layer {gpkg_layer!r}; layers are {', '.join(layers)}")
    else:
        raise ReadError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .geojson, "
                        ".gpkg, .shp, .zip (zipped shapefile) or .csv")
    try:
        gdf = pyogrio.read_dataframe(source, layer=gpkg_layer if suffix == ".gpkg" else None)
    except Exception as exc:  # noqa: BLE001 - GDAL's own words are the useful part
        raise ReadError(f"{path.name}: cannot read it: {exc}") from exc
    gdf["_row"] = np.arange(len(gdf)) + 1
    return gdf
