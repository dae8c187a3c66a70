"""One emerging hot spot run: cells, the space-time cube from the database, Gi* per step,
Mann-Kendall and the 17 categories, as a FeatureCollection with `meta`. No Flask."""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy.engine import Connection

from mapapp.hotspots import emerging, queries as q
from mapapp.hotspots.analysis import Meaningless, cells_for, study_area, weights_for
from mapapp.hotspots.params import EmergingParams
from mapapp.incidents.filters import IncidentFilter

MIN_STEPS, FEW_STEPS, MAX_STEPS = 4, 10, 120


def _steps(since: datetime, until: datetime, step: str) -> tuple[datetime, int]:
    if step == "month":
        start = since.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        last = until - timedelta(microseconds=1)
        return start, (last.year * 12 + last.month) - (start.year * 12 + start.month) + 1
    seconds = 86400 if step == "day" else 7 * 86400
    return since, math.ceil((until - since).total_seconds() / seconds)


def run(conn: Connection, f: IncidentFilter, ep: EmergingParams,
        progress: Callable[[str], None] = lambda _: None) -> dict:
    """Emerging hot spot categories per cell over the steps from f.since to f.until (or now);
    `progress` is told each stage (the CLI prints them)."""
    p = ep.hotspot
    until = f.until or datetime.now(timezone.utc)
    start, steps = _steps(f.since, until, ep.step)
    if steps < MIN_STEPS:
        raise Meaningless(f"only {steps} {ep.step}s between since and until; a trend needs at least "
                          f"{MIN_STEPS} (better {FEW_STEPS})", field="since")
    if steps > MAX_STEPS:
        raise Meaningless(f"{steps} {ep.step}s is more than {MAX_STEPS}; use a longer step",
                          field="step")
    area, srid = study_area(conn, p.area)
    progress(f"counting incidents in {area.name}")
    n_incidents = q.count(conn, f, area_code=area.code)
    if n_incidents == 0:
        raise Meaningless(f"no incidents match the filter inside {area.name} ({area.code})")
    chosen: list[dict] = []
    meta: dict = {}
    progress(f"{n_incidents:,} incidents; counting them into cells")
    cells, size = cells_for(conn, f, p, area, srid, n_incidents, chosen)
    if len(cells.ids) < 3 or np.all(cells.count == cells.count[0]):
        raise Meaningless("too few cells or no variation between them", field="size")
    progress(f"{len(cells.ids):,} cells; building the space-time cube of {steps} {ep.step}s")
    cube = q.lattice_cube(conn, f, area_code=area.code, srid=srid, shape=p.cells, size=size,
                          step=ep.step, start=start, steps=steps, ids=cells.ids, weight=p.weight)
    xy = np.column_stack([cells.x, cells.y])
    w = weights_for(xy, cells.count, p, chosen, meta)
    progress(f"Gi* for each of {steps} {ep.step}s, Mann-Kendall per cell")
    z = emerging.gi_star_cube(cube, w)
    category, trend_z, trend_p = emerging.classify(z, alpha=0.1, fdr=p.fdr)
    state = emerging.significant_steps(z, 0.1, p.fdr)
    names = [emerging.CATEGORIES[c] for c in category]
    warnings = []
    if steps < FEW_STEPS:
        warnings.append({"code": "few_steps", "message": f"only {steps} time steps; ArcGIS asks for at least {FEW_STEPS}"})
    features = [{"type": "Feature", "id": cid, "geometry": json.loads(geom), "properties": {
        "category": name, "count": float(total), "trend_z": round(float(tz), 4),
        "trend_p": round(float(tp), 6), "hot_steps": int(h), "cold_steps": int(c),
        "last_z": round(float(lz), 4)}}
        for cid, geom, name, total, tz, tp, h, c, lz in zip(
            cells.ids, cells.geometry, names, cells.count, trend_z, trend_p,
            (state > 0).sum(axis=1), (state < 0).sum(axis=1), z[:, -1])]
    meta.update({"method": "emerging", "cells": p.cells, "size_m": size, "crs": f"EPSG:{srid}",
                 "area": {"code": area.code, "name": area.name}, "step": ep.step, "steps": steps,
                 "start": start.isoformat(), "until": until.isoformat(), "incidents": n_incidents,
                 "significance": "90 % per step (two-sided)" + (", FDR per step" if p.fdr else ""),
                 "trend": "Mann-Kendall on each cell's Gi* z-scores, 95 %",
                 "categories": dict(Counter(names)), "chosen": chosen, "warnings": warnings})
    return {"type": "FeatureCollection", "features": features, "meta": meta}
