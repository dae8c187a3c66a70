"""Metrics of a stored plan: workload rows from queries.py -> GridFrame in metres -> evaluate."""
from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from mapapp.geo.crs import WGS84, project
from mapapp.grids import queries as gq
from mapapp.grids.metrics import DEFAULT_BANDS, REGISTRY, Band, GridFrame, evaluate
from mapapp.grids.plan_check import metric_crs


def parse_bands(spec: str | None) -> tuple[Band, ...]:
    """"households:300:500:2,incidents_12m:10:50:1" -> bands; raises ValueError naming the fault."""
    if not spec:
        return DEFAULT_BANDS
    bands = []
    for part in spec.split(","):
        bits = part.strip().split(":")
        if len(bits) not in (3, 4):
            raise ValueError(f"band {part!r} is not metric:low:high[:weight]")
        try:
            low, high = float(bits[1]), float(bits[2])
            weight = float(bits[3]) if len(bits) == 4 else 1.0
        except ValueError:
            raise ValueError(f"band {part!r}: low, high and weight must be numbers") from None
        if bits[0] not in REGISTRY:
            raise ValueError(f"band {part!r}: unknown metric {bits[0]!r}")
        if not 0 <= low < high or weight <= 0:
            raise ValueError(f"band {part!r}: needs 0 <= low < high and weight > 0")
        bands.append(Band(bits[0], low, high, weight))
    return tuple(bands)


def frame_from_rows(rows: list[dict]) -> GridFrame:
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in rows], dtype=object))
    metric = project(geoms, WGS84, metric_crs(geoms)) if len(geoms) else geoms

    def col(k: str) -> np.ndarray:
        return np.array([r[k] for r in rows], dtype=float)

    return GridFrame(codes=np.array([r["code"] for r in rows], dtype=object), geoms=metric,
                     households=col("households"), population=col("population"),
                     incidents_12m=col("incidents_12m"), key_places=col("key_places"),
                     staffing=col("staffing"))


def run(conn: Connection, plan_id: int, bands: tuple[Band, ...] = DEFAULT_BANDS,
        codes: list[str] | None = None) -> dict:
    """Per-grid metrics with band flags, the plan figures and each metric's provenance; with
    `codes`, only those grids (after an edit: computed from the change, not the whole plan)."""
    rows = gq.plan_workload_rows(conn, plan_id, codes)
    out = evaluate(frame_from_rows(rows), bands)
    names = [r["name"] for r in rows]
    grids = [{"code": code, "name": name, "waiver": rows[i]["waiver"],
              **{k: round(float(v[i]), 4) for k, v in out["values"].items()},
              "flags": {k: str(v[i]) for k, v in out["flags"].items()},
              "deviation": {k: round(float(v[i]), 4) for k, v in out["deviation"].items()},
              "score": round(float(out["score"][i]), 4), "in_band": bool(out["in_band"][i])}
             for i, (code, name) in enumerate(zip([r["code"] for r in rows], names))]
    return {"plan": plan_id, "summary": out["plan"], "bands": out["bands"], "grids": grids,
            "provenance": out["provenance"]}

