"""Plan a patrol shift: area -> candidates snapped to the network -> pgRouting travel times ->
OR-Tools routes -> street paths -> GeoJSON. Unreachable candidates are reported and skipped."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.engine import Connection

from mapapp.errors import NotFound, ParamError, UserError
from mapapp.incidents.filters import IncidentFilter
from mapapp.patrol import queries as q
from mapapp.patrol.candidates import MAX_SNAP_M, bbox_around, group_stops, item_values
from mapapp.patrol.network import SPEEDS_KMH
from mapapp.patrol.output import candidate_collection, feature_collection
from mapapp.patrol.request import PlanRequest
from mapapp.patrol.solver import FIRST_STOP, Problem, default_time_limit, greedy, solve

DETOUR_MARGIN_M = 1500.0
HOTSPOT_DAYS = 30
ITEM_COLUMNS = ["kind", "ref", "name", "category", "priority", "score", "lon", "lat"]


def resolve_area(conn: Connection, area: dict) -> str:
    """The area as GeoJSON; NotFound/ParamError naming area.<kind> when it does not resolve."""
    (kind, value), = area.items()
    if kind == "grids":
        geom, missing = q.area_of_grids(conn, value)
        if geom is None:
            raise NotFound(f"no published grid {', '.join(missing)}", field="area.grids")
        return geom
    if kind == "community":
        geom = q.area_of_admin(conn, value)
        if geom is None:
            raise NotFound(f"no admin area with code {value!r}", field="area.community")
        return geom
    geom, why = q.polygon_area(conn, json.dumps(value))
    if geom is None:
        raise ParamError(f"area.polygon: {why}", field="area.polygon")
    return geom


def _hotspot_items(conn: Connection, area: str, req: PlanRequest) -> pd.DataFrame:
    """Hot cells of mapapp.hotspots (Gi*, 95 % confidence or more, incidents of the last
    HOTSPOT_DAYS days) whose centre lies in the area; the cell's z score is its value."""
    from mapapp.hotspots.analysis import run
    from mapapp.hotspots.params import HotspotParams

    since = req.start_time - timedelta(days=HOTSPOT_DAYS)
    try:
        cells = json.loads(run(conn, IncidentFilter(since=since), HotspotParams()))["features"]
    except UserError:  # too few incidents or cells for Gi*: no hotspot candidates, others still count
        cells = []
    hot = [c for c in cells if c["properties"]["bin"] >= 2]
    if not hot:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    centres = shapely.centroid(shapely.from_geojson([json.dumps(c["geometry"]) for c in hot]))
    inside = shapely.contains(shapely.from_geojson(area), centres)
    return pd.DataFrame({
        "kind": "hotspot", "ref": [c.get("id") for c in hot], "name": "",
        "category": [f"gi_star_bin_{c['properties']['bin']}" for c in hot], "priority": None,
        "score": [c["properties"]["z"] for c in hot],
        "lon": shapely.get_x(centres), "lat": shapely.get_y(centres)})[inside]


def _items(conn: Connection, area: str, req: PlanRequest) -> pd.DataFrame:
    items = pd.DataFrame(q.candidate_items(conn, area, req.sources), columns=ITEM_COLUMNS)
    if "hotspots" in req.sources:
        hot = _hotspot_items(conn, area, req)
        items = pd.concat([items, hot], ignore_index=True) if len(hot) else items
    items["value"] = item_values(items["kind"], items["category"], items["priority"], items["score"])
    items["label"] = [{"kind": k, "ref": r, "name": n, "category": c}
                      for k, r, n, c in zip(items["kind"], items["ref"], items["name"], items["category"])]
    return items


def _depot(snapped: dict, point: tuple[float, float], field: str, mode: str) -> dict:
    if snapped["vertex"] is None or snapped["snap_m"] > MAX_SNAP_M:
        where = "no street" if snapped["vertex"] is None else f"{snapped['snap_m']:.0f} m from the nearest street"
        raise ParamError(f"{field} {list(point)} is {where} usable by {mode} "
                         f"(at most {MAX_SNAP_M:.0f} m)", field=field)
    return {"vertex": int(snapped["vertex"]), "lon": snapped["vertex_lon"], "lat": snapped["vertex_lat"],
            "component": snapped["component"]}


def gather(conn: Connection, req: PlanRequest) -> dict:
    """The area, its candidate stops snapped to the network (valuable first), depots, far items."""
    if not q.network_ready(conn):
        raise UserError("the street network is not built: import streets or run "
                        "`mapapp patrol network`", code="no_network", status=409, field="area")
    area = resolve_area(conn, req.area)
    start = req.start or q.area_point(conn, area)
    end = req.end or start
    items = _items(conn, area, req)
    snapped = pd.DataFrame(q.snap(conn, items["lon"].tolist(), items["lat"].tolist(), req.mode),
                           columns=["i", "vertex", "vertex_lon", "vertex_lat", "component", "snap_m"])
    depots = {"start": _depot(q.snap_post(conn, *start, req.mode), start, "start", req.mode),
              "end": _depot(q.snap_post(conn, *end, req.mode), end, "end", req.mode)}
    items = pd.concat([items.reset_index(drop=True),
                       snapped[["vertex", "vertex_lon", "vertex_lat", "component", "snap_m"]]
                       .reset_index(drop=True)], axis=1)
    stops, far = group_stops(items, req.max_candidates)
    skipped = [{"reason": "far_from_network", "lon": float(r.lon), "lat": float(r.lat),
                "value": float(r.value), "items": [r.label]} for r in far.itertuples()]
    return {"area": area, "stops": stops, "depots": depots, "skipped": skipped}


def prepare(conn: Connection, req: PlanRequest) -> dict:
    """Everything the solver needs: stops, depots, travel matrix, what was skipped, timings."""
    started = time.monotonic()
    found = gather(conn, req)
    stops, depots, skipped = found["stops"], found["depots"], found["skipped"]
    vertices = [depots["start"]["vertex"], depots["end"]["vertex"], *stops["vertex"].astype(int)]
    lons = np.array([depots["start"]["lon"], depots["end"]["lon"], *stops["lon"]], dtype=float)
    lats = np.array([depots["start"]["lat"], depots["end"]["lat"], *stops["lat"]], dtype=float)
    bbox = bbox_around(lons, lats, DETOUR_MARGIN_M)
    prepared_at = time.monotonic()
    travel = q.cost_matrix(conn, vertices, req.mode, bbox)
    matrix_s = time.monotonic() - prepared_at
    if not np.isfinite(travel[0, 1]):
        raise UserError(f"no {req.mode} route leads from start to end on the street network",
                        code="unreachable", status=422, field="end")
    reach = np.isfinite(travel[0, FIRST_STOP:]) & np.isfinite(travel[FIRST_STOP:, 1])
    skipped += [{"reason": "disconnected", "lon": float(r.lon), "lat": float(r.lat),
                 "value": float(r.value), "items": list(r.items)} for r in stops[~reach].itertuples()]
    keep = np.concatenate([[0, 1], np.flatnonzero(reach) + FIRST_STOP])
    return {"stops": stops[reach].reset_index(drop=True), "depots": depots, "bbox": bbox,
            "travel": travel[np.ix_(keep, keep)], "skipped": skipped,
            "timings": {"prepare_s": round(prepared_at - started, 3), "matrix_s": round(matrix_s, 3)}}


def candidates(conn: Connection, req: PlanRequest) -> dict:
    """Candidate stops of the area as GeoJSON (value, items), before any planning."""
    found = gather(conn, req)
    return candidate_collection(found["stops"], found["skipped"], found["depots"], found["area"])


def reachable_areas(conn: Connection, point: tuple[float, float], mode: str,
                    minutes: list[float]) -> dict:
    """What can be reached from a point in each number of minutes, as GeoJSON polygons."""
    depot = _depot(q.snap_post(conn, *point, mode), point, "from", mode)
    fastest = max(SPEEDS_KMH[mode].values()) / 3.6
    bbox = bbox_around(np.array([depot["lon"]]), np.array([depot["lat"]]), fastest * max(minutes) * 60)
    bands = q.reach(conn, depot["vertex"], mode, minutes, bbox)
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": b.pop("geometry"),
                          "properties": {"mode": mode, **b}} for b in bands],
            "from": [depot["lon"], depot["lat"]]}


def problem_for(req: PlanRequest, prepared: dict) -> Problem:
    stops = prepared["stops"]
    return Problem(prepared["travel"], stops["value"].to_numpy(dtype=float),
                   np.full(len(stops), req.dwell_minutes * 60.0), req.shift_minutes * 60.0, req.teams,
                   req.revisit_minutes * 60.0 if req.revisit_minutes else None)


def plan(conn: Connection, req: PlanRequest, method: str = "ortools") -> dict:
    """The patrol plan as a GeoJSON FeatureCollection (see mapapp.patrol.output)."""
    started = time.monotonic()
    prepared = prepare(conn, req)
    problem = problem_for(req, prepared)
    limit = req.time_limit or default_time_limit(problem)
    solution = solve(problem, time_limit=limit) if method == "ortools" else greedy(problem)
    stops, depots = prepared["stops"], prepared["depots"]
    legs_wanted = []
    for route in solution.routes:
        path = [depots["start"]["vertex"], *stops["vertex"].iloc[route.stops].astype(int),
                depots["end"]["vertex"]]
        legs_wanted += list(zip(path, path[1:]))
    paths_at = time.monotonic()
    legs = q.leg_paths(conn, legs_wanted, req.mode, prepared["bbox"])
    timings = {**prepared["timings"], "time_limit_s": limit, "solve_s": round(solution.seconds, 3),
               "paths_s": round(time.monotonic() - paths_at, 3),
               "total_s": round(time.monotonic() - started, 3)}
    return feature_collection(stops=stops, solution=solution, legs=legs, depots=depots,
                              skipped=prepared["skipped"], start_time=req.start_time,
                              dwell_s=req.dwell_minutes * 60.0, timings=timings, params=req.as_json())
