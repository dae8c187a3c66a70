"""SQL over grids and plans. Workload figures are derived from base units, never typed in."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

# households/population of a grid = base units whose point-on-surface lies in it, so a building
# is counted in exactly one grid even when its footprint touches a neighbour.
_GRIDS = """
WITH plan AS (
  SELECT id, name, status FROM grid_plans
   WHERE (CAST(:plan AS text) = 'published' AND status = 'published')
      OR (CAST(:plan AS text) <> 'published' AND name = CAST(:plan AS text))
), units AS (
  SELECT g.id AS grid_id, coalesce(sum(b.households), 0) AS households,
         coalesce(sum(b.population), 0) AS population,
         coalesce(bool_or(b.estimated), false) AS estimated
    FROM grids g JOIN plan ON plan.id = g.plan_id
    LEFT JOIN base_units b ON ST_Covers(g.geom, ST_PointOnSurface(b.geom))
   GROUP BY g.id
)
SELECT g.id, g.code, g.name, a.code AS community, a.name AS community_name, plan.name AS plan,
       plan.status AS plan_status, g.grid_head, g.police_officer, g.assistant, g.supervisor,
       u.households, u.population, u.estimated,
       ST_Area(g.geom::geography) AS area_m2, ST_AsGeoJSON(g.geom, 6) AS geometry
  FROM grids g JOIN plan ON plan.id = g.plan_id
  JOIN units u ON u.grid_id = g.id
  LEFT JOIN admin_areas a ON a.id = g.community_id
 WHERE (CAST(:code AS text) IS NULL OR g.code = CAST(:code AS text))
 ORDER BY g.code
"""

TEAM = ("grid_head", "police_officer", "assistant", "supervisor")


def grids(conn: Connection, plan: str = "published", code: str | None = None) -> list[dict]:
    rows = conn.execute(text(_GRIDS), {"plan": plan, "code": code}).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["geometry"] = json.loads(d["geometry"])
        d["households"] = int(d["households"])
        d["population"] = int(d["population"])
        d["area_m2"] = round(float(d["area_m2"]), 1)
        out.append(d)
    return out


def plan_exists(conn: Connection, plan: str) -> bool:
    if plan == "published":
        sql = "SELECT EXISTS (SELECT 1 FROM grid_plans WHERE status = 'published')"
    else:
        sql = "SELECT EXISTS (SELECT 1 FROM grid_plans WHERE name = :plan)"
    return bool(conn.execute(text(sql), {"plan": plan}).scalar())


# Communities a plan answers for: every community under the district(s) the plan's grids touch.
_SCOPE = """
WITH RECURSIVE up AS (
  SELECT id AS leaf, id, parent_id FROM admin_areas WHERE level = 'community'
  UNION ALL
  SELECT up.leaf, a.id, a.parent_id FROM admin_areas a JOIN up ON a.id = up.parent_id
), roots AS (
  SELECT leaf, id AS root FROM up WHERE parent_id IS NULL
), plan_extent AS (
  SELECT ST_Extent(geom) AS e FROM grids WHERE plan_id = :plan
), touched AS (
  SELECT DISTINCT r.root FROM roots r JOIN admin_areas c ON c.id = r.leaf, plan_extent
   WHERE c.geom && plan_extent.e
      OR c.id IN (SELECT community_id FROM grids WHERE plan_id = :plan)
)
SELECT c.id, c.code, c.name, ST_AsBinary(c.geom) AS wkb
  FROM admin_areas c JOIN roots r ON r.leaf = c.id
 WHERE r.root IN (SELECT root FROM touched)
 ORDER BY c.code
"""


def plan(conn: Connection, plan_id: int) -> dict | None:
    row = conn.execute(text("SELECT id, name, status, note, created_at, published_at "
                            "FROM grid_plans WHERE id = :id"), {"id": plan_id}).mappings().first()
    return dict(row) if row else None


def plan_grid_rows(conn: Connection, plan_id: int) -> list[dict]:
    """Grids of a plan as WKB (the pure checks parse them in one vectorised call)."""
    return [dict(r) for r in conn.execute(text(
        "SELECT id, code, name, coalesce(community_id, -1) AS community_id, ST_AsBinary(geom) AS wkb "
        "FROM grids WHERE plan_id = :plan ORDER BY code"), {"plan": plan_id}).mappings()]


def plan_scope_rows(conn: Connection, plan_id: int) -> tuple[list[dict], list[dict]]:
    """The communities the plan answers for, and the base units inside their extent."""
    comms = [dict(r) for r in conn.execute(text(_SCOPE), {"plan": plan_id}).mappings()]
    if not comms:
        return comms, []
    units = conn.execute(text("""
        SELECT b.id, b.households, b.population, ST_AsBinary(b.geom) AS wkb FROM base_units b
         WHERE b.geom && (SELECT ST_Extent(geom) FROM admin_areas WHERE id = ANY(:ids))
           AND EXISTS (SELECT 1 FROM admin_areas c WHERE c.id = ANY(:ids)
                        AND ST_Intersects(c.geom, ST_PointOnSurface(b.geom)))
         ORDER BY b.id"""), {"ids": [c["id"] for c in comms]}).mappings()
    return comms, [dict(r) for r in units]


def plan_workload_rows(conn: Connection, plan_id: int) -> list[dict]:
    """Per grid of a plan: households, population, incidents of the last 12 months, key places."""
    return [dict(r) for r in conn.execute(text("""
        SELECT g.id, g.code, g.name,
               (SELECT coalesce(sum(b.households), 0) FROM base_units b
                 WHERE ST_Covers(g.geom, ST_PointOnSurface(b.geom))) AS households,
               (SELECT coalesce(sum(b.population), 0) FROM base_units b
                 WHERE ST_Covers(g.geom, ST_PointOnSurface(b.geom))) AS population,
               (SELECT count(*) FROM incidents i WHERE ST_Covers(g.geom, i.geom)
                   AND i.reported_at >= now() - interval '12 months') AS incidents_12m,
               (SELECT count(*) FROM key_places k WHERE ST_Covers(g.geom, k.geom)) AS key_places,
               ST_AsBinary(g.geom) AS wkb
          FROM grids g WHERE g.plan_id = :plan ORDER BY g.code"""), {"plan": plan_id}).mappings()]
