"""Write a plan as GeoJSON, GeoPackage, Shapefile or an assignment CSV (unit_id, grid_code), and
its evaluation (every metric with key, version and definition) as JSON."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.engine import Connection

from mapapp.errors import UserError
from mapapp.grids import plan_check, plan_metrics
from mapapp.grids import queries as gq

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
# Shapefile field names are at most 10 characters
COLUMNS = ("code", "name", "community", "locked", "staffing", "waiver")


def grids_frame(rows: list[dict], communities: dict[int, str]) -> gpd.GeoDataFrame:
    """Snapshot rows (GeoJSON geometry text) as a GeoDataFrame in EPSG:4326; the community is
    written as its code, which another database understands."""
    geoms = shapely.from_geojson(np.array([r["geometry"] for r in rows], dtype=object)) if rows else []
    rows = [{**r, "community": communities.get(r["community_id"])} for r in rows]
    data = {c: [r[c] for r in rows] for c in COLUMNS}
    data["locked"] = [int(bool(v)) for v in data["locked"]]
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4326")


def assignment_csv(conn: Connection, plan_id: int) -> tuple[str, int]:
    """The assignment CSV (unit_id, grid_code; empty code: in no grid) and its row count."""
    rows = gq.plan_assignment(conn, plan_id)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=["unit_id", "grid_code"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue(), len(rows)


def export(conn: Connection, plan_id: int, path: Path) -> int:
    """Write the plan to `path` by its suffix; returns the number of rows written."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text, n = assignment_csv(conn, plan_id)
        path.write_text(text, encoding="utf-8")
        return n
    if suffix == ".json" and path.name.endswith(".evaluation.json"):
        out = {"check": plan_check.run(conn, plan_id)["summary"], "metrics": plan_metrics.run(conn, plan_id)}
        path.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return len(out["metrics"]["grids"])
    if suffix not in FORMATS:
        raise UserError(f"{path.name}: write .geojson, .gpkg, .shp, .csv (assignment) or "
                        ".evaluation.json", field="file")
    rows = gq.snapshot(conn, plan_id)
    frame = grids_frame(rows, gq.community_codes(conn, sorted({r["community_id"] for r in rows
                                                               if r["community_id"]})))
    frame.to_file(path, driver=FORMATS[suffix], engine="pyogrio")
    return len(frame)
