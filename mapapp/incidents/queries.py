"""Every SQL statement over incidents, parameterised. `where` is the one filter builder."""
from __future__ import annotations

import functools
import json
from dataclasses import replace

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection

from mapapp.audit import queries as audit_q
from mapapp.db.session import driver_cursor
from mapapp.incidents import tally
from mapapp.incidents.filters import OPEN_STATUSES, IncidentFilter


def where(f: IncidentFilter, alias: str = "i", prefix: str = "") -> tuple[str, dict]:
    """SQL condition and bound parameters for a filter (the keyset cursor is the caller's);
    `prefix` names the parameters apart when one statement holds several conditions."""
    parts: list[str] = ["TRUE"]
    params: dict = {}

    def bind(name: str, value) -> str:
        params[prefix + name] = value
        return f":{prefix}{name}"

    if f.bbox:
        minx, miny, maxx, maxy = (bind(k, v) for k, v in zip(("minx", "miny", "maxx", "maxy"), f.bbox))
        parts.append(f"{alias}.geom && ST_MakeEnvelope({minx}, {miny}, {maxx}, {maxy}, 4326)")
    if f.since:
        parts.append(f"{alias}.reported_at >= {bind('since', f.since)}")
    if f.until:
        parts.append(f"{alias}.reported_at < {bind('until', f.until)}")
    if f.categories:
        parts.append(f"{alias}.category = ANY({bind('categories', list(f.categories))})")
    if f.statuses:
        parts.append(f"{alias}.status = ANY({bind('statuses', list(f.statuses))})")
    if f.grid:
        parts.append(f"{alias}.grid_id IN (SELECT g.id FROM grids g JOIN grid_plans p "
                     f"ON p.id = g.plan_id AND p.status = 'published' WHERE g.code = {bind('grid_code', f.grid)})")
    if f.community:
        parts.append(f"{alias}.community_id IN (SELECT id FROM admin_areas WHERE code = "
                     f"{bind('community_code', f.community)})")
    if f.overdue:
        parts.append(f"{alias}.due_at < now() AND {alias}.status = ANY({bind('open_statuses', list(OPEN_STATUSES))})")
    return " AND ".join(parts), params


def count(conn: Connection, f: IncidentFilter) -> int:
    cond, params = where(f)
    return conn.execute(text(f"SELECT count(*) FROM incidents i WHERE {cond}"), params).scalar_one()


def features(conn: Connection, f: IncidentFilter, newest_first: bool = False) -> list[dict]:
    """One page of incidents as GeoJSON features, ordered by id after the cursor (or the newest)."""
    cond, params = where(f)
    if f.after_id is not None and not newest_first:
        cond += " AND i.id > :after_id"
        params["after_id"] = f.after_id
    params["limit"] = f.limit
    params["open_statuses"] = list(OPEN_STATUSES)
    rows = conn.execute(text(f"""
        SELECT i.id, i.category, i.reported_at, i.status, i.priority, i.source, i.description,
               i.simulated, i.assign_flag, i.due_at, g.code AS grid, a.code AS community,
               (i.due_at < now() AND i.status = ANY(:open_statuses)) AS overdue,
               ST_AsGeoJSON(i.geom, 6) AS geometry
          FROM incidents i
          LEFT JOIN grids g ON g.id = i.grid_id
          LEFT JOIN admin_areas a ON a.id = i.community_id
         WHERE {cond}
         ORDER BY i.id {"DESC" if newest_first else ""}
         LIMIT :limit"""), params).mappings().all()
    return [{
        "type": "Feature", "id": r["id"], "geometry": json.loads(r["geometry"]),
        "properties": {"id": r["id"], "category": r["category"],
                       "reported_at": r["reported_at"].isoformat() if r["reported_at"] else None,
                       "status": r["status"], "priority": r["priority"], "source": r["source"],
                       "description": r["description"], "simulated": r["simulated"],
                       "assign_flag": r["assign_flag"], "grid": r["grid"],
                       "community": r["community"],
                       "due_at": r["due_at"].isoformat() if r["due_at"] else None,
                       "overdue": bool(r["overdue"])},
    } for r in rows]


def counts_by_category(conn: Connection, f: IncidentFilter) -> list[dict]:
    """Per category: total, open and closed counts under the filter."""
    cond, params = where(f)
    params["open"] = list(OPEN_STATUSES)
    rows = conn.execute(text(f"""
        SELECT i.category, count(*) AS total,
               count(*) FILTER (WHERE i.status = ANY(:open)) AS open,
               count(*) FILTER (WHERE i.status = 'closed') AS closed
          FROM incidents i WHERE {cond}
         GROUP BY i.category ORDER BY i.category"""), params).mappings().all()
    return [dict(r) for r in rows]


def any_simulated(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM incidents WHERE simulated)")).scalar())


# The open statuses written into the duplicate search (constants, not user input): a generic plan
# (intake runs with plan_cache_mode=auto) can then use the partial index incidents_open_geom,
# which a bound array parameter hides from the planner.
OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


@functools.lru_cache(maxsize=64)
def _statement(sql: str) -> TextClause:
    """text(sql) made once: parsing the bind names of a long statement costs a busy endpoint
    (tiles) a few tenths of a millisecond on every request."""
    return text(sql)


def insert(conn: Connection, values: dict, wkb: bytes, deadline_hours: float, actor: str,
           source_note: str | None = None, only_inside: bool = False,
           duplicates: tuple[float, float] | None = None) -> dict | None:
    """Insert one incident (the trigger assigns grid and community) and its first history step,
    in one statement. only_inside: insert only when a district covers the point (or none is
    loaded) and return None otherwise, which spares the caller reading the jurisdiction first.
    duplicates=(metres, hours): also return the open incidents of the same category that near
    (`possible_duplicates`, nearest first, at most 20)."""
    guard = ("WHERE NOT EXISTS (SELECT 1 FROM admin_areas WHERE level = 'district') "
             "OR EXISTS (SELECT 1 FROM admin_areas a WHERE a.level = 'district' AND ST_Covers(a.geom, p.geom))"
             if only_inside else "")
    near = "NULL::json"
    params = {**{k: values.get(k) for k in ("category", "reported_at", "priority", "source", "description",
                                            "weight", "count")},
              "deadline_hours": deadline_hours, "wkb": wkb, "actor": actor, "note": source_note}
    if duplicates is not None:
        near = f"""(SELECT coalesce(json_agg(d ORDER BY d.metres, d.id), '[]') FROM (
                     SELECT o.id, o.status, o.reported_at,
                            round(ST_Distance(o.geom::geography, n.geom::geography)) AS metres
                       FROM incidents o
                      WHERE o.category = n.category AND o.status IN {OPEN_SQL}
                        AND o.geom && ST_Expand(n.geom, %(metres)s / (111320.0 * greatest(cos(radians(ST_Y(n.geom))), 0.05)))
                        AND ST_DWithin(o.geom::geography, n.geom::geography, %(metres)s)
                        AND o.reported_at BETWEEN n.reported_at - make_interval(secs => %(secs)s)
                                              AND n.reported_at + make_interval(secs => %(secs)s)
                      ORDER BY metres, o.id LIMIT 20) d)"""
        params.update(metres=duplicates[0], secs=duplicates[1] * 3600)
    sql = f"""
        WITH p AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS geom),
        n AS (
          INSERT INTO incidents (category, reported_at, status, priority, source, description, weight,
                                 count, deadline_hours, geom)
          SELECT %(category)s, coalesce(%(reported_at)s, now()), 'reported', %(priority)s, %(source)s,
                 %(description)s, %(weight)s, %(count)s, %(deadline_hours)s, p.geom FROM p {guard}
          RETURNING id, category, reported_at, assign_flag, grid_id, community_id, geom),
        step AS (
          INSERT INTO incident_events (incident_id, action, to_status, actor, note)
          SELECT id, 'report', 'reported', %(actor)s, %(note)s FROM n)
        SELECT id, reported_at, assign_flag,
               (SELECT code FROM grids WHERE id = n.grid_id) AS grid,
               (SELECT code FROM admin_areas WHERE id = n.community_id) AS community,
               {near} AS possible_duplicates
          FROM n"""
    with driver_cursor(conn) as cur:  # psycopg directly: the busiest write (mapapp.db.session)
        return cur.execute(sql, params, prepare=True).fetchone()


def last_id(conn: Connection) -> int:
    return conn.execute(text("SELECT coalesce(max(id), 0) FROM incidents")).scalar_one()


def record_reports(conn: Connection, after_id: int, note: str, actor: str | None = None) -> int:
    """The first history step of incidents loaded in bulk (ids above `after_id` without one), by
    `actor` or, without one, whoever the connection acts for (as the audit triggers name them)."""
    return conn.execute(text(f"""
        INSERT INTO incident_events (incident_id, action, to_status, actor, note)
        SELECT i.id, 'report', i.status, coalesce(:a, {audit_q.ACTOR}), :n FROM incidents i
         WHERE i.id > :after AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id)
         ORDER BY i.id"""), {"after": after_id, "a": actor, "n": note}).rowcount


def get(conn: Connection, incident_id: int, for_update: bool = False) -> dict | None:
    row = conn.execute(text(f"""
        SELECT i.id, i.category, i.reported_at, i.status, i.priority, i.source, i.description,
               i.simulated, i.assign_flag, i.deadline_hours, i.dispatched_at, i.due_at, i.closed_at,
               g.code AS grid, a.code AS community, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
          FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
          LEFT JOIN admin_areas a ON a.id = i.community_id
         WHERE i.id = :id {"FOR UPDATE OF i" if for_update else ""}"""), {"id": incident_id}).mappings().first()
    return dict(row) if row else None


def history(conn: Connection, incident_id: int) -> list[dict]:
    rows = conn.execute(text("SELECT action, from_status, to_status, actor, note, at FROM incident_events "
                             "WHERE incident_id = :id ORDER BY at, id"), {"id": incident_id}).mappings().all()
    return [dict(r, at=r["at"].isoformat()) for r in rows]


def apply_transition(conn: Connection, incident_id: int, action: str, current: str, target: str,
                     actor: str, note: str | None, deadline_hours: float) -> None:
    """Move a case to `target`: dispatch starts the clock, close stops it, reopen clears it."""
    conn.execute(text("""
        UPDATE incidents SET status = :target, deadline_hours = :hours,
               dispatched_at = CASE WHEN :dispatch THEN now() ELSE dispatched_at END,
               due_at = CASE WHEN :dispatch THEN now() + make_interval(secs => :hours * 3600) ELSE due_at END,
               closed_at = CASE WHEN :closing THEN now() WHEN :reopen THEN NULL ELSE closed_at END
         WHERE id = :id"""), {"id": incident_id, "target": target, "hours": deadline_hours,
                              "dispatch": action == "dispatch", "closing": target == "closed",
                              "reopen": action == "reopen"})
    conn.execute(text("INSERT INTO incident_events (incident_id, action, from_status, to_status, actor, note) "
                      "VALUES (:i, :a, :f, :t, :u, :n)"),
                 {"i": incident_id, "a": action, "f": current, "t": target, "u": actor, "n": note})


def changes_cursor(conn: Connection) -> str:
    """Where the changes feed starts: the current snapshot (see changed_since)."""
    return conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()


def changed_since(conn: Connection, cursor: str | int, cap: int = 500) -> tuple[str, list[int], bool, bool]:
    """Incidents with a history step committed since `cursor` was handed out: (next cursor, their
    ids (the `cap` most recently changed), whether more changed, whether the cursor was reset).

    The cursor is the snapshot of the previous read. A step is new when its transaction
    (incident_events.txid, migration 0014) was not visible in that snapshot: committed since, in
    whatever order, so a step whose id is below one already reported is not skipped, as it was
    when the cursor was an event id. A cursor from the future (the database was restored or
    recreated) reports nothing and starts afresh. A plain number is such an old event-id cursor,
    from a page opened before the change: it is answered the old way once."""
    if isinstance(cursor, int):
        new = "e.id > :c"
        ahead = "false"
    else:
        new = ("e.txid >= pg_snapshot_xmin(CAST(:c AS pg_snapshot)) "
               "AND NOT pg_visible_in_snapshot(e.txid, CAST(:c AS pg_snapshot))")
        ahead = "pg_snapshot_xmax(CAST(:c AS pg_snapshot)) > pg_snapshot_xmax(pg_current_snapshot())"
    now, reset, ids = conn.execute(text(f"""
        SELECT pg_current_snapshot()::text, {ahead},
               ARRAY(SELECT e.incident_id FROM incident_events e WHERE {new}
                      GROUP BY e.incident_id ORDER BY max(e.id) DESC LIMIT :cap)"""),
        {"c": cursor, "cap": cap + 1}).one()
    if reset:
        return now, [], False, True
    return now, sorted(ids[:cap]), len(ids) > cap, False


KPI_LEVELS = {  # level -> (code, name) columns of the joined row
    "grid": ("g.code", "g.name"),
    "community": ("c.code", "c.name"),
    "street": ("s.code", "s.name"),
}


def kpi_rows(conn: Connection, f: IncidentFilter, level: str, tz: str) -> list[dict]:
    """Per area: counts behind the closed-loop indicators (voided cases are not cases)."""
    code, name = KPI_LEVELS[level]
    cond, params = where(f)
    params.update(open_statuses=list(OPEN_STATUSES), tz=tz)
    rows = conn.execute(text(f"""
        SELECT {code} AS code, {name} AS name,
               count(*) AS cases,
               count(*) FILTER (WHERE i.status = 'closed') AS closed,
               count(*) FILTER (WHERE i.status = 'closed' AND i.due_at IS NOT NULL
                                  AND i.closed_at IS NOT NULL) AS closed_with_deadline,
               count(*) FILTER (WHERE i.status = 'closed' AND i.closed_at <= i.due_at) AS closed_on_time,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM i.closed_at - i.reported_at) / 3600.0)
                   FILTER (WHERE i.status = 'closed' AND i.closed_at IS NOT NULL) AS median_hours,
               count(*) FILTER (WHERE i.status = ANY(:open_statuses) AND i.due_at < now()) AS overdue_now,
               count(*) FILTER (WHERE i.status = 'closed' AND
                   date_trunc('month', i.closed_at AT TIME ZONE :tz)
                   = date_trunc('month', i.reported_at AT TIME ZONE :tz)) AS month_cleared
          FROM incidents i
          LEFT JOIN grids g ON g.id = i.grid_id
          LEFT JOIN admin_areas c ON c.id = i.community_id
          LEFT JOIN admin_areas s ON s.id = c.parent_id
         WHERE {cond} AND i.status <> 'voided' AND {code} IS NOT NULL
         GROUP BY 1, 2 ORDER BY 1"""), params).mappings().all()
    return [dict(r) for r in rows]


TILE_EXTENT = 4096
TILE_POINT_ZOOM = 15  # from this zoom on, a tile carries single incidents unless it holds more than the cap
TILE_POINT_CAP = 2000
TILE_GRID = 16  # clusters: 16 x 16 cells a tile below TILE_POINT_ZOOM, so at most 256 features
MERCATOR_HALF = 20037508.342789244  # half the Web Mercator world width in metres


# The data version: changes whenever a history step commits, in whatever order (migrations 0014, 0015).
VERSION_SQL = "incident_data_version()"


def data_version(conn: Connection) -> str:
    """Changes whenever an incident is added or moves through the workflow (tile URLs carry it)."""
    return conn.execute(text(f"SELECT {VERSION_SQL}")).scalar_one()


def _cell(m: str, level: int) -> tuple[str, str]:
    """SQL for the zoom-`level` cell (tile) x and y of Mercator point expression `m`; the same
    arithmetic as the tallies' incident_tally_keys, so raw rows and tallies agree on cells."""
    size = f"({2 * MERCATOR_HALF!r} / {2 ** level})"
    return (f"floor((ST_X({m}) + {MERCATOR_HALF!r}) / {size})::int",
            f"floor(({MERCATOR_HALF!r} - ST_Y({m})) / {size})::int")


def _parts(f: IncidentFilter, z: int, x: int, y: int, level: int, use_tally: bool,
           tag: str = "r") -> tuple[str, dict]:
    """Rows (cx, cy, top, status, n, sx, sy) at cell `level` that add up to the incidents of tile
    z/x/y under the filter: tallies for whole months and days, raw rows for the rest (negative
    for those of a whole day that fall outside the range)."""
    cx0, cx1, cy0, cy1 = tally.cell_range(z, x, y, level)
    params = {"cx0": cx0, "cx1": cx1, "cy0": cy0, "cy1": cy1, "z": z, "x": x, "y": y}
    selects = []
    if use_tally:
        period = tally.split(f.since, f.until)
        shift = tally.LEVEL - level
        same = (f"cx >= :cx0 * {2 ** shift} AND cx < :cx1 * {2 ** shift} "
                f"AND cy >= :cy0 * {2 ** shift} AND cy < :cy1 * {2 ** shift}")
        if f.groups:
            same += " AND top = ANY(:tops)"
            params["tops"] = list(f.groups)
        if f.statuses:
            same += " AND status = ANY(:statuses)"
            params["statuses"] = list(f.statuses)
        cols = f"cx >> {shift}, cy >> {shift}, top, status, n, sx, sy"
        if period.months is not None:
            cond = same
            for i, (bound, op) in enumerate(zip(period.months, (">=", "<"))):
                if bound is not None:
                    cond += f" AND month {op} :m{i}"
                    params[f"m{i}"] = bound
            selects.append(f"SELECT {cols} FROM incident_tally_month WHERE {cond}")
        for j, (d0, d1) in enumerate(period.days):
            params[f"d{j}a"], params[f"d{j}b"] = d0, d1
            selects.append(f"SELECT {cols} FROM incident_tally_day WHERE {same} "
                           f"AND day >= :d{j}a AND day < :d{j}b")
        raw = [(replace(f, since=a, until=b), "") for a, b in period.raw]
        raw += [(replace(f, since=a, until=b), "-") for a, b in period.minus]  # counted in a whole day
        if period.undated:
            raw.append((replace(f, since=None, until=None), ""))
    else:
        raw = [(f, "")]
    cx, cy = _cell("m", level)
    for j, (rf, sign) in enumerate(raw):
        cond, p = where(rf, prefix=f"{tag}{j}_")
        if use_tally and rf.since is None and rf.until is None:
            cond += " AND i.reported_at IS NULL"
        params.update(p)
        selects.append(f"""
            SELECT c.cx, c.cy, split_part(i.category, '.', 1), i.status, {sign}1, {sign}ST_X(c.m), {sign}ST_Y(c.m)
              FROM incidents i
              CROSS JOIN LATERAL (SELECT m, {cx} AS cx, {cy} AS cy FROM ST_Transform(i.geom, 3857) AS m) c
             WHERE i.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AND {cond}
               AND c.cx >= :cx0 AND c.cx < :cx1 AND c.cy >= :cy0 AND c.cy < :cy1""")
    return " UNION ALL ".join(selects), params


def tile(conn: Connection, f: IncidentFilter, z: int, x: int, y: int, use_tallies: bool = True) -> bytes:
    """A Mapbox Vector Tile of incidents under the filter (see _tile_sql)."""
    sql, params = _tile_sql(conn, f, z, x, y, use_tallies)
    return bytes(conn.execute(_statement(sql), params).scalar() or b"")


def versioned_tile(conn: Connection, f: IncidentFilter, z: int, x: int, y: int) -> tuple[str, bytes]:
    """The data version and the tile, read in one statement (one snapshot, one round trip)."""
    sql, params = _tile_sql(conn, f, z, x, y, True)
    version, body = conn.execute(_statement(f"SELECT {VERSION_SQL}, ({sql})"), params).one()
    return version, bytes(body or b"")


def _tile_sql(conn: Connection, f: IncidentFilter, z: int, x: int, y: int, use_tallies: bool) -> tuple[str, dict]:
    """The SQL of a Mapbox Vector Tile of incidents under the filter: single incidents (layer `incidents`)
    from TILE_POINT_ZOOM when the tile holds at most TILE_POINT_CAP of them, otherwise counted
    clusters (layer `clusters`). Every incident belongs to exactly one tile and one cluster, so
    cluster counts add up to database counts. Tallies answer whatever they can (see tally.py);
    use_tallies=False reads raw rows only (the baseline the tallies are checked against)."""
    use_tally = use_tallies and tally.usable(f)
    dense = z < TILE_POINT_ZOOM
    if not dense:
        if use_tally and z <= tally.LEVEL:
            parts, params = _parts(f, z, x, y, tally.LEVEL, True)
            held = conn.execute(_statement(f"SELECT coalesce(sum(n), 0) FROM ({parts}) p(cx, cy, top, status, n, sx, sy)"),
                                params).scalar_one()
        else:
            parts, params = _parts(f, z, x, y, z, False)
            held = conn.execute(_statement(f"SELECT count(*) FROM (SELECT 1 FROM ({parts}) p LIMIT {TILE_POINT_CAP + 1}) c"),
                                params).scalar_one()
        dense = held > TILE_POINT_CAP
        if not dense:
            return _point_tile_sql(f, z, x, y)
    # clusters: 16 x 16 cells a tile; above TILE_POINT_ZOOM, when a tile is too dense for single
    # incidents, the tallies' own cells (8 x 8 to 2 x 2 a tile up to zoom 17), raw rows beyond
    level = z + 4
    if use_tally and level > tally.LEVEL:
        if z < tally.LEVEL:
            level = tally.LEVEL
        else:
            use_tally = False
    parts, params = _parts(f, z, x, y, level, use_tally)
    late, late_params = _parts(replace(f, overdue=True), z, x, y, level, False, tag="late")
    params.update(late_params)
    params.update(open_statuses=list(OPEN_STATUSES), extent=TILE_EXTENT)
    sql = f"""
        WITH parts(cx, cy, top, status, n, sx, sy) AS ({parts}),
        by_top AS (
          SELECT cx, cy, top, sum(n)::int AS n, sum(n) FILTER (WHERE status = ANY(:open_statuses))::int AS open,
                 sum(sx) AS sx, sum(sy) AS sy
            FROM parts GROUP BY cx, cy, top),
        cells AS (
          SELECT cx, cy, sum(n)::int AS count, coalesce(sum(open), 0)::int AS open,
                 sum(sx) / sum(n) AS mx, sum(sy) / sum(n) AS my,
                 (array_agg(top ORDER BY n DESC, top))[1] AS top
            FROM by_top GROUP BY cx, cy HAVING sum(n) > 0),
        late(cx, cy, top, status, n, sx, sy) AS ({late})
        SELECT ST_AsMVT(t, 'clusters', :extent, 'geom') FROM (
          SELECT c.count, c.open, coalesce(l.n, 0)::int AS overdue, c.top,
                 ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857), ST_TileEnvelope(:z, :x, :y),
                              :extent, 0, false) AS geom
            FROM cells c
            LEFT JOIN (SELECT cx, cy, count(*) AS n FROM late GROUP BY cx, cy) l USING (cx, cy)
           ORDER BY c.cx, c.cy) t"""
    return sql, params


def _point_tile_sql(f: IncidentFilter, z: int, x: int, y: int) -> tuple[str, dict]:
    cond, params = where(f)
    cx, cy = _cell("m", z)
    params.update(z=z, x=x, y=y, open_statuses=list(OPEN_STATUSES), extent=TILE_EXTENT)
    sql = f"""
        SELECT ST_AsMVT(t, 'incidents', :extent, 'geom', 'id') FROM (
          SELECT i.id, i.category, i.status,
                 coalesce(i.due_at < now() AND i.status = ANY(:open_statuses), false) AS overdue,
                 ST_AsMVTGeom(m, ST_TileEnvelope(:z, :x, :y), :extent, 0, false) AS geom
            FROM incidents i, ST_Transform(i.geom, 3857) AS m
           WHERE i.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AND {cond}
             AND {cx} = :x AND {cy} = :y
           ORDER BY i.id) t"""
    return sql, params
