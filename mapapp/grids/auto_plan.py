"""POST /api/plans/<id>/auto in the domain: a new draft whose grids are redistricted per
community from base units (mapapp.grids.auto), or from street blocks (mapapp.grids.street_blocks),
keeping locked grids and, when asked, every current grid already in band
(mapapp.grids.auto_keep), with a report."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from mapapp.errors import UserError
from mapapp.geo.crs import WGS84, project
from mapapp.grids import edits, plan_check
from mapapp.grids import queries as gq
from mapapp.grids.auto import AutoResult, NoBalancedPlan, infeasible_units, part_count, split_units
from mapapp.grids.auto_keep import match_origin, replan
from mapapp.grids.street_blocks import redistrict_blocks

_CARRIED = ("code", "name", "staffing", "grid_head", "police_officer", "assistant", "supervisor")


@dataclass(frozen=True)
class AutoOptions:
    """What the planner asked for; time_limit in seconds (band repair and the release of kept
    grids stop when it is reached, and the report says so)."""
    keep_locked: bool = True
    minimise_disruption: bool = False
    follow_streets: bool = False
    time_limit: float = 60.0


_FLAGS = {"keep_locked": True, "minimise_disruption": False, "follow_streets": False,
          "respect_communities": True}  # option -> default
MAX_TIME_LIMIT = 600.0


def parse_options(body: dict) -> tuple[float, float, AutoOptions]:
    """Band and options from a request body; a bad value is a UserError naming its field."""
    unknown = sorted(set(body) - {"name", "band", "time_limit", *_FLAGS})
    if unknown:
        raise UserError(f"unknown option {unknown[0]!r}; options are band, time_limit, "
                        + ", ".join(_FLAGS), field=unknown[0])
    band = body.get("band", [300, 500])
    if (not isinstance(band, list) or len(band) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in band)
            or not 0 < band[0] < band[1]):
        raise UserError("band must be [low, high] households with 0 < low < high", field="band")
    limit = body.get("time_limit", AutoOptions.time_limit)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 1 <= limit <= MAX_TIME_LIMIT:
        raise UserError(f"time_limit must be a number of seconds from 1 to {MAX_TIME_LIMIT:g}",
                        field="time_limit")
    flags = {}
    for key, default in _FLAGS.items():
        value = body.get(key, default)
        if not isinstance(value, bool):
            raise UserError(f"{key} must be true or false", field=key)
        flags[key] = value
    if not flags.pop("respect_communities"):
        raise UserError("grids always lie inside one community (the publish gate requires it); "
                        "respect_communities cannot be false", field="respect_communities")
    return float(band[0]), float(band[1]), AutoOptions(time_limit=float(limit), **flags)


def run(conn: Connection, plan_id: int, name: str, low: float, high: float,
        options: AutoOptions = AutoOptions(), progress: Callable[[int, int], None] | None = None) -> dict:
    """Build the draft in the caller's transaction; returns its id and the run's report;
    `progress(done, total)` after each community (the command line draws a bar)."""
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit
    comms, units = gq.plan_scope_rows(conn, plan_id)
    if not comms:
        raise UserError(f"plan {plan_id} lies in no community", field="plan")
    layers = plan_check.layers_from_rows([], comms, units)
    crs = plan_check.metric_crs(layers.community_geoms)

    def crs_to(geoms: np.ndarray) -> np.ndarray:
        return project(geoms, WGS84, crs)
    current_rows = gq.snapshot(conn, plan_id)
    current_geoms = shapely.from_geojson(np.array([r["geometry"] for r in current_rows], dtype=object)) \
        if current_rows else np.array([], dtype=object)
    is_locked = np.array([bool(options.keep_locked and r["locked"]) for r in current_rows], dtype=bool)
    kept = [r for r, lk in zip(current_rows, is_locked) if lk]
    locked = shapely.union_all(current_geoms[is_locked]) if kept else shapely.Polygon()
    pts = shapely.point_on_surface(layers.unit_geoms)
    free = ~shapely.intersects(locked, pts) if kept else np.ones(len(pts), dtype=bool)
    current = np.full(len(pts), -1)
    if len(current_geoms):
        ui_, gi_ = shapely.STRtree(current_geoms).query(pts, predicate="intersects")
        current[ui_[::-1]] = gi_[::-1]
    streets = shapely.from_wkb(np.array(gq.scope_streets(conn, [c["id"] for c in comms]), dtype=object)) \
        if options.follow_streets else None
    ui, ci = shapely.STRtree(layers.community_geoms).query(pts, predicate="intersects")
    taken = {r["code"] for r in kept}
    new_rows, report_geoms, report_hh, infeasible, forced = [], [], [], [], np.array([], dtype=bool)
    split_blocks: list[dict] = []
    kept_unchanged, late = 0, False
    for c, comm in enumerate(comms):
        mine = ui[(ci == c) & free[ui]]
        area = shapely.difference(layers.community_geoms[c], locked)
        if len(mine) == 0 or area.is_empty:
            continue
        hh = layers.unit_households[mine].astype(float)
        split = _splitter(comm["code"], pts[mine], hh, low, high, crs_to, streets, deadline, split_blocks)
        try:
            if options.minimise_disruption and len(current_geoms):
                cand = np.flatnonzero(~is_locked & shapely.intersects(current_geoms, area))
                local = np.full(len(current_geoms), -1)
                local[cand] = np.arange(len(cand))
                cur = np.where(current[mine] >= 0, local[np.maximum(current[mine], 0)], -1)
                res = replan(area, pts[mine], hh, cur, current_geoms[cand], low, high, split, deadline)
                origin = np.where(res.origin >= 0, cand[np.maximum(res.origin, 0)], -1)
                kept_unchanged += res.kept
                late |= res.time_limit_reached
            else:
                res = split(area, np.arange(len(mine)))
                origin = match_origin(res.labels, current[mine], hh, len(res.geoms),
                                      np.unique(current[mine][current[mine] >= 0]))
        except NoBalancedPlan as exc:
            raise UserError(f"community {comm['code']}: {exc}", field="band", status=422,
                            code="no_balanced_plan") from None
        big = infeasible_units(hh, high)
        infeasible += [{"community": comm["code"], "unit": int(layers.unit_ids[mine[u]]),
                        "households": int(hh[u]),
                        "reason": f"{int(hh[u])} households > {high:g} in one "
                                  "base unit: no grid holding it can be in band"} for u in big]
        forced = np.r_[forced, np.isin(np.arange(len(res.geoms)), res.labels[big])]
        new_rows += _rows(comm, res.geoms, origin, current_rows, taken)
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
    seconds = time.perf_counter() - t0
    return {"plan": draft, "report": {
        "grids": len(kept) + len(new_rows), "kept_locked": len(kept),
        "kept_unchanged": kept_unchanged,
        "band_violations": int(((hh < low) | (hh > high)).sum()),
        "band_violations_avoidable": int((((hh < low) | (hh > high)) & ~forced).sum()),
        "infeasible": infeasible,
        "split_blocks": split_blocks,
        "households_min": int(hh.min()) if len(hh) else None, "households_max": int(hh.max()) if len(hh) else None,
        "polsby_popper_mean": round(float(pp.mean()), 3) if len(pp) else None,
        "polsby_popper_worst": round(float(pp.min()), 3) if len(pp) else None,
        "non_contiguous": int((shapely.get_num_geometries(g) > 1).sum()),
        "households_changed_share": round(changed["changed"] / changed["households"], 4)
        if changed["households"] else 0.0,
        "options": {"keep_locked": options.keep_locked, "minimise_disruption": options.minimise_disruption,
                    "follow_streets": options.follow_streets, "time_limit": options.time_limit},
        "time_limit_reached": bool(late or seconds > options.time_limit),
        "seconds": round(seconds, 3)}}


def _splitter(code: str, pts: np.ndarray, hh: np.ndarray, low: float, high: float,
              crs_to: Callable[[np.ndarray], np.ndarray], streets: np.ndarray | None,
              deadline: float, split_blocks: list[dict]) -> Callable[[shapely.Geometry, np.ndarray], AutoResult]:
    """How a region of a community is cut into grids: Voronoi cells of its buildings, or whole
    street blocks (blocks over the band's top split by their buildings, recorded)."""
    xy = shapely.get_coordinates(crs_to(pts))

    def by_units(region, idx: np.ndarray) -> AutoResult:
        k = part_count(float(hh[idx].sum()), low, high)
        return split_units(region, pts[idx], hh[idx], k, xy[idx], (low, high), deadline)

    def by_blocks(region, idx: np.ndarray) -> AutoResult:
        near = streets[shapely.intersects(streets, region)]
        out = redistrict_blocks(region, near, pts[idx], hh[idx], low, high,
                                lambda p: shapely.get_coordinates(crs_to(p)), deadline)
        split_blocks.extend({"community": code, "households": int(h), "geometry": json.loads(shapely.to_geojson(b))}
                            for b, h in zip(out.split_blocks, out.split_households))
        return out.result
    return by_units if streets is None else by_blocks


def _rows(comm: dict, geoms: np.ndarray, origin: np.ndarray, current_rows: list[dict], taken: set) -> list[dict]:
    """Grid rows for one community: a grid that continues a current grid keeps its code, name,
    staffing and people; the others get fresh sequence codes (north-west first)."""
    codes = edits.sequence_codes(comm["code"], shapely.get_coordinates(shapely.centroid(geoms)))
    rows = []
    for g, o in sorted(zip(geoms, origin), key=lambda t: t[1] < 0):  # continued grids claim codes first
        row = {"code": None, "name": None, "community_id": comm["id"], "locked": False, "staffing": 1,
               "waiver": None, "grid_head": None, "police_officer": None, "assistant": None,
               "supervisor": None, "geometry": shapely.to_geojson(g)}
        if o >= 0 and current_rows[o]["code"] not in taken:
            row |= {k: current_rows[o][k] for k in _CARRIED}
        rows.append(row)
        if row["code"] is not None:
            taken.add(row["code"])
    fresh = iter(c for c in codes if c not in taken)
    for row in rows:
        if row["code"] is None:
            row["code"] = row["name"] = next(fresh, None) or f"{comm['code']}X{len(taken)}"
            taken.add(row["code"])
    return rows
