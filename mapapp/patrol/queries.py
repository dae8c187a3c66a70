"""SQL of the patrol domain: the routable street network (noding, topology, costs, components),
candidate stops, cost matrices, route paths, reachability and saved patrols. All in pgRouting/PostGIS."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable

import numpy as np
from psycopg.rows import tuple_row
from sqlalchemy import text
from sqlalchemy.engine import Connection

from mapapp.db.session import can_run_side_by_side, driver_cursor, side_by_side
from mapapp.patrol.matrix import cover_missing, put_costs
from mapapp.patrol.network import MODES, ONEWAY_MODES, check_mode, edge_costs

Progress = Callable[[str, int, int], None]
PARALLEL_MIN_VERTICES = 60  # below this a second connection costs more than it saves


def edges_sql(mode: str, bbox: tuple[float, float, float, float] | None = None, reverse: bool = False) -> str:
    """The inner edges query pgRouting runs for one mode (mode from a fixed list, bbox numbers only);
    `reverse` turns every edge around (routes to a vertex become routes from it)."""
    m = check_mode(mode)
    where = f"(cost_{m} >= 0 OR reverse_cost_{m} >= 0)"
    if bbox is not None:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        where += f" AND geom && ST_MakeEnvelope({minx!r}, {miny!r}, {maxx!r}, {maxy!r}, 4326)"
    ends = "target AS source, source AS target" if reverse else "source, target"
    return (f"SELECT id, {ends}, cost_{m} AS cost, reverse_cost_{m} AS reverse_cost "
            f"FROM street_edges WHERE {where}")


# --- building the network ------------------------------------------------------------------------
# ST_Node nodes every crossing of the whole layer at once; each noded piece takes its attributes
# from the street it lies on and is turned to run the way that street is drawn (one-way direction).
_NODE = """
INSERT INTO street_edges (street_id, class, oneway, length_m, geom)
SELECT s.id, s.class, s.oneway, ST_Length(piece::geography),
       CASE WHEN s.forward THEN piece ELSE ST_Reverse(piece) END
  FROM (SELECT (ST_Dump(ST_Node(ST_Collect(geom)))).geom AS piece FROM streets) n
  CROSS JOIN LATERAL (
    SELECT st.id, st.class, st.oneway,
           ST_LineLocatePoint(st.geom, ST_EndPoint(n.piece))
             > ST_LineLocatePoint(st.geom, ST_StartPoint(n.piece))
           OR (ST_IsClosed(st.geom) AND ST_LineLocatePoint(st.geom, ST_EndPoint(n.piece)) = 0) AS forward
      FROM streets st
     WHERE st.geom && n.piece
       AND ST_DWithin(st.geom, ST_LineInterpolatePoint(n.piece, 0.5), 1e-9)
     ORDER BY ST_Distance(st.geom, ST_LineInterpolatePoint(n.piece, 0.5)), st.oneway DESC, st.id
     LIMIT 1) s
 WHERE ST_Length(n.piece) > 0
"""

_TOPOLOGY = """
CREATE TEMP TABLE patrol_vertices ON COMMIT DROP AS
  SELECT id, in_edges, out_edges, geom
    FROM pgr_extractVertices('SELECT id, geom FROM street_edges ORDER BY id');
INSERT INTO street_vertices (id, geom) SELECT id, geom FROM patrol_vertices;
UPDATE street_edges e SET source = v.id
  FROM (SELECT id, unnest(out_edges) AS edge FROM patrol_vertices) v WHERE e.id = v.edge;
UPDATE street_edges e SET target = v.id
  FROM (SELECT id, unnest(in_edges) AS edge FROM patrol_vertices) v WHERE e.id = v.edge;
DROP TABLE patrol_vertices;
"""


def _set_costs(conn: Connection) -> None:
    rows = conn.execute(text("SELECT id, class, oneway, length_m FROM street_edges ORDER BY id")).all()
    if not rows:
        return
    ids, classes, oneway, lengths = (np.asarray(c) for c in zip(*rows))
    params: dict = {"ids": ids.astype(int).tolist()}
    for mode in MODES:
        cost, reverse = edge_costs(classes, lengths.astype(float), oneway.astype(bool), mode)
        params[f"c_{mode}"], params[f"r_{mode}"] = cost.tolist(), reverse.tolist()
    conn.execute(text("""
        UPDATE street_edges e
           SET cost_foot = u.cf, reverse_cost_foot = u.rf, cost_bicycle = u.cb,
               reverse_cost_bicycle = u.rb, cost_car = u.cc, reverse_cost_car = u.rc
          FROM unnest(CAST(:ids AS bigint[]), CAST(:c_foot AS float8[]), CAST(:r_foot AS float8[]),
                      CAST(:c_bicycle AS float8[]), CAST(:r_bicycle AS float8[]),
                      CAST(:c_car AS float8[]), CAST(:r_car AS float8[]))
               AS u(id, cf, rf, cb, rb, cc, rc)
         WHERE e.id = u.id"""), params)


def _set_components(conn: Connection, mode: str) -> None:
    inner = edges_sql(mode)
    conn.execute(text(f"""
        UPDATE street_vertices v SET component_{check_mode(mode)} = c.component
          FROM pgr_connectedComponents(:inner) c WHERE v.id = c.node"""), {"inner": inner})


def rebuild_network(conn: Connection, progress: Progress | None = None) -> dict:
    """Rebuild edges, vertices, costs and components from `streets` in the caller's transaction."""
    steps = ["noding", "topology", "costs"] + [f"components ({m})" for m in MODES]
    tell = progress or (lambda *_: None)
    tell(steps[0], 0, len(steps))
    # DELETE and setval, not TRUNCATE ... RESTART IDENTITY: the app's database role may not
    # truncate and does not own the sequence (mapapp.db.roles)
    conn.execute(text("DELETE FROM street_vertices; DELETE FROM street_edges; "
                      "SELECT setval(pg_get_serial_sequence('street_edges', 'id'), 1, false)"))
    conn.execute(text(_NODE))
    tell(steps[1], 1, len(steps))
    conn.execute(text(_TOPOLOGY))
    tell(steps[2], 2, len(steps))
    _set_costs(conn)
    for i, mode in enumerate(MODES):
        tell(steps[3 + i], 3 + i, len(steps))
        _set_components(conn, mode)
    tell("done", len(steps), len(steps))
    return network_report(conn)


def network_report(conn: Connection) -> dict:
    """Edges, vertices and, per mode, its connected pieces (largest first) with where they are."""
    counts = conn.execute(text("""
        SELECT (SELECT count(*) FROM streets), (SELECT count(*) FROM street_edges),
               (SELECT count(*) FROM street_vertices)""")).one()
    report: dict = {"streets": counts[0], "edges": counts[1], "vertices": counts[2], "modes": {}}
    for mode in MODES:
        rows = conn.execute(text(f"""
            SELECT component_{mode} AS component, count(*) AS vertices,
                   ST_X(ST_Centroid(ST_Collect(geom))) AS lon, ST_Y(ST_Centroid(ST_Collect(geom))) AS lat
              FROM street_vertices WHERE component_{mode} IS NOT NULL
             GROUP BY 1 ORDER BY 2 DESC, 1""")).mappings().all()
        pieces = [{"component": int(r["component"]), "vertices": int(r["vertices"]),
                   "lon": round(float(r["lon"]), 6), "lat": round(float(r["lat"]), 6)} for r in rows]
        report["modes"][mode] = {"components": len(pieces),
                                 "main_vertices": pieces[0]["vertices"] if pieces else 0,
                                 "disconnected": pieces[1:]}
    return report


def network_ready(conn: Connection) -> bool:
    """True when edges exist for the streets that are loaded."""
    return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM street_edges)")).scalar())


# --- the area, candidates and snapping -----------------------------------------------------------
def area_of_grids(conn: Connection, codes: list[str]) -> tuple[str | None, list[str]]:
    """(GeoJSON union of the published grids with these codes, the codes not found)."""
    rows = conn.execute(text("""
        SELECT g.code FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
         WHERE g.code = ANY(:codes)"""), {"codes": codes}).scalars().all()
    missing = sorted(set(codes) - set(rows))
    if missing or not rows:
        return None, missing
    geom = conn.execute(text("""
        SELECT ST_AsGeoJSON(ST_Union(g.geom)) FROM grids g
          JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
         WHERE g.code = ANY(:codes)"""), {"codes": codes}).scalar()
    return geom, []


def area_of_admin(conn: Connection, code: str) -> str | None:
    """GeoJSON of an admin area (community, street or district) by code."""
    return conn.execute(text("SELECT ST_AsGeoJSON(geom) FROM admin_areas WHERE code = :c"),
                        {"c": code}).scalar()


def polygon_area(conn: Connection, geojson: str) -> tuple[str | None, str | None]:
    """(the drawn polygon made valid as GeoJSON, or None with the reason PostGIS gives)."""
    row = conn.execute(text("""
        WITH g AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS geom)
        SELECT GeometryType(geom), ST_IsValid(geom), ST_IsValidReason(geom),
               ST_AsGeoJSON(ST_CollectionExtract(ST_MakeValid(geom), 3)), ST_Area(geom::geography)
          FROM g"""), {"g": geojson}).one()
    if row[0] not in ("POLYGON", "MULTIPOLYGON"):
        return None, f"a {str(row[0]).lower()} is not an area; draw a polygon"
    if not row[4]:
        return None, "the polygon has no area"
    return row[3], None


def area_point(conn: Connection, area: str) -> tuple[float, float]:
    """A point surely inside the area (the default patrol post)."""
    row = conn.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_SetSRID(ST_GeomFromGeoJSON(:a), 4326)) AS p) s"""),
        {"a": area}).one()
    return float(row[0]), float(row[1])


def candidate_items(conn: Connection, area: str, sources: tuple[str, ...]) -> list[dict]:
    """Key places and open incidents inside the area (GeoJSON), each with what gives it value."""
    return [dict(r) for r in conn.execute(text("""
        WITH area AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326) AS geom)
        SELECT 'place' AS kind, k.id AS ref, coalesce(k.name, '') AS name, k.category,
               NULL AS priority, NULL::float8 AS score, ST_X(k.geom) AS lon, ST_Y(k.geom) AS lat
          FROM key_places k, area WHERE 'places' = ANY(:sources) AND ST_Intersects(k.geom, area.geom)
        UNION ALL
        SELECT 'incident', i.id, '', i.category, i.priority, NULL, ST_X(i.geom), ST_Y(i.geom)
          FROM incidents i, area
         WHERE 'incidents' = ANY(:sources) AND i.status NOT IN ('closed', 'voided')
           AND ST_Intersects(i.geom, area.geom)
         ORDER BY 1, 2"""), {"area": area, "sources": list(sources)}).mappings()]


def snap(conn: Connection, lons: list[float], lats: list[float], mode: str) -> list[dict]:
    """Nearest vertex of the mode's network to each point: vertex, its lon/lat, component, metres."""
    m = check_mode(mode)
    rows = conn.execute(text(f"""
        SELECT p.i, v.id AS vertex, ST_X(v.geom) AS vertex_lon, ST_Y(v.geom) AS vertex_lat,
               v.component, ST_Distance(p.geom::geography, v.geom::geography) AS snap_m
          FROM (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom
                  FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
                       WITH ORDINALITY AS u(lon, lat, i)) p
          LEFT JOIN LATERAL (
            SELECT id, geom, component_{m} AS component FROM street_vertices
             WHERE component_{m} IS NOT NULL ORDER BY geom <-> p.geom LIMIT 1) v ON true
         ORDER BY p.i"""), {"lons": list(map(float, lons)), "lats": list(map(float, lats))})
    return [dict(r) for r in rows.mappings()]


# --- travel times and paths ----------------------------------------------------------------------
def cost_matrix(conn: Connection, vertices: list[int], mode: str,
                bbox: tuple[float, float, float, float] | None) -> np.ndarray:
    """Seconds between every pair of vertices (pgr_dijkstraCost, directed); inf = no route.

    Routes on the streets inside `bbox` (None: the whole network); a vertex left with a pair
    unreachable there is routed again on the whole network, so the box never makes a reachable
    stop look disconnected.
    pgRouting's time grows with the number of pairs, so for a mode whose streets cost the same
    both ways (foot) each pair is asked once and the matrix mirrored; the sources are split in
    two halves of the pairs, routed side by side on two connections (see _fetch_side_by_side)."""
    uniq = np.unique(np.asarray(vertices, dtype=np.int64))
    symmetric = check_mode(mode) not in ONEWAY_MODES
    full = np.full((len(uniq), len(uniq)), np.inf)
    edges = edges_sql(mode, bbox)
    if symmetric:  # the first 29 % of the sources hold half of the pairs a < b
        cut = int(len(uniq) * (1 - 2 ** -0.5))
        jobs = [(_PAIRS, (edges, _pairs_sql(part, uniq))) for part in (uniq[:cut], uniq[cut:]) if len(part)]
    else:
        cut = len(uniq) // 2
        jobs = [(_MANY, (edges, part.tolist(), uniq.tolist())) for part in (uniq[:cut], uniq[cut:]) if len(part)]
    rows = _fetch_side_by_side(conn, jobs) if len(uniq) >= PARALLEL_MIN_VERTICES else \
        [r for sql, params in jobs for r in _fetch_binary(conn, sql, params)]
    put_costs(full, uniq, rows, mirror=symmetric)
    np.fill_diagonal(full, 0.0)
    lost = uniq[cover_missing(np.isinf(full))]
    if len(lost):
        put_costs(full, uniq, _costs_from(conn, edges_sql(mode), lost, uniq), mirror=symmetric)
        if not symmetric:  # to the lost vertices = from them on the reversed network
            put_costs(full, uniq, _costs_from(conn, edges_sql(mode, reverse=True), lost, uniq),
                      transpose=True)
    pos = np.searchsorted(uniq, np.asarray(vertices, dtype=np.int64))
    return full[np.ix_(pos, pos)]


def _costs_from(conn: Connection, edges: str, sources: np.ndarray, targets: np.ndarray) -> list[tuple]:
    return _fetch_binary(conn, _MANY, (edges, sources.tolist(), targets.tolist()))


def _pairs_sql(sources: np.ndarray, targets: np.ndarray) -> str:
    """pgRouting combinations SQL: each source with each target of a larger id (ids are numbers)."""
    a = "ARRAY[" + ",".join(str(int(v)) for v in sources) + "]::bigint[]"
    b = "ARRAY[" + ",".join(str(int(v)) for v in targets) + "]::bigint[]"
    return f"SELECT a AS source, b AS target FROM unnest({a}) a, unnest({b}) b WHERE a < b"


def _fetch_side_by_side(conn: Connection, jobs: list[tuple[str, tuple]]) -> list[tuple]:
    """Rows of several queries run at the same time on connections of the engine
    (mapapp.db.session.side_by_side): PostgreSQL runs a query on one core, and pgRouting's matrix
    on two takes about half the time. One after another on conn when it cannot (one core, or its
    transaction has written to the network the others would not see)."""
    if len(jobs) < 2 or not can_run_side_by_side(conn):
        return [r for sql, params in jobs for r in _fetch_binary(conn, sql, params)]
    parts = side_by_side(conn.engine, [functools.partial(_fetch_binary, sql=sql, params=params) for sql, params in jobs])
    return [r for part in parts for r in part]


_PAIRS = "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost(%s, %s, directed => true)"
_MANY = ("SELECT start_vid, end_vid, agg_cost "
         "FROM pgr_dijkstraCost(%s, %s::bigint[], %s::bigint[], directed => true)")


def _fetch_binary(conn: Connection, sql: str, params: tuple) -> list[tuple]:
    """Rows of a query read in PostgreSQL's binary format on the connection's own transaction.

    A 300-stop matrix is ~45,000-90,000 rows: psycopg's binary loaders return them as plain tuples
    in tens of milliseconds, where text rows turned into SQLAlchemy Rows and then into numpy took
    seconds."""
    with driver_cursor(conn, binary=True, row_factory=tuple_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def leg_paths(conn: Connection, legs: list[tuple[int, int]], mode: str,
              bbox: tuple[float, float, float, float]) -> dict[tuple[int, int], dict]:
    """Street path of each (from, to) vertex pair: coordinates in travel order and metres."""
    pairs = sorted({(int(a), int(b)) for a, b in legs if a != b})
    if not pairs:
        return {}
    combos = ("SELECT * FROM (VALUES " + ", ".join(f"({a}, {b})" for a, b in pairs)
              + ") AS t(source, target)")
    rows = conn.execute(text("""
        SELECT d.start_vid, d.end_vid, sum(e.length_m) AS metres,
               ST_AsGeoJSON(ST_MakeLine(CASE WHEN d.node = e.source THEN e.geom
                                             ELSE ST_Reverse(e.geom) END ORDER BY d.path_seq), 6) AS line
          FROM pgr_dijkstra(:edges, :combos, directed => true) d
          JOIN street_edges e ON e.id = d.edge
         GROUP BY d.start_vid, d.end_vid"""), {"edges": edges_sql(mode, bbox), "combos": combos})
    return {(int(r[0]), int(r[1])): {"metres": float(r[2]), "coordinates": json.loads(r[3])["coordinates"]}
            for r in rows}


# --- saved patrols -------------------------------------------------------------------------------
def save_patrol(conn: Connection, user_id: int | None, params: dict, summary: dict, routes: dict) -> int:
    return int(conn.execute(text("""
        INSERT INTO patrols (created_by, params, summary, routes)
        VALUES (:u, CAST(:p AS jsonb), CAST(:s AS jsonb), CAST(:r AS jsonb)) RETURNING id"""),
        {"u": user_id, "p": json.dumps(params, ensure_ascii=False),
         "s": json.dumps(summary, ensure_ascii=False),
         "r": json.dumps(routes, ensure_ascii=False)}).scalar_one())


def get_patrol(conn: Connection, patrol_id: int) -> dict | None:
    row = conn.execute(text("""
        SELECT p.id, p.created_at, u.name AS created_by, p.params, p.summary, p.routes
          FROM patrols p LEFT JOIN users u ON u.id = p.created_by WHERE p.id = :id"""),
        {"id": patrol_id}).mappings().first()
    return dict(row) if row else None


# --- reachability --------------------------------------------------------------------------------
def reach(conn: Connection, vertex: int, mode: str, minutes: list[float],
          bbox: tuple[float, float, float, float]) -> list[dict]:
    """For each number of minutes: the area reached from `vertex` (pgr_drivingDistance, then a
    concave hull of the reached vertices widened by 30 m to take in the street sides), always a
    valid polygon, with the published grids it covers at least half of."""
    rows = conn.execute(text("""
        WITH reached AS (
          SELECT d.agg_cost, v.geom
            FROM pgr_drivingDistance(:edges, :vertex, :limit, directed => true) d
            JOIN street_vertices v ON v.id = d.node),
        bands AS (
          SELECT b.minutes, count(r.*) AS vertices,
                 ST_Buffer(ST_ConcaveHull(ST_Collect(r.geom), 0.2)::geography, 30)::geometry AS geom
            FROM unnest(CAST(:minutes AS float8[])) AS b(minutes)
            JOIN reached r ON r.agg_cost <= b.minutes * 60
           GROUP BY b.minutes)
        SELECT b.minutes, b.vertices, ST_AsGeoJSON(ST_CollectionExtract(ST_MakeValid(b.geom), 3), 6) AS geometry,
               ST_Area(b.geom::geography) AS area_m2,
               (SELECT coalesce(array_agg(g.code ORDER BY g.code), '{}')
                  FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
                 WHERE g.geom && b.geom
                   AND ST_Area(ST_Intersection(g.geom, b.geom)) >= 0.5 * ST_Area(g.geom)) AS grids
          FROM bands b ORDER BY b.minutes"""),
        {"edges": edges_sql(mode, bbox), "vertex": int(vertex), "limit": max(minutes) * 60.0,
         "minutes": [float(m) for m in minutes]}).mappings().all()
    return [{"minutes": float(r["minutes"]), "vertices": int(r["vertices"]),
             "geometry": json.loads(r["geometry"]), "area_m2": round(float(r["area_m2"]), 1),
             "grids": list(r["grids"])} for r in rows]


def snap_post(conn: Connection, lon: float, lat: float, mode: str) -> dict:
    """Nearest vertex to a patrol post on the largest network piece around it (within 2 km), so a
    post beside a footbridge or a courtyard path still routes into the city; plain snap otherwise."""
    m = check_mode(mode)
    row = conn.execute(text(f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
        near AS (
          SELECT v.id, v.geom, v.component_{m} AS component FROM street_vertices v, p
           WHERE v.component_{m} IS NOT NULL AND v.geom && ST_Expand(p.geom, 0.04)
             AND ST_DWithin(v.geom::geography, p.geom::geography, 2000)),
        main AS (SELECT component FROM near GROUP BY component ORDER BY count(*) DESC, component LIMIT 1)
        SELECT n.id AS vertex, ST_X(n.geom) AS vertex_lon, ST_Y(n.geom) AS vertex_lat, n.component,
               ST_Distance(n.geom::geography, p.geom::geography) AS snap_m
          FROM near n, p WHERE n.component = (SELECT component FROM main)
         ORDER BY n.geom <-> p.geom LIMIT 1"""), {"lon": float(lon), "lat": float(lat)}).mappings().first()
    return dict(row) if row else snap(conn, [lon], [lat], mode)[0]
