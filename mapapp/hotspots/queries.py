"""Every SQL statement of hotspot analysis, parameterised: the study area, incidents counted into
cells (PostGIS hexagons/squares in a metric CRS, or the grids of a plan) and sampled points.
Incidents are filtered by the one incident filter builder (mapapp.incidents.queries.where)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from mapapp.incidents.filters import IncidentFilter
from mapapp.incidents.queries import where

#: what a cell adds up per incident: one, or the incident's count/weight column (1 when empty)
WEIGHTS = {"none": "1", "count": "coalesce(i.count, 1)", "weight": "coalesce(i.weight, 1)"}


@dataclass(frozen=True)
class Cells:
    """Cells of a study area: id, centroid in metres (x, y), summed incidents, GeoJSON (lon/lat)."""
    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    geometry: list[str]


@dataclass(frozen=True)
class Area:
    """A study area (an admin area, normally a district): code, name, centroid, bounds, m²."""
    code: str
    name: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float]
    area_m2: float


def area(conn: Connection, code: str | None) -> Area | None:
    """The admin area with this code, or the first district when code is None."""
    row = conn.execute(text("""
        SELECT code, name, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)),
               ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom), ST_Area(geom::geography)
          FROM admin_areas
         WHERE code = CAST(:code AS text) OR (CAST(:code AS text) IS NULL AND level = 'district')
         ORDER BY code LIMIT 1"""), {"code": code}).first()
    if row is None:
        return None
    return Area(row[0], row[1], float(row[2]), float(row[3]), tuple(float(v) for v in row[4:8]),
                float(row[8]))


# Incidents of the filter inside the study area, in the metric CRS, with what each adds up.
_POINTS = """
  area AS (SELECT geom AS g4326, ST_Transform(geom, :srid) AS g FROM admin_areas WHERE code = :area),
  pts AS (SELECT ST_X(p) AS x, ST_Y(p) AS y, w{extra} FROM (
            SELECT ST_Transform(i.geom, :srid) AS p, {weight} AS w{step}
              FROM incidents i, area
             WHERE {cond} AND ST_Intersects(area.g4326, i.geom) OFFSET 0) s)"""

# Point -> PostGIS ST_HexagonGrid cell (i, j) in closed form, so a million points are binned in
# one scan instead of a million point-in-hexagon tests. ST_HexagonGrid puts cell (i, j) at
# x = 1.5 s i, y = sqrt(3) s (j + (i odd) / 2) with s the edge; the point's fractional axial
# coordinates are rounded in cube space (the standard nearest-hexagon rounding).
_HEX_INDEX = """
  binned AS (
    SELECT hi::int AS i, (hr + floor(hi / 2.0))::int AS j{extra}, sum(w) AS n FROM (
      SELECT CASE WHEN dq > dr AND dq > dy THEN -ry - rr ELSE rq END AS hi,
             CASE WHEN dq > dr AND dq > dy THEN rr WHEN dy > dr THEN rr ELSE -rq - ry END AS hr, w{extra}
        FROM (SELECT rq, rr, ry, abs(rq - qf) AS dq, abs(rr - rf) AS dr, abs(ry + qf + rf) AS dy, w{extra}
                FROM (SELECT round(qf) AS rq, round(rf) AS rr, round(-qf - rf) AS ry, qf, rf, w{extra}
                        FROM (SELECT x / (1.5 * :size) AS qf, (y / sqrt(3.0) - x / 3.0) / :size AS rf, w{extra}
                                FROM pts OFFSET 0) a) b) c) d
     GROUP BY 1, 2{extra})"""

_SQUARE_INDEX = """
  binned AS (SELECT floor(x / :size)::int AS i, floor(y / :size)::int AS j{extra}, sum(w) AS n
               FROM pts GROUP BY 1, 2{extra})"""

_LATTICE = """
WITH {points}, {index},
  cells AS (SELECT c.i, c.j, c.geom FROM area, {func}(:size, area.g) c
             WHERE NOT :mask OR ST_Intersects(c.geom, area.g))
SELECT c.i || ',' || c.j AS id, ST_X(ST_Centroid(c.geom)) AS x, ST_Y(ST_Centroid(c.geom)) AS y,
       coalesce(b.n, 0) AS n, ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6) AS geometry
  FROM cells c LEFT JOIN binned b ON b.i = c.i AND b.j = c.j
 ORDER BY c.i, c.j"""

_PLAN_GRIDS = """
WITH area AS (SELECT geom AS g4326 FROM admin_areas WHERE code = :area),
  plan AS (SELECT id FROM grid_plans
            WHERE (CAST(:plan AS text) = 'published' AND status = 'published')
               OR (CAST(:plan AS text) <> 'published' AND name = CAST(:plan AS text)))
SELECT g.code AS id, ST_X(ST_Centroid(ST_Transform(g.geom, :srid))) AS x,
       ST_Y(ST_Centroid(ST_Transform(g.geom, :srid))) AS y,
       (SELECT coalesce(sum({weight}), 0) FROM incidents i
         WHERE {cond} AND ST_Intersects(g.geom, i.geom) AND ST_Intersects(area.g4326, i.geom)) AS n,
       ST_AsGeoJSON(g.geom, 6) AS geometry
  FROM grids g JOIN plan ON plan.id = g.plan_id, area
 WHERE ST_Intersects(g.geom, area.g4326)
 ORDER BY g.code"""


def _cells(rows) -> Cells:
    return Cells(ids=[r[0] for r in rows], x=np.array([r[1] for r in rows], dtype=float),
                 y=np.array([r[2] for r in rows], dtype=float),
                 count=np.array([r[3] for r in rows], dtype=float), geometry=[r[4] for r in rows])


def lattice_cells(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int, shape: str,
                  size: float, mask: bool = True, weight: str = "none") -> Cells:
    """Incidents summed into ST_HexagonGrid ('hex') or ST_SquareGrid ('square') cells of `size`
    metres in `srid`, every cell touching the area (mask) or its bounds included, zeros too."""
    cond, params = where(f)
    index, func = {"hex": (_HEX_INDEX, "ST_HexagonGrid"),
                   "square": (_SQUARE_INDEX, "ST_SquareGrid")}[shape]
    sql = _LATTICE.format(points=_POINTS.format(weight=WEIGHTS[weight], cond=cond, step="", extra=""),
                          index=index.format(extra=""), func=func)
    rows = conn.execute(text(sql), {**params, "area": area_code, "srid": srid, "size": size,
                                    "mask": mask}).all()
    return _cells(rows)


def plan_cells(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int,
               plan: str = "published", weight: str = "none") -> Cells:
    """Incidents summed into the grids of a plan ('published' or a plan name) in the area."""
    cond, params = where(f)
    sql = _PLAN_GRIDS.format(weight=WEIGHTS[weight], cond=cond)
    rows = conn.execute(text(sql), {**params, "area": area_code, "srid": srid, "plan": plan}).all()
    return _cells(rows)


_SAMPLE = """
WITH area AS (SELECT geom AS g4326 FROM admin_areas WHERE code = :area)
SELECT ST_X(p), ST_Y(p) FROM (
  SELECT ST_Transform(i.geom, :srid) AS p FROM incidents i, area
   WHERE {cond} AND ST_Intersects(area.g4326, i.geom) AND i.id % :stride = 0) s"""

_COUNT = """
WITH area AS (SELECT geom AS g4326 FROM admin_areas WHERE code = :area)
SELECT count(*) FROM incidents i, area WHERE {cond} AND ST_Intersects(area.g4326, i.geom)"""


def count(conn: Connection, f: IncidentFilter, *, area_code: str) -> int:
    """Incidents of the filter inside the area."""
    cond, params = where(f)
    return conn.execute(text(_COUNT.format(cond=cond)), {**params, "area": area_code}).scalar_one()


def points(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int,
           stride: int = 1) -> np.ndarray:
    """Incident locations (n x 2, metres) in the area; every `stride`-th by id, to sample."""
    cond, params = where(f)
    rows = conn.execute(text(_SAMPLE.format(cond=cond)),
                        {**params, "area": area_code, "srid": srid, "stride": stride}).all()
    return np.array(rows, dtype=float).reshape(-1, 2)


# DBSCAN over the metric points; the window's ORDER BY id makes cluster numbers repeatable, and
# clusters are numbered again by size (then by their smallest incident id) for the answer.
_DBSCAN = """
WITH area AS (SELECT geom AS g4326 FROM admin_areas WHERE code = :area),
  pts AS (SELECT i.id, i.category, i.geom,
                 ST_ClusterDBSCAN(ST_Transform(i.geom, :srid), eps => :eps, minpoints => :minpoints)
                   OVER (ORDER BY i.id) AS cid
            FROM incidents i, area WHERE {cond} AND ST_Intersects(area.g4326, i.geom)),
  dom AS (SELECT DISTINCT ON (cid) cid, category AS dominant, count(*) AS dominant_n
            FROM pts WHERE cid IS NOT NULL GROUP BY cid, category
           ORDER BY cid, count(*) DESC, category),
  clusters AS (SELECT cid, count(*) AS n, min(id) AS first_id,
                      ST_AsGeoJSON(ST_ConvexHull(ST_Collect(geom)), 6) AS hull
                 FROM pts WHERE cid IS NOT NULL GROUP BY cid)
SELECT row_number() OVER (ORDER BY n DESC, first_id) AS rank, n, first_id, dominant, dominant_n, hull,
       (SELECT count(*) FROM pts WHERE cid IS NULL) AS noise
  FROM clusters JOIN dom USING (cid) ORDER BY rank"""


def dbscan_clusters(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int,
                    eps: float, minpoints: int) -> tuple[list[dict], int]:
    """ST_ClusterDBSCAN clusters (hull, count, dominant category) largest first, and the noise."""
    cond, params = where(f)
    rows = conn.execute(text(_DBSCAN.format(cond=cond)), {
        **params, "area": area_code, "srid": srid, "eps": eps, "minpoints": minpoints}).mappings().all()
    if not rows:
        return [], count(conn, f, area_code=area_code)
    return [dict(r) for r in rows], int(rows[0]["noise"])


# The time step of an incident: whole days/weeks/months since :start (UTC).
_STEP = {"day": "floor(extract(epoch FROM i.reported_at - :start) / 86400)::int",
         "week": "floor(extract(epoch FROM i.reported_at - :start) / 604800)::int",
         "month": "((extract(year FROM i.reported_at AT TIME ZONE 'UTC') * 12"
                  " + extract(month FROM i.reported_at AT TIME ZONE 'UTC'))::int - :start_month)"}

_CUBE = """
WITH {points}, {index}
SELECT i || ',' || j AS id, k, n FROM binned WHERE k >= 0 AND k < :steps"""


def lattice_cube(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int, shape: str,
                 size: float, step: str, start, steps: int, ids: list[str],
                 weight: str = "none") -> np.ndarray:
    """Counts per cell (rows in the order of `ids`) and time step: the space-time cube."""
    cond, params = where(f)
    index = {"hex": _HEX_INDEX, "square": _SQUARE_INDEX}[shape]
    sql = _CUBE.format(points=_POINTS.format(weight=WEIGHTS[weight], cond=cond,
                                             step=f", {_STEP[step]} AS k", extra=", k"),
                       index=index.format(extra=", k"))
    rows = conn.execute(text(sql), {**params, "area": area_code, "srid": srid, "size": size,
                                    "start": start, "start_month": start.year * 12 + start.month,
                                    "steps": steps}).all()
    cube = np.zeros((len(ids), steps))
    row_of = {cid: r for r, cid in enumerate(ids)}
    if rows:
        r = np.array([row_of[cid] for cid, _, _ in rows])
        cube[r, [k for _, k, _ in rows]] = [n for _, _, n in rows]
    return cube
