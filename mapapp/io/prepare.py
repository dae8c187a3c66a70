"""Turn a file's rows into rows for one layer: reproject, convert datum, repair, check and type
every field. Pure: no database. Every problem becomes a Reject naming the row and the field."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapapp.geo import crs as crs_mod
from mapapp.geo import datum as datum_mod
from mapapp.geo import validate
from mapapp.incidents.taxonomy import Taxonomy
from mapapp.io.layers import LayerSpec

_TYPE_NAMES = {0: "point", 1: "line", 2: "ring", 3: "polygon", 4: "multipoint", 5: "multiline",
               6: "multipolygon", 7: "geometry collection"}
FUTURE_SLACK = timedelta(minutes=5)  # clocks of phones and cameras run a little fast
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


@dataclass(frozen=True)
class Reject:
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.reason}"


@dataclass
class Prepared:
    frame: gpd.GeoDataFrame
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Rejects:
    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.items: list[Reject] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(self, mask: np.ndarray, fieldname: str, reason, values=None) -> None:
        for i in np.flatnonzero(mask):
            text = reason(values[i]) if callable(reason) else reason
            self.items.append(Reject(int(self.rows[i]), fieldname, text))
        self.bad |= mask


def _source_column(gdf: pd.DataFrame, name: str, mapping: dict[str, str]) -> str | None:
    wanted = mapping.get(name, name)
    if wanted in gdf.columns:
        return wanted
    lowered = {str(c).lower(): c for c in gdf.columns}
    return lowered.get(wanted.lower())


def _given(v) -> bool:
    return not (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
                or (isinstance(v, str) and not v.strip()))


def _coerce(values: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray]:
    """Typed values and a mask of cells that were given but could not be read as `kind`."""
    values = values.astype(object)
    given = values.map(_given).astype(bool)
    if kind == "str":
        out = values.map(lambda v: str(v).strip() if _given(v) else None).astype(object)
        return out, np.zeros(len(values), bool)
    if kind in ("int", "float"):
        num = pd.to_numeric(values.where(given), errors="coerce")
        bad = given & num.isna()
        if kind == "int":
            bad |= given & num.notna() & (num != np.floor(num.fillna(0)))
            out = num.where(~bad).map(lambda v: None if pd.isna(v) else int(v))
        else:
            out = num.map(lambda v: None if pd.isna(v) else float(v))
        return out, bad.to_numpy()
    if kind == "bool":
        text = values.where(given).map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                                       else str(v).strip().lower())
        out = text.map(lambda v: None if v is None else (True if v in _TRUE else False if v in _FALSE else None))
        bad = given & out.isna()
        return out, bad.to_numpy()
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = pd.to_datetime(values, utc=True)
        else:
            parsed = pd.to_datetime(values.where(given).astype("string").str.strip(), errors="coerce",
                                    utc=True, format="ISO8601")
        bad = given & parsed.isna()
        return parsed.map(lambda v: None if pd.isna(v) else v.to_pydatetime()), bad.to_numpy()
    raise ValueError(kind)


def _transform_datum(geoms: np.ndarray, datum: str) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(datum_mod.to_wgs84(xy[:, 0], xy[:, 1], datum)))


def _geometry(spec: LayerSpec, geoms: np.ndarray, rej: _Rejects, notes: list[str]) -> np.ndarray:
    """Check and normalise geometry types for the layer."""
    types = shapely.get_type_id(geoms)  # 0 point, 1 line, 3 polygon, 4 multipoint, 5 multiline, 6 multipolygon, 7 collection
    out = geoms.copy()
    if spec.geometry == "polygon":
        coll = types == 7
        if coll.any():  # make_valid may return a collection: keep its polygons
            parts = [shapely.union_all([p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)])
                     for g in out[coll]]
            out[coll] = parts
            types = shapely.get_type_id(out)
        ok = np.isin(types, (3, 6)) & ~shapely.is_empty(out)
        names = np.array([_TYPE_NAMES.get(t, "geometry") for t in types], dtype=object)
        rej.add(~ok & ~rej.bad, "geometry", lambda t: f"expected a polygon, got a {t}", names)
        single = np.flatnonzero(types == 3)
        if single.size:
            out[single] = shapely.multipolygons(out[single], indices=np.arange(single.size))
    elif spec.geometry == "point":
        areal = np.isin(types, (3, 6))
        if spec.name == "key_places" and areal.any():
            out[areal] = shapely.point_on_surface(out[areal])
            notes.append(f"{int(areal.sum())} polygon features placed at a point inside them")
            types = shapely.get_type_id(out)
        ok = types == 0
        rej.add(~ok & ~rej.bad, "geometry", "expected a point")
    elif spec.geometry == "line":
        multi = types == 5
        if multi.any():
            out[multi] = shapely.line_merge(out[multi])
        ok = np.isin(shapely.get_type_id(out), (1, 5))
        rej.add(~ok & ~rej.bad, "geometry", "expected a line")
    return out


def prepare(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, src_crs, datum: str = "wgs84",
            mapping: dict[str, str] | None = None, constants: dict | None = None,
            jurisdiction=None, taxonomy: Taxonomy | None = None, fix_swapped_file: bool = True) -> Prepared:
    """Rows ready for `spec`'s table, the rejected rows with reasons, and notes on what was fixed.
    A file whose lon/lat are swapped throughout is swapped back (fix_swapped_file); a single
    swapped row is always rejected."""
    mapping, constants, notes = dict(mapping or {}), dict(constants or {}), []
    if datum not in datum_mod.DATUMS:
        raise ValueError(f"--datum must be one of {', '.join(datum_mod.DATUMS)}, got {datum!r}")
    for key in list(mapping) + list(constants):
        if key not in {c.name for c in spec.columns}:
            raise ValueError(f"{spec.name} has no column {key!r}; columns are "
                             f"{', '.join(c.name for c in spec.columns)}")
    rows = gdf["_row"].to_numpy()
    rej = _Rejects(rows)

    # --- geometry: presence, CRS, swapped axes, datum, validity --------------------------------
    geoms = shapely.force_2d(np.asarray(gdf.geometry.array, dtype=object))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rej.add(missing, "geometry", "no geometry (coordinates empty or not numbers)")
    present = ~missing
    bounds = shapely.total_bounds(geoms[present]) if present.any() else None
    source_crs = crs_mod.resolve_crs(None, src_crs, bounds)
    jur_bounds = jurisdiction.bounds if jurisdiction is not None else None

    if source_crs.is_geographic:
        xy = shapely.get_coordinates(shapely.point_on_surface(geoms[present]))
        if fix_swapped_file and len(xy) and validate.swapped_file(xy[:, 0], xy[:, 1], jur_bounds):
            geoms[present] = shapely.transform(geoms[present], lambda c: c[:, ::-1])
            notes.append("lon/lat were swapped in the whole file and have been swapped back")
        reps = np.full(len(geoms), None, dtype=object)
        reps[present] = shapely.point_on_surface(geoms[present])
        lon = np.where(present, shapely.get_x(reps.astype(object)) if present.any() else np.nan, np.nan)
        lat = np.where(present, shapely.get_y(reps.astype(object)) if present.any() else np.nan, np.nan)
        swapped = present & validate.swapped_rows(lon, lat, jur_bounds)
        rej.add(swapped, "geometry", "lon/lat look swapped")
        bad_range = present & ~swapped & validate.out_of_range(lon, lat)
        rej.add(bad_range, "geometry", "coordinates out of range (lon -180..180, lat -90..90)")
    else:
        gs = gpd.GeoSeries(geoms, crs=source_crs).to_crs(4326)
        geoms = np.asarray(gs.array, dtype=object)
        notes.append(f"reprojected from {source_crs.to_string()} to EPSG:4326")
        ok = rej.bad | ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
        rej.add(ok & ~rej.bad, "geometry", "coordinates cannot be reprojected")

    if datum != "wgs84":
        live = ~rej.bad
        geoms[live] = _transform_datum(geoms[live], datum)
        notes.append(f"converted {datum.upper()} coordinates to WGS84")

    live = ~rej.bad
    fixed, repaired = validate.repair(geoms[live])
    geoms[live] = fixed
    if repaired.any():
        notes.append("repaired invalid geometry in rows " +
                     ", ".join(str(r) for r in rows[live][repaired][:20]) +
                     (" …" if repaired.sum() > 20 else ""))
    live = ~rej.bad
    geoms[live] = _geometry(spec, geoms[live], _Sub(rej, live), notes)

    if spec.in_jurisdiction and jurisdiction is not None:
        live = ~rej.bad
        pts = shapely.point_on_surface(geoms[live])
        inside = shapely.covers(jurisdiction, pts)
        outside = np.zeros(len(geoms), bool)
        outside[np.flatnonzero(live)[~inside]] = True
        rej.add(outside, "geometry", "outside the jurisdiction (the loaded districts)")

    # --- attributes ----------------------------------------------------------------------------
    frame = pd.DataFrame(index=gdf.index)
    for col in spec.columns:
        if col.name in constants:
            raw = pd.Series([constants[col.name]] * len(gdf), index=gdf.index, dtype=object)
        else:
            src = _source_column(gdf, col.name, mapping)
            if src is None and col.name in mapping:
                raise ValueError(f"--map {col.name}={mapping[col.name]}: the file has no field "
                                 f"{mapping[col.name]!r}")
            raw = gdf[src].astype(object) if src is not None else pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
        values, bad = _coerce(raw, col.type)
        rej.add(bad, col.name, lambda v, t=col.type: f"not a valid {t}: {v!r}", raw.to_numpy())
        if col.default is not None:
            values = pd.Series([col.default if not _given(v) else v for v in values], index=gdf.index,
                               dtype=object)
        empty = ~values.map(_given).astype(bool).to_numpy()
        if col.required:
            rej.add(empty & ~bad, col.name, "required but empty")
        if col.choices:
            wrong = ~empty & ~values.isin(col.choices).to_numpy()
            rej.add(wrong, col.name, lambda v, c=col.choices: f"{v!r} is not one of {', '.join(c)}",
                    values.to_numpy())
        frame[col.name] = pd.Series([v if _given(v) or isinstance(v, bool) else None for v in values],
                                    index=gdf.index, dtype=object)
    if spec.name == "incidents" and taxonomy is not None:
        cats = frame["category"].to_numpy()
        unknown = np.array([c is not None and c not in taxonomy for c in cats], bool)
        rej.add(unknown, "category", lambda v: f"{v!r} is not in the taxonomy", cats)
    if "reported_at" in frame:
        limit = datetime.now(timezone.utc) + FUTURE_SLACK
        times = frame["reported_at"].to_numpy()
        future = np.array([t is not None and t > limit for t in times], bool)
        rej.add(future, "reported_at", lambda v: f"{v.isoformat()} is in the future", times)

    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=gdf.index), crs=4326)
    out["_row"] = rows
    out = out[~rej.bad].copy()
    if spec.name == "streets" and len(out):
        need = out["length_m"].isna()
        if need.any():
            c = out.geometry.union_all().centroid
            metric = out.loc[need, "geometry"].to_crs(crs_mod.utm_crs_for(c.x, c.y))
            out.loc[need, "length_m"] = metric.length.round(2).to_numpy()
    return Prepared(out, sorted(rej.items, key=lambda r: (r.row, r.field)), notes)


class _Sub:
    """The _Rejects view of a subset of rows (those still live)."""
    def __init__(self, parent: _Rejects, live: np.ndarray):
        self.parent, self.idx = parent, np.flatnonzero(live)
        self.bad = np.zeros(len(self.idx), bool)

    def add(self, mask, fieldname, reason, values=None):
        full = np.zeros(len(self.parent.rows), bool)
        full[self.idx[mask]] = True
        full_values = None
        if values is not None:
            full_values = np.empty(len(self.parent.rows), dtype=object)
            full_values[self.idx] = values
        self.parent.add(full, fieldname, reason, full_values)
        self.bad |= mask
