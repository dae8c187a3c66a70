"""Every SQL statement of hotspot analysis, parameterised: the study area, incidents counted into
cells (the lattice of PostGIS hexagons/squares in a metric CRS, the incidents' stored metres read
packed and binned in numpy by mapapp.hotspots.binning; or the grids of a plan) and sampled points.
Incidents are filtered by the one incident filter builder (mapapp.incidents.queries.where)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
from psycopg.rows import tuple_row
from sqlalchemy import text
from sqlalchemy.engine import Connection

from mapapp.db.session import can_run_side_by_side, driver_cursor, side_by_side
from mapapp.hotspots import binning, h3cells
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


# The filtered incidents in the area's bounds as one packed bytea of big-endian float8s per row
# (lon, lat[, what it adds up][, time step]): a million rows arrive in ~0.3 s, where ST_Transform,
# ST_Intersects and a GROUP BY per row in SQL took ~3 s. The bounds are literals so the planner
# sees how much of the table they cover and scans it sequentially when that is most of it; the
# exact area test and the binning are done in numpy (mapapp.hotspots.binning).
_POINT_BYTES = """
SELECT string_agg({columns}, ''::bytea)
  FROM incidents i
 WHERE {cond} AND i.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)"""

# The frame of an area for reading metres: a box in `srid` holding the area (its lon/lat envelope,
# densified so the box follows its curved image, plus 1 m) and a lon/lat box holding that one.
_FRAME = """
WITH a AS (SELECT ST_Transform(ST_Segmentize(ST_Envelope(geom), 0.001), :srid) AS m
             FROM admin_areas WHERE code = :area),
  b AS (SELECT ST_Expand(ST_Envelope(m), 1) AS m FROM a),
  e AS (SELECT ST_Expand(ST_Envelope(ST_Transform(ST_Segmentize(b.m, 100), 4326)), 1e-5) AS g FROM b)
SELECT ST_XMin(b.m), ST_YMin(b.m), ST_XMax(b.m), ST_YMax(b.m),
       ST_XMin(e.g), ST_YMin(e.g), ST_XMax(e.g), ST_YMax(e.g)
  FROM b, e"""

# The filtered incidents of the frame as packed big-endian float8s per row (x, y in `srid`[, what
# it adds up][, time step]), in one snapshot (one statement, or two at once: _SECOND_HALF), as two parts:
#  - every incident of the frame: in the area's UTM zone its stored metres (migrations 0009-0010),
#    read by an index-only scan of incidents_utm when the filter is time and category (no geometry is
#    touched: decoding a million geometries or ST_Transform per row cost ~0.3 s / ~1 s); in another
#    zone (or none) ST_Transform here;
#  - those of them outside the area (NOT ST_Intersects, the exact test), found through the GiST
#    index in small pieces of the frame that are not the area (cut at 1/200 of the frame, so
#    their boxes hug the area's outline; MATERIALIZED, or a plan for unanalysed tables cut the
#    area again for every incident): the caller takes them out (binning.without).
# So the area test runs only where it can fail, and the sums stay exact.
_SAME_ZONE = ("i.utm_srid = :srid AND i.utm_x BETWEEN :bxmin AND :bxmax "
              "AND i.utm_y BETWEEN :bymin AND :bymax")
_OTHER_ZONE = ("(i.utm_srid < :srid OR i.utm_srid > :srid OR i.utm_srid IS NULL) "
               "AND i.geom && ST_MakeEnvelope(:exmin, :eymin, :exmax, :eymax, 4326)")
_METRIC_POINTS = """
WITH area AS (SELECT geom AS g FROM admin_areas WHERE code = :area),
  pieces AS MATERIALIZED (SELECT ST_Expand(ST_Subdivide(ST_Segmentize(ST_Difference(
                 ST_MakeEnvelope(:exmin, :eymin, :exmax, :eymax, 4326), area.g), :cut), 8), 1e-9) AS g
               FROM area),
  outside AS MATERIALIZED (
    SELECT DISTINCT ON (i.id) {any_columns} AS row
      FROM pieces p JOIN incidents i ON i.geom && p.g, area
     WHERE {cond} AND (({same_zone}) OR ({other_zone})) AND NOT ST_Intersects(area.g, i.geom)
     ORDER BY i.id)
SELECT (SELECT string_agg(f.row, ''::bytea) FROM (
          SELECT {same_columns} AS row FROM incidents i WHERE {cond} AND {same_zone}{first_half}
          UNION ALL
          SELECT {other_columns} FROM incidents i WHERE {cond} AND {other_zone}) f),
       (SELECT string_agg(row, ''::bytea) FROM outside)"""
# With a large table the same-zone rows are read in two halves of its pages at once, on two
# connections sharing one snapshot (PostgreSQL 15 cannot run string_agg in parallel itself): the
# statement above takes the first half (and the other zones and the rows outside the area), this
# one the second (mapapp.db.session.side_by_side): 0.16 s instead of 0.30 s for a million rows on
# 2 cores. A block range is a TID range scan of half the table, or a filter on an index scan; the
# halves (from pg_class.relpages, however stale) always cover the table between them, so the sums
# stay exact.
_FIRST_HALF = " AND i.ctid < CAST(:half AS tid)"
_SECOND_HALF = """
SELECT string_agg({same_columns}, ''::bytea) FROM incidents i
 WHERE {cond} AND {same_zone} AND i.ctid >= CAST(:half AS tid)"""
#: split the read when the table holds this many rows (pg_class.reltuples) and the planner expects
#: the filter to take this share of them: a selective filter is read through an index in one go
#: (7 days of a million: 0.03-0.04 s in one read, 0.16 s in two halves of the table)
SPLIT_ROWS, SPLIT_SHARE = 200_000, 0.5
# metres of an incident in another zone (transformed here) or in either; in the area's zone they
# are read packed as stored (utm_xy: float8send of utm_x and utm_y, migration 0010), naming no
# geometry so that the scan can be index-only
_METRES = {"other": "ST_{axis}(ST_Transform(i.geom, :srid))",
           "any": "CASE WHEN i.utm_srid = :srid THEN i.utm_{axis} ELSE ST_{axis}(ST_Transform(i.geom, :srid)) END"}

# The cells of the lattice: every ST_HexagonGrid/ST_SquareGrid cell touching the area (mask) or
# its bounds, and its outline (GeoJSON, lon/lat) when the answer draws it. Centres are arithmetic
# (mapapp.hotspots.binning.CENTRE): ST_Centroid and the outlines took ~0.9 s of ~1.2 s for 41,500
# cells (busy machine), and statistics alone (backtest counts, benchmarks) need no outline.
_LATTICE = """
WITH area AS (SELECT ST_Transform(geom, :srid) AS g FROM admin_areas WHERE code = :area)
SELECT c.i, c.j{outline}
  FROM area, {func}(:size, area.g) c
 WHERE NOT :mask OR ST_Intersects(c.geom, area.g)
 ORDER BY c.i, c.j"""
_OUTLINE = ", ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6)"

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


@dataclass(frozen=True)
class Points:
    """Filtered incidents in the area: lon/lat, metres in the area's CRS, what each adds up, and
    (for a cube) its time step."""
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    k: np.ndarray | None = None


def area_shape(conn: Connection, area_code: str) -> tuple[list[float], bytes]:
    """The area's bounds (lon/lat) and its outline as WKB."""
    bounds, wkb = conn.execute(text(
        "SELECT ARRAY[ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)], ST_AsBinary(geom) "
        "FROM admin_areas WHERE code = :area"), {"area": area_code}).one()
    return bounds, bytes(wkb)


def area_points(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int,
                weight: str = "none", step: str | None = None, start=None) -> Points:
    """The filter's incidents inside the area (ST_Intersects semantics), fetched packed and
    projected to `srid`; with `step`, each one's whole days/weeks/months since `start`."""
    cond, params = where(f)
    bounds, wkb = area_shape(conn, area_code)
    columns = ["ST_X(i.geom)", "ST_Y(i.geom)"] + ([WEIGHTS[weight]] if weight != "none" else []) \
        + ([_STEP[step]] if step else [])
    sql = _POINT_BYTES.format(cond=cond, columns=" || ".join(f"float8send(({c})::float8)" for c in columns))
    extra = {"start": start, "start_month": start.year * 12 + start.month} if step else {}
    (packed,) = _binary_row(conn, sql, {**params, **extra, "xmin": bounds[0], "ymin": bounds[1],
                                        "xmax": bounds[2], "ymax": bounds[3]})
    rows = np.frombuffer(packed or b"", dtype=">f8").reshape(-1, len(columns)).astype(float)
    rows = rows[binning.inside(bytes(wkb), rows[:, 0], rows[:, 1])]
    x, y = binning.project(rows[:, 0], rows[:, 1], srid)
    w = rows[:, 2] if weight != "none" else np.ones(len(rows))
    return Points(lon=rows[:, 0], lat=rows[:, 1], x=np.asarray(x), y=np.asarray(y), w=w,
                  k=rows[:, -1].astype(np.int64) if step else None)


def _binary_row(conn: Connection, sql: str, params: dict) -> tuple:
    """One row read in PostgreSQL's binary format (same transaction): a bytea of a million points
    arrives as its 16 MB, not as 32 MB of hex text to encode and decode (~0.1-0.2 s)."""
    named = {k: v for k, v in params.items() if re.search(rf":{k}\b", sql)}
    compiled = text(sql).bindparams(**named).compile(dialect=conn.dialect)
    with driver_cursor(conn, binary=True, row_factory=tuple_row) as cur:
        return cur.execute(str(compiled), compiled.params).fetchone()


@dataclass(frozen=True)
class MetricPoints:
    """Filtered incidents of an area in metres: x, y, what each adds up and, for a cube, its time
    step."""
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    k: np.ndarray | None = None


def metric_points(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int,
                  weight: str = "none", step: str | None = None, start=None) -> MetricPoints:
    """The filter's incidents in the area (ST_Intersects semantics) as metres in `srid`: the
    incidents of the area's frame less those of them outside the area; with `step`, whole
    days/weeks/months since `start`."""
    cond, params = where(f)
    frame = conn.execute(text(_FRAME), {"area": area_code, "srid": srid}).one()
    extra = ([WEIGHTS[weight]] if weight != "none" else []) + ([_STEP[step]] if step else [])

    def packed(kind: str) -> str:
        metres = ["i.utm_xy"] if kind == "same" else [
            f"float8send({_METRES[kind].format(axis=a)})" for a in "xy"]
        return " || ".join(metres + [f"float8send(({c})::float8)" for c in extra])

    steps = {"start": start, "start_month": start.year * 12 + start.month} if step else {}
    box = dict(zip(("bxmin", "bymin", "bxmax", "bymax", "exmin", "eymin", "exmax", "eymax"), frame))
    cut = max(box["exmax"] - box["exmin"], box["eymax"] - box["eymin"]) / 200
    values = {**params, **steps, **box, "cut": cut, "area": area_code, "srid": srid}
    rows, pages = conn.execute(text("SELECT reltuples, relpages FROM pg_class WHERE oid = 'incidents'::regclass")).one()
    half = None
    if rows >= SPLIT_ROWS and can_run_side_by_side(conn):
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM incidents i WHERE {cond} AND {_SAME_ZONE}"),
                            values).scalar_one()
        if plan[0]["Plan"]["Plan Rows"] >= SPLIT_SHARE * rows:
            half = f"({max(int(pages), 1) // 2 + 1},0)"
    sql = _METRIC_POINTS.format(cond=cond, same_zone=_SAME_ZONE, other_zone=_OTHER_ZONE,
                                same_columns=packed("same"), other_columns=packed("other"),
                                any_columns=packed("any"), first_half=_FIRST_HALF if half else "")

    def read(statement: str):
        def job(c: Connection) -> tuple:
            # PostGIS functions are costed so high that the estimate asks for JIT, which spent ~1 s
            # compiling a statement that runs in a few tenths: off for this transaction
            c.execute(text("SELECT set_config('jit', 'off', true)"))
            return _binary_row(c, statement, {**values, "half": half})
        return job

    if half is None:
        inside, outside = read(sql)(conn)
    else:
        second = _SECOND_HALF.format(same_columns=packed("same"), cond=cond, same_zone=_SAME_ZONE)
        (inside, outside), (rest,) = side_by_side(conn.engine, [read(sql), read(second)])
        inside = (inside or b"") + (rest or b"")
    width = 2 + len(extra)
    frame_rows, outside_rows = (np.frombuffer(b or b"", dtype=">f8").reshape(-1, width)
                                for b in (inside, outside))
    rows = binning.without(frame_rows, outside_rows).astype(float)
    return MetricPoints(x=rows[:, 0], y=rows[:, 1],
                        w=rows[:, 2] if weight != "none" else np.ones(len(rows)),
                        k=rows[:, -1].astype(np.int64) if step else None)


def lattice(conn: Connection, *, area_code: str, srid: int, shape: str, size: float,
            mask: bool = True, outlines: bool = True) -> tuple[np.ndarray, np.ndarray, Cells]:
    """The ST_HexagonGrid ('hex') / ST_SquareGrid ('square') cells of `size` metres touching the
    area (mask) or its bounds: their (i, j) and the cells with zero counts (geometry empty
    without `outlines`)."""
    func = {"hex": "ST_HexagonGrid", "square": "ST_SquareGrid"}[shape]
    sql = _LATTICE.format(func=func, outline=_OUTLINE if outlines else "")
    rows = conn.execute(text(sql), {"area": area_code, "srid": srid, "size": size, "mask": mask}).all()
    i = np.array([r[0] for r in rows], dtype=np.int64)
    j = np.array([r[1] for r in rows], dtype=np.int64)
    x, y = binning.CENTRE[shape](i, j, size)
    cells = Cells(ids=[f"{a},{b}" for a, b in zip(i.tolist(), j.tolist())], x=x, y=y,
                  count=np.zeros(len(rows)), geometry=[r[2] for r in rows] if outlines else [])
    return i, j, cells


def lattice_cells(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int, shape: str,
                  size: float, mask: bool = True, weight: str = "none", outlines: bool = True) -> Cells:
    """Incidents summed into ST_HexagonGrid ('hex') or ST_SquareGrid ('square') cells of `size`
    metres in `srid`, every cell touching the area (mask) or its bounds included, zeros too;
    without `outlines` for statistics alone (no GeoJSON geometry)."""
    i, j, cells = lattice(conn, area_code=area_code, srid=srid, shape=shape, size=size, mask=mask,
                          outlines=outlines)
    pts = metric_points(conn, f, area_code=area_code, srid=srid, weight=weight)
    pi, pj = binning.INDEX[shape](pts.x, pts.y, size)
    return replace(cells, count=binning.sum_into(i, j, pi, pj, pts.w)[:, 0])


def h3_cells(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int, resolution: int,
             mask: bool = True, weight: str = "none") -> Cells:
    """Incidents summed into the H3 cells of `resolution` overlapping the area (mask) or its
    bounds, zeros too, plus any cell holding an incident of the area; centroids in `srid`."""
    _, wkb = area_shape(conn, area_code)
    pts = area_points(conn, f, area_code=area_code, srid=srid, weight=weight)
    held = h3cells.point_cells(pts.lon, pts.lat, resolution)
    cells = np.union1d(h3cells.area_cells(wkb, resolution, mask), held)
    counts = np.bincount(np.searchsorted(cells, held), weights=pts.w, minlength=len(cells))
    lon, lat = h3cells.centres(cells)
    x, y = binning.project(lon, lat, srid)
    return Cells(ids=h3cells.ids(cells), x=np.asarray(x), y=np.asarray(y), count=counts,
                 geometry=h3cells.outlines(cells))


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

def lattice_cube(conn: Connection, f: IncidentFilter, *, area_code: str, srid: int, shape: str,
                 size: float, step: str, start, steps: int, ids: list[str],
                 weight: str = "none") -> np.ndarray:
    """Counts per cell (rows in the order of `ids`, "i,j") and time step: the space-time cube."""
    pts = metric_points(conn, f, area_code=area_code, srid=srid, weight=weight, step=step, start=start)
    ij = np.array([cid.split(",") for cid in ids], dtype=np.int64).reshape(-1, 2)
    pi, pj = binning.INDEX[shape](pts.x, pts.y, size)
    return binning.sum_into(ij[:, 0], ij[:, 1], pi, pj, pts.w, layers=pts.k, n_layers=steps)
