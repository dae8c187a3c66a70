"""POST /api/plans/<id>/auto in the domain: a new draft whose grids are redistricted per
community from base units (mapapp.grids.auto), keeping locked grids when asked, with a report."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from mapapp.errors import UserError
from mapapp.geo.crs import WGS84, project
from mapapp.grids import edits, plan_check
from mapapp.grids import queries as gq
from mapapp.grids.auto import NoBalancedPlan, infeasible_units, redistrict


def run(conn: Connection, plan_id: int, name: str, low: float, high: float,
        keep_locked: bool = True, progress: Callable[[int, int], None] | None = None) -> dict:
    """Build the draft in the caller's transaction; returns its id and the run's report;
    `progress(done, total)` after each community (the command line draws a bar)."""
    t0 = time.perf_counter()
    comms, units = gq.plan_scope_rows(conn, plan_id)
    if not comms:
        raise UserError(f"plan {plan_id} lies in no community", field="plan")
    layers = plan_check.layers_from_rows([], comms, units)
    crs = plan_check.metric_crs(layers.community_geoms)

    def crs_to(geoms: np.ndarray) -> np.ndarray:
        return project(geoms, WGS84, crs)
    kept = [r for r in gq.snapshot(conn, plan_id) if keep_locked and r["locked"]]
    locked = shapely.union_all(shapely.from_geojson(np.array([r["geometry"] for r in kept], dtype=object))) \
        if kept else shapely.Polygon()
    pts = shapely.point_on_surface(layers.unit_geoms)
    free = ~shapely.intersects(locked, pts) if kept else np.ones(len(pts), dtype=bool)
    ui, ci = shapely.STRtree(layers.community_geoms).query(pts, predicate="intersects")
    new_rows, report_geoms, report_hh, infeasible, forced = [], [], [], [], np.array([], dtype=bool)
    for c, comm in enumerate(comms):
        mine = ui[(ci == c) & free[ui]]
        area = shapely.difference(layers.community_geoms[c], locked)
        if len(mine) == 0 or area.is_empty:
            continue
        try:
            res = redistrict(area, pts[mine], layers.unit_households[mine], low, high,
                             xy=shapely.get_coordinates(crs_to(pts[mine])))
        except NoBalancedPlan as exc:
            raise UserError(f"community {comm['code']}: {exc}", field="band", status=422,
                            code="no_balanced_plan") from None
        big = infeasible_units(layers.unit_households[mine], high)
        infeasible += [{"community": comm["code"], "unit": int(layers.unit_ids[mine[u]]),
                        "households": int(layers.unit_households[mine[u]]),
                        "reason": f"{int(layers.unit_households[mine[u]])} households > {high:g} in one "
                                  "base unit: no grid holding it can be in band"} for u in big]
        forced = np.r_[forced, np.isin(np.arange(len(res.geoms)), res.labels[big])]
        geoms = res.geoms
        codes = edits.sequence_codes(comm["code"], shapely.get_coordinates(shapely.centroid(geoms)))
        taken = {r["code"] for r in kept}
        codes = [code if code not in taken else code + "A" for code in codes]  # beside a kept grid
        new_rows += [{"code": code, "name": code, "community_id": comm["id"], "locked": False,
                      "staffing": 1, "waiver": None, "grid_head": None, "police_officer": None,
                      "assistant": None, "supervisor": None, "geometry": shapely.to_geojson(g)}
                     for code, g in zip(codes, geoms)]
        report_geoms.append(crs_to(res.geoms))
        report_hh.append(res.households)
        if progress:
            progress(c + 1, len(comms))
    draft = gq.create_empty_draft(conn, name, plan_id)
    gq.replace_grids(conn, draft, [], kept + new_rows)
    g = np.concatenate(report_geoms) if report_geoms else np.array([], dtype=object)
    hh = np.concatenate(report_hh) if report_hh else np.array([])
    pp = 4 * np.pi * shapely.area(g) / np.maximum(shapely.length(g), 1e-9) ** 2
    changed = gq.compare(conn, plan_id, draft)
    return {"plan": draft, "report": {
        "grids": len(kept) + len(new_rows), "kept_locked": len(kept),
        "band_violations": int(((hh < low) | (hh > high)).sum()),
        "band_violations_avoidable": int((((hh < low) | (hh > high)) & ~forced).sum()),
        "infeasible": infeasible,
        "households_min": int(hh.min()) if len(hh) else None, "households_max": int(hh.max()) if len(hh) else None,
        "polsby_popper_mean": round(float(pp.mean()), 3) if len(pp) else None,
        "polsby_popper_worst": round(float(pp.min()), 3) if len(pp) else None,
        "non_contiguous": int((shapely.get_num_geometries(g) > 1).sum()),
        "households_changed_share": round(changed["changed"] / changed["households"], 4)
        if changed["households"] else 0.0,
        "seconds": round(time.perf_counter() - t0, 3)}}
