"""Read GeoJSON, GeoPackage, Shapefile (plain or zipped) and CSV with lon/lat columns into a
GeoDataFrame with `_row`: the row number a person finds in the file (CSV: its line number)."""
from __future__ import annotations

import csv
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


def _csv_records(path: Path) -> tuple[list[str], list[list[str]], list[int], str]:
    """Header, records and the line each record starts on (exact even with quoted line breaks
    and blank lines). UTF-8 first, then GB18030 (what Excel on a Chinese Windows writes)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with open(path, newline="", encoding=encoding) as f:
                reader = csv.reader(f)
                header = next(reader, None)
                records, lines = [], []
                start = reader.line_num + 1
                for rec in reader:
                    if any(cell.strip() for cell in rec):
                        records.append(rec)
                        lines.append(start)
                    start = reader.line_num + 1
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReadError(f"{path.name}: not UTF-8 or GB18030 text; save it as UTF-8 CSV")
    if not header:
        raise ReadError(f"{path.name}: empty file (a CSV needs a header line)")
    return [h.strip() for h in header], records, lines, encoding


def _coordinate(text: pd.Series, name: str) -> tuple[np.ndarray, pd.Series]:
    """Numbers from a coordinate column and, per row, why a cell is not one (or None)."""
    cleaned = text.fillna("").str.strip()
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    why = pd.Series([None] * len(text), index=text.index, dtype=object)
    why[bad & (cleaned == "").to_numpy()] = f"{name} is empty"
    other = bad & (cleaned != "").to_numpy()
    why[other] = [f"{name} {v!r} is not a number" for v in cleaned[other]]
    return values, why


def read_csv(path: Path, lon_col: str | None = None, lat_col: str | None = None) -> gpd.GeoDataFrame:
    """Points from lon/lat columns. A row whose coordinates are empty or not numbers gets no
    geometry and says why in `_geom_error`; a row with more cells than the header says so in
    `_row_error`; `_row` is the line number in the file."""
    header, records, lines, encoding = _csv_records(path)
    width = len(header)
    too_long = [f"{len(r)} fields but the header has {width} (an unquoted comma?)"
                if len(r) > width else None for r in records]
    records = [(r + [""] * width)[:width] for r in records]
    df = pd.DataFrame(records, columns=header, dtype=object)
    lon_name = _pick(df.columns, LON_NAMES, lon_col, "lon", path)
    lat_name = _pick(df.columns, LAT_NAMES, lat_col, "lat", path)
    lon, lon_why = _coordinate(df[lon_name], lon_name)
    lat, lat_why = _coordinate(df[lat_name], lat_name)
    ok = np.isfinite(lon) & np.isfinite(lat)
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    df = df.drop(columns=[lon_name, lat_name]).replace({"": None})
    out = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index), crs=None)
    out["_geom_error"] = lon_why.where(lon_why.notna(), lat_why)
    out["_row_error"] = pd.Series(too_long, index=df.index, dtype=object)
    out["_row"] = np.asarray(lines, dtype=int)
    if encoding != "utf-8-sig":
        out.attrs["notes"] = [f"{path.name} read as {encoding.upper()} text"]
    return out


def _zip_member(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        shps = [n for n in z.namelist() if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise ReadError(f"{path.name}: a zipped shapefile must hold exactly one .shp, found {len(shps)}")
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def read(path: Path, gpkg_layer: str | None = None, lon_col: str | None = None,
         lat_col: str | None = None) -> gpd.GeoDataFrame:
    """The file's features with `_row` (1-based feature number; CSV: line number, header = 1).
    CRS is the file's own (None for CSV and a shapefile without .prj)."""
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
    except Exception as exc:
        raise ReadError(f"{path.name}: cannot read it: {exc}") from exc
    gdf["_row"] = np.arange(len(gdf)) + 1
    return gdf
