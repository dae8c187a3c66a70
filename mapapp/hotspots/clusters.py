"""DBSCAN clusters (ST_ClusterDBSCAN in PostGIS) and kernel density of the filtered incidents,
as answers for the API: every choice is in `meta`. No Flask; SQL only in queries.py."""
from __future__ import annotations

import json
import math

import numpy as np
from pyproj import Transformer
from sqlalchemy.engine import Connection

from mapapp.hotspots import density, queries as q
from mapapp.hotspots.analysis import Meaningless, study_area
from mapapp.hotspots.params import ClusterParams, DensityParams
from mapapp.incidents.filters import IncidentFilter

MAX_RASTER = 400  # cells a side
MAX_POINTS = 200_000


def clusters(conn: Connection, f: IncidentFilter, p: ClusterParams) -> dict:
    """Clusters largest first (then by first incident id, so the order never changes)."""
    area, srid = study_area(conn, p.area)
    rows, noise = q.dbscan_clusters(conn, f, area_code=area.code, srid=srid, eps=p.eps,
                                    minpoints=p.minpoints)
    features = [{"type": "Feature", "id": int(r["rank"]), "geometry": json.loads(r["hull"]),
                 "properties": {"cluster": int(r["rank"]), "count": int(r["n"]),
                                "dominant_category": r["dominant"],
                                "dominant_share": round(r["dominant_n"] / r["n"], 3)}}
                for r in rows]
    return {"type": "FeatureCollection", "features": features, "meta": {
        "method": "dbscan", "eps_m": p.eps, "minpoints": p.minpoints, "crs": f"EPSG:{srid}",
        "area": {"code": area.code, "name": area.name}, "clusters": len(features),
        "clustered": sum(int(r["n"]) for r in rows), "noise": noise,
        "order": "largest first, ties by smallest incident id; hulls are convex"}}


def heat(conn: Connection, f: IncidentFilter, p: DensityParams) -> dict:
    """Kernel density raster (incidents per km²) with its bandwidth and how it was chosen."""
    area, srid = study_area(conn, p.area)
    n = q.count(conn, f, area_code=area.code)
    if n < 2:
        raise Meaningless(f"{n} incidents match the filter inside {area.name}; a density needs more")
    xy = q.points(conn, f, area_code=area.code, srid=srid, stride=max(1, math.ceil(n / MAX_POINTS)))
    if p.bandwidth is None:
        bandwidth, rule = density.silverman_bandwidth(xy), "Silverman's rule of thumb"
    else:
        bandwidth, rule = p.bandwidth, "given"
    minx, miny, maxx, maxy = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
    pad = 2 * bandwidth
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    side = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    cell = max(p.cell or bandwidth / 4, side / MAX_RASTER)
    d = density.kde(xy, bounds, bandwidth, cell)
    scale = n / len(xy)
    lon, lat = Transformer.from_crs(srid, 4326, always_xy=True).transform(
        [d.bounds[0], d.bounds[2], d.bounds[0], d.bounds[2]], [d.bounds[1], d.bounds[1], d.bounds[3], d.bounds[3]])
    return {"meta": {"method": "kde", "kernel": "gaussian", "bandwidth_m": round(bandwidth, 1),
                     "bandwidth_rule": rule, "cell_m": round(cell, 1), "crs": f"EPSG:{srid}",
                     "incidents": n, "sampled": len(xy), "unit": "incidents per km²",
                     "area": {"code": area.code, "name": area.name}},
            "bounds": [round(v, 1) for v in d.bounds],
            "bounds_lonlat": [[round(min(lat), 6), round(min(lon), 6)], [round(max(lat), 6), round(max(lon), 6)]],
            "width": d.values.shape[1],
            "height": d.values.shape[0], "max": round(float(d.values.max()) * scale, 3),
            "values": np.round(d.values * scale, 3).tolist()}
