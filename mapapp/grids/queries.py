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
