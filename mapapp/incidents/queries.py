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
    return " AND ".join(parts), params


def count(conn: Connection, f: IncidentFilter) -> int:
    cond, params = where(f)
    return conn.execute(text(f"SELECT count(*) FROM incidents i WHERE {cond}"), params).scalar_one()


def features(conn: Connection, f: IncidentFilter) -> list[dict]:
    """One page of incidents as GeoJSON features, ordered by id, after the cursor."""
    cond, params = where(f)
    if f.after_id is not None:
        cond += " AND i.id > :after_id"
        params["after_id"] = f.after_id
    params["limit"] = f.limit
    rows = conn.execute(text(f"""
        SELECT i.id, i.category, i.reported_at, i.status, i.priority, i.source, i.description,
               i.simulated, i.assign_flag, g.code AS grid, a.code AS community,
               ST_AsGeoJSON(i.geom, 6) AS geometry
          FROM incidents i
          LEFT JOIN grids g ON g.id = i.grid_id
          LEFT JOIN admin_areas a ON a.id = i.community_id
         WHERE {cond}
         ORDER BY i.id
         LIMIT :limit"""), params).mappings().all()
    return [{
        "type": "Feature", "id": r["id"], "geometry": json.loads(r["geometry"]),
        "properties": {"id": r["id"], "category": r["category"],
                       "reported_at": r["reported_at"].isoformat() if r["reported_at"] else None,
                       "status": r["status"], "priority": r["priority"], "source": r["source"],
                       "description": r["description"], "simulated": r["simulated"],
                       "assign_flag": r["assign_flag"], "grid": r["grid"],
                       "community": r["community"]},
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
