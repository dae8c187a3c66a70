"""Runs the coverage check on a stored plan: rows from queries.py -> metric arrays -> GeoJSON."""
from __future__ import annotations

import json

import numpy as np
import pyproj
import shapely
from sqlalchemy.engine import Connection

from mapapp.geo.crs import WGS84, project, utm_crs_for
from mapapp.grids import queries as gq
from mapapp.grids.coverage import CheckOptions, PlanLayers, check


def metric_crs(wkb_geoms: np.ndarray) -> pyproj.CRS:
    """The UTM zone at the centre of the geometries' extent."""
    minx, miny, maxx, maxy = shapely.total_bounds(wkb_geoms)
    return utm_crs_for((minx + maxx) / 2, (miny + maxy) / 2)


def layers_from_rows(grids: list[dict], comms: list[dict], units: list[dict]) -> PlanLayers:
    """Parse WKB columns once; areas are measured in the city's UTM zone."""
    g = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in grids], dtype=object))
    c = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in comms], dtype=object))
    u = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in units], dtype=object))
    both = np.concatenate([g, c])
    crs = metric_crs(both) if len(both) else utm_crs_for(0.0, 0.0)
    return PlanLayers(
        grid_codes=np.array([r["code"] for r in grids], dtype=object),
        grid_geoms=g,
        grid_community=np.array([r["community_id"] for r in grids], dtype=int),
        community_ids=np.array([r["id"] for r in comms], dtype=int),
        community_codes=np.array([r["code"] for r in comms], dtype=object),
        community_geoms=c,
        unit_ids=np.array([r["id"] for r in units], dtype=int),
        unit_geoms=u,
        unit_households=np.array([r["households"] for r in units], dtype=int),
        metric=lambda geoms: project(geoms, WGS84, crs),
    )


def problem_features(table: dict) -> list[dict]:
    """GeoJSON features of the problem table, one per problem."""
    geo = shapely.to_geojson(shapely.set_precision(table["geom"], 1e-7)) if len(table["kind"]) else []
    cols = [table[k].tolist() for k in ("kind", "grid", "other", "community", "unit", "area")]
    return [{"type": "Feature", "geometry": json.loads(gj),
             "properties": {"kind": kind, "grid": grid, "other": other, "community": comm,
                            "unit": None if unit is None else int(unit), "area_m2": round(area, 1)}}
            for gj, kind, grid, other, comm, unit, area in zip(geo, *cols)]


def run(conn: Connection, plan_id: int, opts: CheckOptions = CheckOptions()) -> dict:
    """The check of one stored plan as a FeatureCollection with a summary."""
    grids = gq.plan_grid_rows(conn, plan_id)
    comms, units = gq.plan_scope_rows(conn, plan_id)
    table, summary = check(layers_from_rows(grids, comms, units), opts)
    return {"type": "FeatureCollection", "plan": plan_id, "summary": summary,
            "features": problem_features(table)}


LOCAL_KINDS = ("gap", "overlap", "outside", "crosses_community", "unassigned_unit",
               "multiply_assigned_unit")


def _areal(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygon parts of clipped geometries (neighbours touching the region leave lines and
    points): which rows keep an area, and their parts as multipolygons."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    keep = np.unique(idx[poly])
    multi = shapely.multipolygons(parts[poly], indices=np.searchsorted(keep, idx[poly]))
    return keep, np.asarray(multi, dtype=object).reshape(-1)


def run_local(conn: Connection, plan_id: int, changed: list, opts: CheckOptions = CheckOptions()) -> dict:
    """The check restricted to where an edit happened (the union of the changed grids before and
    after): grids, communities and units there are clipped to that region, so the cost follows
    the edit, not the plan. Problems elsewhere are not reported."""
    region = shapely.union_all(shapely.from_geojson(np.array(changed, dtype=object)))
    rows = gq.local_rows(conn, plan_id, tuple(shapely.bounds(region)))
    layers = layers_from_rows(rows["grids"], rows["comms"], rows["units"])
    g_keep, g_geoms = _areal(shapely.intersection(layers.grid_geoms, region))
    c_keep, c_geoms = _areal(shapely.intersection(layers.community_geoms, region))
    clip = PlanLayers(**{**layers.__dict__,
                         "grid_codes": layers.grid_codes[g_keep], "grid_geoms": g_geoms,
                         "grid_community": layers.grid_community[g_keep],
                         "community_ids": layers.community_ids[c_keep],
                         "community_codes": layers.community_codes[c_keep], "community_geoms": c_geoms})
    inside = shapely.intersects(region, shapely.point_on_surface(clip.unit_geoms))
    clip = PlanLayers(**{**clip.__dict__, "unit_ids": clip.unit_ids[inside],
                         "unit_geoms": clip.unit_geoms[inside],
                         "unit_households": clip.unit_households[inside]})
    table, _ = check(clip, opts)
    keep = np.isin(table["kind"], LOCAL_KINDS)
    table = {k: v[keep] for k, v in table.items()}
    return {"type": "FeatureCollection", "plan": plan_id, "local": True,
            "features": problem_features(table)}
