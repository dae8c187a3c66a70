"""Every SQL statement over incidents, parameterised. `where` is the one filter builder."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from mapapp.incidents.filters import OPEN_STATUSES, IncidentFilter


def where(f: IncidentFilter, alias: str = "i") -> tuple[str, dict]:
    """SQL condition and bound parameters for a filter (keyset cursor included)."""
    parts: list[str] = ["TRUE"]
    params: dict = {}
    if f.bbox:
        parts.append(f"{alias}.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params.update(zip(("minx", "miny", "maxx", "maxy"), f.bbox))
    if f.since:
        parts.append(f"{alias}.reported_at >= :since")
        params["since"] = f.since
    if f.until:
        parts.append(f"{alias}.reported_at < :until")
        params["until"] = f.until
    if f.categories:
        parts.append(f"{alias}.category = ANY(:categories)")
        params["categories"] = list(f.categories)
    if f.statuses:
        parts.append(f"{alias}.status = ANY(:statuses)")
        params["statuses"] = list(f.statuses)
    if f.grid:
        parts.append(f"{alias}.grid_id IN (SELECT g.id FROM grids g JOIN grid_plans p "
                     "ON p.id = g.plan_id AND p.status = 'published' WHERE g.code = :grid_code)")
        params["grid_code"] = f.grid
    if f.community:
        parts.append(f"{alias}.community_id IN (SELECT id FROM admin_areas WHERE code = :community_code)")
        params["community_code"] = f.community
    if f.overdue:
        parts.append(f"{alias}.due_at < now() AND {alias}.status = ANY(:open_statuses)")
        params["open_statuses"] = list(OPEN_STATUSES)
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


def insert(conn: Connection, values: dict, wkb: bytes, deadline_hours: float, actor: str,
           source_note: str | None = None) -> dict:
    """Insert one incident (the trigger assigns grid and community) and its first history step."""
    row = conn.execute(text("""
        INSERT INTO incidents (category, reported_at, status, priority, source, description, weight,
                               count, deadline_hours, geom)
        VALUES (:category, coalesce(:reported_at, now()), 'reported', :priority, :source, :description,
                :weight, :count, :deadline_hours, ST_GeomFromWKB(:wkb, 4326))
        RETURNING id, reported_at, assign_flag,
                  (SELECT code FROM grids WHERE id = grid_id) AS grid,
                  (SELECT code FROM admin_areas WHERE id = community_id) AS community"""),
        {**{k: values.get(k) for k in ("category", "reported_at", "priority", "source", "description",
                                       "weight", "count")},
         "deadline_hours": deadline_hours, "wkb": wkb}).mappings().one()
    conn.execute(text("INSERT INTO incident_events (incident_id, action, to_status, actor, note) "
                      "VALUES (:i, 'report', 'reported', :a, :n)"), {"i": row["id"], "a": actor, "n": source_note})
    return dict(row)


def open_nearby(conn: Connection, incident_id: int, metres: float, hours: float) -> list[dict]:
    """Open incidents of the same category within `metres` and `hours` of this one: likely duplicates."""
    rows = conn.execute(text("""
        SELECT o.id, o.status, o.reported_at, round(ST_Distance(o.geom::geography, n.geom::geography)) AS metres
          FROM incidents n JOIN incidents o
            ON o.id <> n.id AND o.category = n.category AND o.status = ANY(:open)
           AND o.geom && ST_Expand(n.geom, :metres / (111320.0 * greatest(cos(radians(ST_Y(n.geom))), 0.05)))
           AND ST_DWithin(o.geom::geography, n.geom::geography, :metres)
           AND o.reported_at BETWEEN n.reported_at - make_interval(secs => :secs)
                                 AND n.reported_at + make_interval(secs => :secs)
         WHERE n.id = :id
         ORDER BY metres, o.id LIMIT 20"""),
        {"id": incident_id, "open": list(OPEN_STATUSES), "metres": metres, "secs": hours * 3600}).mappings().all()
    return [dict(r, reported_at=r["reported_at"].isoformat() if r["reported_at"] else None,
                 metres=float(r["metres"])) for r in rows]


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


def last_event(conn: Connection) -> int:
    return conn.execute(text("SELECT coalesce(max(id), 0) FROM incident_events")).scalar_one()


def changed_since(conn: Connection, event_id: int, cap: int = 500) -> tuple[int, list[int]]:
    """Incidents reported or moved after history event `event_id`, and the newest event id."""
    rows = conn.execute(text("SELECT id, incident_id FROM incident_events WHERE id > :e ORDER BY id LIMIT :cap"),
                        {"e": event_id, "cap": cap}).all()
    last = rows[-1][0] if rows else event_id
    return last, sorted({r[1] for r in rows})


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
TILE_POINT_ZOOM = 15  # from this zoom on, tiles carry single incidents; below, clusters with counts
TILE_POINT_CAP = 5000
TILE_GRID = 16  # clusters: a 16 x 16 grid of cells per tile, so at most 256 features


def data_version(conn: Connection) -> str:
    """Changes whenever an incident is added or moves through the workflow (tile URLs carry it)."""
    a, b = conn.execute(text("SELECT (SELECT coalesce(max(id), 0) FROM incidents), "
                             "(SELECT coalesce(max(id), 0) FROM incident_events)")).one()
    return f"{a}.{b}"


def tile(conn: Connection, f: IncidentFilter, z: int, x: int, y: int) -> bytes:
    """A Mapbox Vector Tile of incidents under the filter. A point belongs to exactly one tile
    (x in [xmin, xmax), y in (ymin, ymax]), so cluster counts add up to database counts."""
    cond, params = where(f)
    params.update(z=z, x=x, y=y, open_statuses=list(OPEN_STATUSES), extent=TILE_EXTENT)
    pts = f"""
        env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e),
        pts AS (
          SELECT i.id, i.category, i.status, ST_Transform(i.geom, 3857) AS g,
                 coalesce(i.due_at < now() AND i.status = ANY(:open_statuses), false) AS overdue,
                 i.status = ANY(:open_statuses) AS open
            FROM incidents i, env
           WHERE i.geom && ST_Transform(env.e, 4326) AND {cond}),
        mine AS (
          SELECT pts.*, env.e FROM pts, env
           WHERE ST_X(g) >= ST_XMin(e) AND ST_X(g) < ST_XMax(e) AND ST_Y(g) > ST_YMin(e) AND ST_Y(g) <= ST_YMax(e))"""
    if z >= TILE_POINT_ZOOM:
        params["cap"] = TILE_POINT_CAP
        sql = f"""WITH {pts}
            SELECT ST_AsMVT(t, 'incidents', :extent, 'geom', 'id') FROM (
              SELECT id, category, status, overdue, ST_AsMVTGeom(g, e, :extent, 0, false) AS geom
                FROM mine ORDER BY id LIMIT :cap) t"""
    else:
        params["grid"] = TILE_GRID
        sql = f"""WITH {pts}
            SELECT ST_AsMVT(t, 'clusters', :extent, 'geom') FROM (
              SELECT count(*)::int AS count, count(*) FILTER (WHERE open)::int AS open,
                     count(*) FILTER (WHERE overdue)::int AS overdue,
                     mode() WITHIN GROUP (ORDER BY split_part(category, '.', 1)) AS top,
                     ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(ST_X(g)), avg(ST_Y(g))), 3857), e,
                                  :extent, 0, false) AS geom
                FROM mine
               GROUP BY e, floor((ST_X(g) - ST_XMin(e)) / (ST_XMax(e) - ST_XMin(e)) * :grid),
                        floor((ST_Y(g) - ST_YMin(e)) / (ST_YMax(e) - ST_YMin(e)) * :grid)) t"""
    return bytes(conn.execute(text(sql), params).scalar() or b"")
