"""Every SQL statement of import and export, parameterised."""
from __future__ import annotations

import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection

INSERT = {
    "admin_areas": """INSERT INTO admin_areas (code, name, level, parent_id, geom)
        VALUES (:code, :name, :level, (SELECT id FROM admin_areas WHERE code = :parent_code),
                ST_GeomFromWKB(:wkb, 4326))""",
    "grids": """INSERT INTO grids (plan_id, code, name, community_id, grid_head, police_officer,
                                   assistant, supervisor, geom)
        VALUES (:plan_id, :code, :name,
                coalesce((SELECT id FROM admin_areas WHERE code = :community_code AND level = 'community'),
                         (SELECT a.id FROM admin_areas a WHERE a.level = 'community'
                           AND ST_Covers(a.geom, ST_PointOnSurface(ST_GeomFromWKB(:wkb, 4326)))
                           ORDER BY a.code LIMIT 1)),
                :grid_head, :police_officer, :assistant, :supervisor, ST_GeomFromWKB(:wkb, 4326))""",
    "base_units": """INSERT INTO base_units (kind, name, address, households, population, estimated, source, geom)
        VALUES (:kind, :name, :address, :households, :population, :estimated, :source,
                ST_GeomFromWKB(:wkb, 4326))""",
    "incidents": """INSERT INTO incidents (category, reported_at, status, priority, source, description,
                                           weight, count, simulated, deadline_hours, dispatched_at, due_at,
                                           closed_at, geom)
        VALUES (:category, :reported_at, :status, :priority, :source, :description, :weight, :count,
                :simulated, :deadline_hours, CAST(:dispatched_at AS timestamptz),
                CAST(:dispatched_at AS timestamptz) + make_interval(secs => :deadline_hours * 3600),
                CAST(:closed_at AS timestamptz),
                ST_GeomFromWKB(:wkb, 4326))""",
    "key_places": """INSERT INTO key_places (name, category, address, geom)
        VALUES (:name, :category, :address, ST_GeomFromWKB(:wkb, 4326))""",
    "streets": """INSERT INTO streets (name, class, length_m, oneway, geom)
        VALUES (:name, :class, :length_m, :oneway, ST_GeomFromWKB(:wkb, 4326))""",
}


def jurisdiction(conn: Connection):
    """The union of the district polygons, or None when no district is loaded."""
    wkb = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM admin_areas "
                            "WHERE level = 'district'")).scalar()
    return shapely.from_wkb(bytes(wkb)) if wkb else None


def existing_codes(conn: Connection, codes: list[str]) -> dict[str, str]:
    rows = conn.execute(text("SELECT code, level FROM admin_areas WHERE code = ANY(:c)"), {"c": codes}).all()
    return dict(rows)


def community_codes(conn: Connection, codes: list[str]) -> set[str]:
    return set(conn.execute(text("SELECT code FROM admin_areas WHERE level = 'community' "
                                 "AND code = ANY(:c)"), {"c": codes}).scalars())


def plan_for_import(conn: Connection, name: str, publish: bool) -> int:
    """Get or create the named plan; publishing archives the plan published before it."""
    plan_id = find_plan(conn, name)
    if plan_id is None:
        plan_id = conn.execute(text("INSERT INTO grid_plans (name, status) VALUES (:n, 'draft') RETURNING id"),
                               {"n": name}).scalar_one()
    if publish:
        conn.execute(text("UPDATE grid_plans SET status = 'archived' WHERE status = 'published' AND id <> :i"),
                     {"i": plan_id})
        conn.execute(text("UPDATE grid_plans SET status = 'published', published_at = now() WHERE id = :i"),
                     {"i": plan_id})
    return plan_id


def find_plan(conn: Connection, name: str) -> int | None:
    return conn.execute(text("SELECT id FROM grid_plans WHERE name = :n ORDER BY id LIMIT 1"),
                        {"n": name}).scalar()


def grids_without_community(conn: Connection, plan_id: int, codes: list[str]) -> list[str]:
    return list(conn.execute(text("SELECT code FROM grids WHERE plan_id = :p AND community_id IS NULL "
                                  "AND code = ANY(:c) ORDER BY code"), {"p": plan_id, "c": codes}).scalars())


def grid_codes_in_plan(conn: Connection, plan_id: int) -> set[str]:
    return set(conn.execute(text("SELECT code FROM grids WHERE plan_id = :p"), {"p": plan_id}).scalars())


def insert_many(conn: Connection, layer: str, rows: list[dict]) -> None:
    conn.execute(text(INSERT[layer]), rows)


EXPORT = {
    "admin_areas": """SELECT a.code, a.name, a.level, p.code AS parent_code, ST_AsBinary(a.geom) AS wkb
        FROM admin_areas a LEFT JOIN admin_areas p ON p.id = a.parent_id ORDER BY a.code""",
    "grids": """SELECT g.code, g.name, a.code AS community_code, pl.name AS plan, pl.status AS plan_status,
               g.grid_head, g.police_officer, g.assistant, g.supervisor, ST_AsBinary(g.geom) AS wkb
        FROM grids g JOIN grid_plans pl ON pl.id = g.plan_id LEFT JOIN admin_areas a ON a.id = g.community_id
        ORDER BY pl.id, g.code""",
    "base_units": """SELECT id, kind, name, address, households, population, estimated, source,
               ST_AsBinary(geom) AS wkb FROM base_units ORDER BY id""",
    "incidents": """SELECT i.id, i.category, i.reported_at, i.status, i.priority, g.code AS grid_code,
               a.code AS community_code, i.assign_flag, i.source, i.description, i.simulated,
               i.dispatched_at, i.due_at, i.closed_at,
               ST_AsBinary(i.geom) AS wkb
        FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id LEFT JOIN admin_areas a ON a.id = i.community_id
        ORDER BY i.id""",
    "key_places": "SELECT id, name, category, address, ST_AsBinary(geom) AS wkb FROM key_places ORDER BY id",
    "streets": """SELECT id, name, class, length_m, oneway, ST_AsBinary(geom) AS wkb FROM streets ORDER BY id""",
}


def export_rows(conn: Connection, layer: str) -> tuple[list[str], list[dict]]:
    """The layer's column names and rows (geometry as WKB in "wkb")."""
    result = conn.execute(text(EXPORT[layer]))
    return list(result.keys()), [dict(r) for r in result.mappings()]
