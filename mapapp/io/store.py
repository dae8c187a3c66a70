"""Import a file into one layer, all or nothing, and export a layer to a file."""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError

from mapapp.audit import queries as audit
from mapapp.errors import UserError
from mapapp.incidents import queries as incident_q
from mapapp.incidents import taxonomy as taxonomy_mod
from mapapp.incidents import workflow
from mapapp.io import queries as q
from mapapp.io.layers import spec as layer_spec
from mapapp.io.prepare import Reject, prepare
from mapapp.io.readers import ReadError, read

BATCH = 2000
LEVEL_ORDER = {"district": 0, "street": 1, "community": 2}


@dataclass
class ImportReport:
    layer: str
    read: int
    loaded: int
    rejected: int
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None


class ImportRejected(UserError):
    """Some rows are bad and --skip-bad was not given: nothing was imported."""
    code = "rows_rejected"

    def __init__(self, report: ImportReport):
        self.report = report
        lines = [str(r) for r in report.rejects[:20]]
        more = len(report.rejects) - len(lines)
        if more > 0:
            lines.append(f"… and {more} more (use --skip-bad to load the good rows and list them all)")
        super().__init__(f"{report.rejected} of {report.read} rows rejected:\n  " + "\n  ".join(lines),
                         row=report.rejects[0].row if report.rejects else None)


def _check_codes(frame, conn, layer: str, rejects: list[Reject], plan: str) -> np.ndarray:
    """Layer-specific checks that need the database. Returns the mask of rows to drop."""
    bad = np.zeros(len(frame), bool)
    rows = frame["_row"].to_numpy()

    def reject(i, fieldname, reason):
        bad[i] = True
        rejects.append(Reject(int(rows[i]), fieldname, reason))

    codes = frame["code"].tolist() if "code" in frame else []
    seen: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code in seen:
            reject(i, "code", f"{code!r} appears twice (first at row {seen[code]})")
        seen.setdefault(code, int(rows[i]))
    if layer == "admin_areas":
        in_db = q.existing_codes(conn, codes + [c for c in frame["parent_code"] if c])
        levels = dict(zip(codes, frame["level"]))
        for i, (code, parent, level) in enumerate(zip(codes, frame["parent_code"], frame["level"])):
            if code in in_db:
                reject(i, "code", f"{code!r} is already loaded")
            if level == "district" and parent:
                reject(i, "parent_code", "a district has no parent")
            elif level != "district" and not parent:
                reject(i, "parent_code", f"a {level} needs a parent_code")
            elif parent:
                parent_level = levels.get(parent) or in_db.get(parent)
                if parent_level is None:
                    reject(i, "parent_code", f"unknown parent {parent!r}")
                elif LEVEL_ORDER[parent_level] != LEVEL_ORDER[level] - 1:
                    reject(i, "parent_code", f"a {level} cannot sit under a {parent_level}")
    if layer == "grids":
        given = [c for c in frame["community_code"] if c]
        known = q.community_codes(conn, given)
        plan_id = q.find_plan(conn, plan)
        taken = q.grid_codes_in_plan(conn, plan_id) if plan_id is not None else set()
        for i, (code, c) in enumerate(zip(codes, frame["community_code"])):
            if code in taken:
                reject(i, "code", f"{code!r} is already in plan {plan!r}")
            if c and c not in known:
                reject(i, "community_code", f"no community with code {c!r}")
    return bad


def _records(frame, layer: str) -> list[dict]:
    """One parameter dict per row (geometry as WKB, with its `_row`), parents before children."""
    cols = [c for c in frame.columns if c != "geometry"]
    wkb = shapely.to_wkb(np.asarray(frame.geometry.array, dtype=object))
    out = []
    for values, g in zip(frame[cols].itertuples(index=False, name=None), wkb):
        rec = {c: (None if isinstance(v, float) and np.isnan(v) else v) for c, v in zip(cols, values)}
        rec["wkb"] = g
        out.append(rec)
    if layer == "admin_areas":
        out.sort(key=lambda r: LEVEL_ORDER[r["level"]])
    return out


def _shift_to_now(frame, notes: list[str]) -> None:
    times = [t for t in frame["reported_at"] if t is not None]
    if not times:
        return
    weeks = (datetime.now(UTC) - max(times)) // timedelta(weeks=1)
    if weeks:
        shift = timedelta(weeks=weeks)
        for col in ("reported_at", "dispatched_at", "closed_at"):
            frame[col] = [t + shift if t is not None else None for t in frame[col]]
        notes.append(f"simulated times shifted by {weeks} weeks so the latest falls in the past 7 days")


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["row", "field", "reason"])
        w.writerows((r.row, r.field, r.reason) for r in rejects)


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A new transaction on an engine, or the caller's own when given a connection."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn


def import_file(bind: Engine | Connection, layer: str, path: Path, *, crs: str | None = None,
                datum: str = "wgs84", mapping: dict | None = None, constants: dict | None = None,
                skip_bad: bool = False, rejects_path: Path | None = None,
                gpkg_layer: str | None = None, plan: str | None = None, publish: bool = False,
                shift_time_to_now: bool = False, report_note: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Load FILE into LAYER in one transaction (the caller's, when `bind` is a connection).
    A bad row loads nothing unless skip_bad. Incidents get their first history step ("report",
    with `report_note`), as incidents taken in one by one do: the case history, the changes feed
    and the tile version go by those steps."""
    spec = layer_spec(layer)
    if shift_time_to_now and layer != "incidents":
        raise UserError("shift_time_to_now applies to simulated incidents only", field="shift_time_to_now")
    plan = plan or "imported"
    path = Path(path)
    mapping = dict(mapping or {})
    try:
        gdf = read(path, gpkg_layer, lon_col=mapping.pop("lon", None), lat_col=mapping.pop("lat", None))
    except ReadError as exc:
        raise UserError(str(exc), field="file") from exc
    if crs:
        from mapapp.geo.crs import parse_crs

        try:
            src_crs = parse_crs(crs)
        except ValueError as exc:
            raise UserError(str(exc), field="crs") from exc
    else:
        src_crs = gdf.crs
    with _transaction(bind) as conn:
        try:
            prepared = prepare(gdf, spec, src_crs=src_crs, datum=datum, mapping=mapping,
                               constants=constants, jurisdiction=q.jurisdiction(conn),
                               taxonomy=taxonomy_mod.load() if layer == "incidents" else None)
        except ValueError as exc:  # about the whole file (no CRS, no usable column): name it
            raise UserError(f"{path.name}: {exc}") from exc
        frame, rejects = prepared.frame, list(prepared.rejects)
        notes = list(gdf.attrs.get("notes", [])) + list(prepared.notes)
        drop = _check_codes(frame, conn, layer, rejects, plan)
        frame = frame[~drop]
        rejects.sort(key=lambda r: (r.row, r.field))
        report = ImportReport(layer, read=len(gdf), loaded=0,
                              rejected=len({r.row for r in rejects}), notes=notes, rejects=rejects)
        if rejects and not skip_bad:
            raise ImportRejected(report)
        if shift_time_to_now:
            if not frame["simulated"].astype(bool).all():
                raise UserError("shift_time_to_now moves the dates of simulated data only: "
                                "mark the rows simulated (--set simulated=true)", field="simulated")
            _shift_to_now(frame, notes)
        records = _records(frame, layer)
        if layer == "incidents":
            tax = taxonomy_mod.load()
            for r in records:  # the case clock: category deadline by priority, from dispatch
                r["deadline_hours"] = workflow.deadline_hours(tax, r["category"], r["priority"])
        if layer == "grids":
            plan_id = q.plan_for_import(conn, plan, publish)
            for r in records:
                r["plan_id"] = plan_id
        rows = [r.pop("_row") for r in records]
        before = incident_q.last_id(conn) if layer == "incidents" else 0
        for start in range(0, len(records), BATCH):
            try:
                q.insert_many(conn, layer, records[start:start + BATCH])
            except (IntegrityError, DataError) as exc:  # a check the importer does not know yet
                batch = rows[start:start + BATCH]
                reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                raise UserError(f"nothing was imported: the database refused a row between rows "
                                f"{min(batch)} and {max(batch)}: {reason}", row=min(batch)) from exc
            if progress:
                progress(min(start + BATCH, len(records)), len(records))
        report.loaded = len(records)
        audit.record(conn, None, "import", layer, path.name,
                     after={"loaded": report.loaded, "rejected": report.rejected, "read": report.read})
        if layer == "incidents" and records:
            incident_q.record_reports(conn, before, report_note or f"imported from {path.name}")
        if layer == "streets" and records:
            from mapapp.patrol.queries import rebuild_network

            net = rebuild_network(conn)
            notes.append(f"street network rebuilt for routing: {net['edges']} edges, "
                         f"{net['vertices']} vertices")
        if layer == "grids" and records:
            orphans = q.grids_without_community(conn, plan_id, [r["code"] for r in records])
            if orphans:
                notes.append(f"{len(orphans)} grids lie in no community: {', '.join(orphans[:20])}"
                             + (" …" if len(orphans) > 20 else ""))
    if rejects:
        report.rejects_path = Path(rejects_path or Path.cwd() / f"{path.stem}.rejects.csv")
        write_rejects(report.rejects_path, rejects)
    return report


def export_layer(engine: Engine, layer: str, path: Path) -> int:
    """Write a layer to .geojson or .gpkg; returns the number of features written."""
    layer_spec(layer)
    path = Path(path)
    driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}.get(path.suffix.lower())
    if driver is None:
        raise UserError(f"{path.name}: export writes .geojson or .gpkg", field="file")
    with engine.connect() as conn:
        columns, rows = q.export_rows(conn, layer)
    geoms = [shapely.from_wkb(bytes(r.pop("wkb"))) for r in rows]
    columns = [c for c in columns if c != "wkb"]
    gdf = gpd.GeoDataFrame(rows, columns=columns, geometry=geoms, crs=4326)
    for col in ("reported_at", "dispatched_at", "due_at", "closed_at"):
        if col in gdf:
            gdf[col] = gdf[col].map(lambda t: t.isoformat() if t is not None else None)
    if driver == "GPKG":
        gdf.to_file(path, driver=driver, layer=layer)
    else:  # RFC 7946: lon/lat WGS84, no "crs" member
        gdf.to_file(path, driver=driver, RFC7946="YES")
    return len(gdf)
