"""Turn a file's rows into rows for one layer: reproject, convert datum, repair, check and type
every field. Pure: no database. Every problem becomes a Reject naming the row and the field."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapapp.geo import crs as crs_mod
from mapapp.geo import datum as datum_mod
from mapapp.geo import validate
from mapapp.incidents.taxonomy import Taxonomy
from mapapp.io.layers import LayerSpec
from mapapp.io.layers import spec as layer_spec

_TYPE_NAMES = {0: "point", 1: "line", 2: "ring", 3: "polygon", 4: "multipoint", 5: "multiline",
               6: "multipolygon", 7: "geometry collection"}
FUTURE_SLACK = timedelta(minutes=5)  # clocks of phones and cameras run a little fast
_TRUE = {"1", "1.0", "true", "t", "yes", "y", "on", "是", "真"}
_FALSE = {"0", "0.0", "false", "f", "no", "n", "off", "否", "假"}
_READER_COLUMNS = ("_row", "_geom_error", "_row_error")
_LISTED = 20  # row numbers listed in one note


@dataclass(frozen=True)
class Reject:
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.reason}"


@dataclass
class Prepared:
    """`frame`: EPSG:4326 rows ready for the table (target columns, geometry, _row);
    `rejects`: what was wrong where; `notes`: what was changed on the way."""
    frame: gpd.GeoDataFrame
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Rejects:
    """Rejects collected against the file's rows; `bad` marks rows already rejected."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.items: list[Reject] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(self, mask: np.ndarray, fieldname: str, reason, values=None) -> None:
        for i in np.flatnonzero(mask):
            text = reason(values[i]) if callable(reason) else reason
            self.items.append(Reject(int(self.rows[i]), fieldname, text))
        self.bad |= mask

    def add_at(self, positions: np.ndarray, fieldname: str, reason, values=None) -> None:
        """Reject positions given into the full row set; `values` aligned with `positions`."""
        mask = np.zeros(len(self.rows), bool)
        mask[positions] = True
        full = None
        if values is not None:
            full = np.empty(len(self.rows), dtype=object)
            full[positions] = values
        self.add(mask, fieldname, reason, full)


def _rows_text(rows) -> str:
    rows = [str(int(r)) for r in rows]
    return ", ".join(rows[:_LISTED]) + (f" … ({len(rows)} in all)" if len(rows) > _LISTED else "")


def _source_column(gdf: pd.DataFrame, name: str, mapping: dict[str, str]) -> str | None:
    wanted = mapping.get(name, name)
    if wanted in gdf.columns:
        return wanted
    lowered = {str(c).lower(): c for c in gdf.columns}
    return lowered.get(wanted.lower())


def is_given(v) -> bool:
    return not (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
                or (isinstance(v, str) and not v.strip()))


def _objects(items, index) -> pd.Series:
    """An object Series that keeps None as None (Series.map would turn it into NaN)."""
    return pd.Series(list(items), index=index, dtype=object)


def coerce(values: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray]:
    """Typed values (None where empty) and a mask of cells that were given but could not be
    read as `kind`."""
    values = values.astype(object)
    given = values.map(is_given).astype(bool)
    if kind == "str":
        out = _objects((str(v).strip() if g else None for v, g in zip(values, given)), values.index)
        return out, np.zeros(len(values), bool)
    if kind in ("int", "float"):
        num = pd.to_numeric(values.where(given), errors="coerce")
        bad = given & num.isna()
        if kind == "int":
            bad |= given & num.notna() & (num != np.floor(num.fillna(0)))
        cast = int if kind == "int" else float
        out = _objects((None if b or pd.isna(v) else cast(v) for v, b in zip(num, bad)), values.index)
        return out, bad.to_numpy()
    if kind == "bool":
        text = [str(v).strip().lower() if g else None for v, g in zip(values, given)]
        out = _objects((True if t in _TRUE else False if t in _FALSE else None for t in text), values.index)
        bad = given.to_numpy() & np.array([t is None for t in out], bool)
        return out, bad
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = pd.to_datetime(values, utc=True)
        else:
            # ISO 8601; naive times are UTC; 2026/11/01 is read as 2026-11-01
            text = values.where(given).astype("string").str.strip().str.replace("/", "-", regex=False)
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        bad = given & parsed.isna()
        out = _objects((None if pd.isna(v) else v.to_pydatetime() for v in parsed), values.index)
        return out, bad.to_numpy()
    raise ValueError(kind)


def coerce_one(value, kind: str) -> tuple[object, bool]:
    """`coerce` for a single value (typed value or None, given but unreadable), with the same
    pandas parsers; the API's one-incident intake uses it because `coerce` column by column
    costs about 3.5 ms a row in Series overhead (tests/unit/test_intake_rules.py checks both agree)."""
    if not is_given(value):
        return None, False
    if kind == "str":
        return str(value).strip(), False
    if kind in ("int", "float"):
        number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce")[0]
        if pd.isna(number) or (kind == "int" and number != np.floor(number)):
            return None, True
        return (int if kind == "int" else float)(number), False
    if kind == "datetime":
        parsed = pd.to_datetime(pd.Series([str(value).strip().replace("/", "-")], dtype="string"),
                                errors="coerce", utc=True, format="ISO8601")[0]
        return (None, True) if pd.isna(parsed) else (parsed.to_pydatetime(), False)
    raise ValueError(kind)


def _check_constants(spec: LayerSpec, constants: dict) -> None:
    """A --set value that is wrong would reject every row; say so once instead."""
    for name, value in constants.items():
        col = spec.column(name)
        typed, bad = coerce(pd.Series([value], dtype=object), col.type)
        if bad[0] or (col.choices and typed[0] is not None and typed[0] not in col.choices):
            allowed = f" (one of {', '.join(col.choices)})" if col.choices else ""
            raise ValueError(f"--set {name}={value!r} is not a valid {col.type}{allowed}")


def _centres(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = shapely.bounds(geoms)
    return (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2


def _to_wgs84(geoms: np.ndarray, source_crs) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=source_crs).to_crs(4326).array, dtype=object)


def _transform_datum(geoms: np.ndarray, datum: str) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(datum_mod.to_wgs84(xy[:, 0], xy[:, 1], datum)))


def _locate(geoms: np.ndarray, live: np.ndarray, rej: _Rejects, source_crs, jurisdiction,
            fix_swapped_file: bool, notes: list[str]) -> np.ndarray:
    """Bring live geometries to lon/lat in EPSG:4326, fixing a swapped file and rejecting rows
    that are swapped, out of range or cannot be reprojected."""
    idx = np.flatnonzero(live)
    if not idx.size:
        return geoms
    if not source_crs.is_geographic:
        geoms[idx] = _to_wgs84(geoms[idx], source_crs)
        notes.append(f"reprojected from {source_crs.to_string()} ({source_crs.name}) to EPSG:4326")
        broken = ~np.isfinite(shapely.bounds(geoms[idx])).all(axis=1)
        rej.add_at(idx[broken], "geometry", "coordinates cannot be reprojected")
        return geoms
    jur_bounds = jurisdiction.bounds if jurisdiction is not None else None
    cx, cy = _centres(geoms[idx])
    whole, swapped = validate.detect_swapped(cx, cy, jur_bounds)
    if whole and fix_swapped_file:
        geoms[idx] = shapely.transform(geoms[idx], lambda c: c[:, ::-1])
        notes.append(f"lon/lat were swapped throughout the file ({int(swapped.sum())} of {idx.size} "
                     "rows) and have been swapped back")
        cx, cy = _centres(geoms[idx])
        swapped = validate.detect_swapped(cx, cy, jur_bounds)[1]
    rej.add_at(idx[swapped], "geometry", "lon/lat look swapped")
    b = shapely.bounds(geoms[idx])
    corners = np.zeros(idx.size, bool)
    corners[validate.out_of_range(b[:, 0], b[:, 1])] = True
    corners[validate.out_of_range(b[:, 2], b[:, 3])] = True
    bad = corners & ~swapped
    rej.add_at(idx[bad], "geometry",
               lambda xy: f"coordinates out of range (lon -180..180, lat -90..90): {xy[0]:.6g}, {xy[1]:.6g}",
               [(x, y) for x, y in zip(cx[bad], cy[bad])])
    if not source_crs.equals(crs_mod.WGS84, ignore_axis_order=True):
        ok = idx[~swapped & ~bad]
        geoms[ok] = _to_wgs84(geoms[ok], source_crs)
        notes.append(f"converted from {source_crs.to_string()} ({source_crs.name}) to EPSG:4326")
    return geoms


def _repair(geoms: np.ndarray, live: np.ndarray, rej: _Rejects, notes: list[str]) -> np.ndarray:
    idx = np.flatnonzero(live)
    fixed, how = validate.repair(geoms[idx])
    geoms[idx] = fixed
    if how:
        pos = np.fromiter(how, int)
        gone = shapely.is_empty(fixed[pos])
        rej.add_at(idx[pos[gone]], "geometry",
                   lambda h: f"invalid geometry with nothing left after repair ({h})",
                   [how[p] for p in pos[gone]])
        kept = pos[~gone]
        if kept.size:
            listed = [f"{rej.rows[idx[p]]} ({how[p]})" for p in kept[:_LISTED]]
            more = f" … ({kept.size} in all)" if kept.size > _LISTED else ""
            notes.append("repaired invalid geometry in rows " + "; ".join(listed) + more)
    return geoms


def _polygon_parts(g):
    """The polygonal part of a collection that make_valid produced (None when there is none)."""
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else None


def _shape(spec: LayerSpec, geoms: np.ndarray, live: np.ndarray, rej: _Rejects,
           notes: list[str]) -> np.ndarray:
    """Check geometry types for the layer and normalise them (Polygon -> MultiPolygon, ...)."""
    idx = np.flatnonzero(live)
    g = geoms[idx]
    types = shapely.get_type_id(g)
    if spec.geometry == "polygon":
        coll = np.flatnonzero(types == 7)
        for i in coll:  # only the few that make_valid turned into collections
            g[i] = _polygon_parts(g[i]) or g[i]
        types = shapely.get_type_id(g)
        ok = np.isin(types, (3, 6))
        single = np.flatnonzero(types == 3)
        if single.size:
            g[single] = shapely.multipolygons(g[single], indices=np.arange(single.size))
        wanted = "a polygon"
    elif spec.geometry == "point":
        if spec.name == "key_places":
            areal = np.flatnonzero(np.isin(types, (3, 6)))
            if areal.size:
                g[areal] = shapely.point_on_surface(g[areal])
                notes.append(f"{areal.size} polygon features placed at a point inside them "
                             f"(rows {_rows_text(rej.rows[idx[areal]])})")
        one = np.flatnonzero((types == 4) & (shapely.get_num_geometries(g) == 1))
        if one.size:
            g[one] = shapely.get_geometry(g[one], 0)
        types = shapely.get_type_id(g)
        ok = types == 0
        wanted = "a point"
    elif spec.geometry == "line":
        multi = np.flatnonzero(types == 5)
        if multi.size:
            g[multi] = shapely.line_merge(g[multi])
        types = shapely.get_type_id(g)
        ok = np.isin(types, (1, 5))
        wanted = "a line"
    else:
        ok = np.ones(len(g), bool)
        wanted = "a geometry"
    names = np.array([_TYPE_NAMES.get(t, "geometry") for t in types], dtype=object)
    rej.add_at(idx[~ok], "geometry", lambda t: f"expected {wanted}, got a {t}", names[~ok])
    geoms[idx] = g
    return geoms


def _explode_lines(frame: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Streets are LineStrings: split what is still a MultiLineString after merging its parts."""
    multi = (shapely.get_type_id(np.asarray(frame.geometry.array, dtype=object)) == 5)
    if not multi.any():
        return frame
    notes.append(f"{int(multi.sum())} multi-line features split into single lines "
                 f"(rows {_rows_text(frame['_row'].to_numpy()[multi])}); lengths measured per line")
    frame = frame.copy()
    frame.loc[multi, "length_m"] = None
    return frame.explode(index_parts=False).reset_index(drop=True)


def _street_lengths(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    need = frame["length_m"].isna().to_numpy()
    if need.any():
        minx, miny, maxx, maxy = frame.total_bounds
        metric = frame.geometry[need].to_crs(crs_mod.utm_crs_for((minx + maxx) / 2, (miny + maxy) / 2))
        frame.loc[need, "length_m"] = metric.length.round(2).to_numpy()
        frame["length_m"] = frame["length_m"].astype(object)
    return frame


def prepare(gdf: gpd.GeoDataFrame, layer: str | LayerSpec, *, src_crs, datum: str = "wgs84",
            mapping: dict[str, str] | None = None, constants: dict | None = None,
            jurisdiction=None, taxonomy: Taxonomy | None = None, fix_swapped_file: bool = True) -> Prepared:
    """Rows ready for `layer`'s table, the rejected rows with reasons, and notes on what was fixed.

    `gdf` comes from readers.read (with `_row`); `src_crs` is the CRS to read it in (--crs or the
    file's; None = lon/lat if it looks like it); `datum` is that of the lon/lat after reprojection;
    `mapping` target column -> file field; `constants` target column -> value for every row;
    `jurisdiction` (shapely, EPSG:4326) bounds incidents, key places and base units. A file whose
    lon/lat are swapped throughout is swapped back (fix_swapped_file); a single swapped row is
    always rejected. Raises ValueError for a problem with the arguments rather than the rows."""
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    mapping, constants, notes = dict(mapping or {}), dict(constants or {}), []
    if datum not in datum_mod.DATUMS:
        raise ValueError(f"--datum must be one of {', '.join(datum_mod.DATUMS)}, got {datum!r}")
    names = [c.name for c in spec.columns]
    for key in list(mapping) + list(constants):
        if key not in names:
            raise ValueError(f"{spec.name} has no column {key!r}; columns are {', '.join(names)}")
    _check_constants(spec, constants)
    rows = gdf["_row"].to_numpy()
    rej = _Rejects(rows)
    if "_row_error" in gdf:
        why = gdf["_row_error"].to_numpy(dtype=object)
        rej.add(pd.notna(why), "row", lambda w: w, why)

    # --- geometry: presence, CRS, swapped axes, datum, validity, type, jurisdiction ------------
    geoms = shapely.force_2d(np.asarray(gdf.geometry.array, dtype=object))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reasons = (gdf["_geom_error"].to_numpy(dtype=object) if "_geom_error" in gdf
               else np.full(len(gdf), None, dtype=object))
    rej.add(missing & ~rej.bad, "geometry", lambda w: w if isinstance(w, str) else "no geometry", reasons)
    present = ~missing
    cx, cy = _centres(geoms[present])
    source_crs = crs_mod.resolve_crs(None, src_crs, np.column_stack([cx, cy]))
    geoms = _locate(geoms, present & ~rej.bad, rej, source_crs, jurisdiction, fix_swapped_file, notes)

    if datum != "wgs84":
        live = np.flatnonzero(~rej.bad & present)
        geoms[live] = _transform_datum(geoms[live], datum)
        notes.append(f"converted {live.size} rows from {datum.upper()} to WGS84")

    geoms = _repair(geoms, ~rej.bad & present, rej, notes)
    geoms = _shape(spec, geoms, ~rej.bad & present, rej, notes)

    if spec.in_jurisdiction and jurisdiction is not None:
        live = np.flatnonzero(~rej.bad & present)
        shapely.prepare(jurisdiction)
        inside = shapely.covers(jurisdiction, shapely.point_on_surface(geoms[live]))
        rej.add_at(live[~inside], "geometry", "outside the jurisdiction (the loaded districts)")

    # --- attributes ----------------------------------------------------------------------------
    frame = pd.DataFrame(index=gdf.index)
    used = set()
    for col in spec.columns:
        if col.name in constants:
            raw = pd.Series([constants[col.name]] * len(gdf), index=gdf.index, dtype=object)
        else:
            src = _source_column(gdf, col.name, mapping)
            if src is None and col.name in mapping:
                raise ValueError(f"--map {col.name}={mapping[col.name]}: the file has no field "
                                 f"{mapping[col.name]!r}; its fields are "
                                 f"{', '.join(str(c) for c in gdf.columns if c not in _READER_COLUMNS and c != gdf.geometry.name)}")
            used.add(src)
            raw = (gdf[src].astype(object) if src is not None
                   else pd.Series([None] * len(gdf), index=gdf.index, dtype=object))
        values, bad = coerce(raw, col.type)
        rej.add(bad, col.name, lambda v, t=col.type: f"not a valid {t}: {v!r}", raw.to_numpy())
        if col.default is not None:
            values = _objects((v if is_given(v) else col.default for v in values), values.index)
        empty = ~values.map(is_given).astype(bool).to_numpy()
        if col.required:
            rej.add(empty & ~bad, col.name, "required but empty")
        if col.choices:
            wrong = ~empty & ~values.isin(col.choices).to_numpy()
            rej.add(wrong, col.name, lambda v, c=col.choices: f"{v!r} is not one of {', '.join(c)}",
                    values.to_numpy())
        if col.minimum is not None:
            low = ~empty & ~bad & (pd.to_numeric(values, errors="coerce") < col.minimum).to_numpy()
            rej.add(low, col.name, lambda v, m=col.minimum: f"{v!r} is below {m:g}", values.to_numpy())
        limit = spec.max_length(col.name) if col.type == "str" else None
        if limit:
            long_ = ~empty & (values.map(lambda v: len(v) if isinstance(v, str) else 0) > limit).to_numpy()
            rej.add(long_, col.name, lambda v, n=limit: f"longer than {n} characters ({len(v)})",
                    values.to_numpy())
        frame[col.name] = values
    if spec.name == "incidents" and taxonomy is not None:
        cats = frame["category"].to_numpy()
        unknown = np.array([c is not None and c not in taxonomy for c in cats], bool)
        rej.add(unknown, "category", lambda v: f"{v!r} is not in the taxonomy", cats)
    if "reported_at" in frame:
        limit = datetime.now(UTC) + FUTURE_SLACK
        times = frame["reported_at"].to_numpy()
        future = np.array([t is not None and t > limit for t in times], bool)
        rej.add(future, "reported_at", lambda v: f"{v.isoformat()} is in the future", times)

    lowered = {str(c).lower() for c in gdf.columns}
    ignored = [f for f in spec.ignored if f in lowered]
    if ignored:
        notes.append(f"{', '.join(ignored)} in the file not imported: grid workload is derived from base units")
    unused = [str(c) for c in gdf.columns if c not in used and c not in _READER_COLUMNS
              and c != gdf.geometry.name and str(c).lower() not in spec.ignored]
    if unused and len(gdf):
        notes.append(f"fields not imported: {', '.join(unused[:10])}" + (" …" if len(unused) > 10 else ""))

    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=gdf.index), crs=4326)
    out["_row"] = rows
    out = out[~rej.bad].copy()
    if spec.name == "streets" and len(out):
        out = _street_lengths(_explode_lines(out, notes))
    return Prepared(out, sorted(rej.items, key=lambda r: (r.row, r.field)), notes)
