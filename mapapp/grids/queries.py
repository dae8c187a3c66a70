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
    LEFT JOIN base_units b ON g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))
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
    row = conn.execute(text("SELECT id, name, status, note, created_at, published_at, version, "
                            "base_plan_id "
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


def plan_workload_rows(conn: Connection, plan_id: int, codes: list[str] | None = None) -> list[dict]:
    """Per grid of a plan (or of `codes` in it): households, population, incidents of the last
    12 months, key places."""
    return [dict(r) for r in conn.execute(text("""
        SELECT g.id, g.code, g.name, g.staffing, g.waiver,
               (SELECT coalesce(sum(b.households), 0) FROM base_units b
                 WHERE g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))) AS households,
               (SELECT coalesce(sum(b.population), 0) FROM base_units b
                 WHERE g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))) AS population,
               (SELECT count(*) FROM incidents i WHERE ST_Covers(g.geom, i.geom)
                   AND i.reported_at >= now() - interval '12 months') AS incidents_12m,
               (SELECT count(*) FROM key_places k WHERE ST_Covers(g.geom, k.geom)) AS key_places,
               ST_AsBinary(g.geom) AS wkb
          FROM grids g WHERE g.plan_id = :plan
           AND (CAST(:codes AS text[]) IS NULL OR g.code = ANY(CAST(:codes AS text[])))
         ORDER BY g.code"""), {"plan": plan_id, "codes": codes}).mappings()]


# ---- plans: drafts, versioned edits, publication -------------------------------------------

_SNAPSHOT_COLS = ("code", "name", "community_id", "locked", "staffing", "waiver", "grid_head",
                  "police_officer", "assistant", "supervisor")


def create_draft(conn: Connection, name: str) -> int | None:
    """A draft copied from the published plan (grids, teams, locks); None when nothing is published."""
    base = conn.execute(text("SELECT id FROM grid_plans WHERE status = 'published'")).scalar()
    if base is None:
        return None
    plan_id = conn.execute(text(
        "INSERT INTO grid_plans (name, status, base_plan_id) VALUES (:n, 'draft', :b) RETURNING id"),
        {"n": name, "b": base}).scalar()
    cols = ", ".join(_SNAPSHOT_COLS)
    conn.execute(text(f"INSERT INTO grids (plan_id, {cols}, geom) SELECT :p, {cols}, geom FROM grids "
                      "WHERE plan_id = :b"), {"p": plan_id, "b": base})
    return plan_id


def plan_name_taken(conn: Connection, name: str) -> bool:
    return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM grid_plans WHERE name = :n)"),
                             {"n": name}).scalar())


def bump_version(conn: Connection, plan_id: int, expected: int) -> int | None:
    """Take the draft's next version when the caller saw the current one (row lock serialises
    concurrent saves: the second waits, then finds the version moved and gets None)."""
    return conn.execute(text(
        "UPDATE grid_plans SET version = version + 1 WHERE id = :id AND version = :v "
        "AND status = 'draft' RETURNING version"), {"id": plan_id, "v": expected}).scalar()


def snapshot(conn: Connection, plan_id: int, codes: list[str] | None = None) -> list[dict]:
    """Grids as plain JSON-able rows (geometry as GeoJSON text): what an edit saves to undo."""
    cols = ", ".join(_SNAPSHOT_COLS)
    rows = conn.execute(text(
        f"SELECT {cols}, ST_AsGeoJSON(geom, 9) AS geometry FROM grids WHERE plan_id = :p "
        "AND (CAST(:codes AS text[]) IS NULL OR code = ANY(CAST(:codes AS text[]))) ORDER BY code"),
        {"p": plan_id, "codes": codes}).mappings()
    return [dict(r) for r in rows]


def grids_near(conn: Connection, plan_id: int, lon: float, lat: float, tol: float) -> list[dict]:
    """Snapshot rows of the grids within `tol` degrees of a point (index scan on the box)."""
    cols = ", ".join(_SNAPSHOT_COLS)
    rows = conn.execute(text(
        f"SELECT {cols}, ST_AsGeoJSON(geom, 9) AS geometry FROM grids WHERE plan_id = :p "
        "AND geom && ST_Expand(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :tol) "
        "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326), :tol) ORDER BY code"),
        {"p": plan_id, "x": lon, "y": lat, "tol": tol}).mappings()
    return [dict(r) for r in rows]


def replace_grids(conn: Connection, plan_id: int, remove: list[str], rows: list[dict]) -> None:
    """Delete grids `remove`, then write `rows` (snapshot shape) in their place."""
    conn.execute(text("DELETE FROM grids WHERE plan_id = :p AND code = ANY(:codes)"),
                 {"p": plan_id, "codes": remove})
    cols = ", ".join(_SNAPSHOT_COLS)
    vals = ", ".join(f":{c}" for c in _SNAPSHOT_COLS)
    for r in rows:
        conn.execute(text(f"INSERT INTO grids (plan_id, {cols}, geom) VALUES (:p, {vals}, "
                          "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)))"),
                     {"p": plan_id, **{c: r.get(c) for c in _SNAPSHOT_COLS}, "geometry": r["geometry"]})


def record_edit(conn: Connection, plan_id: int, action: str, actor: str | None,
                before: list[dict], after: list[dict]) -> None:
    """A new edit drops the redo stack (edits undone before it)."""
    conn.execute(text("DELETE FROM plan_edits WHERE plan_id = :p AND undone"), {"p": plan_id})
    conn.execute(text("""
        INSERT INTO plan_edits (plan_id, seq, action, actor, before, after)
        SELECT :p, coalesce(max(seq), 0) + 1, :a, :actor, CAST(:b AS jsonb), CAST(:f AS jsonb)
          FROM plan_edits WHERE plan_id = :p"""),
        {"p": plan_id, "a": action, "actor": actor, "b": json.dumps(before), "f": json.dumps(after)})


def step_edit(conn: Connection, plan_id: int, redo: bool) -> dict | None:
    """The edit undo (last done) or redo (first undone) applies, flipped in the same statement."""
    row = conn.execute(text(f"""
        UPDATE plan_edits SET undone = NOT undone WHERE id = (
          SELECT id FROM plan_edits WHERE plan_id = :p AND undone = :redo
           ORDER BY seq {'ASC' if redo else 'DESC'} LIMIT 1)
        RETURNING action, before, after"""), {"p": plan_id, "redo": redo}).mappings().first()
    return dict(row) if row else None


def edit_counts(conn: Connection, plan_id: int) -> dict:
    row = conn.execute(text("SELECT count(*) FILTER (WHERE NOT undone) AS undo, "
                            "count(*) FILTER (WHERE undone) AS redo FROM plan_edits WHERE plan_id = :p"),
                       {"p": plan_id}).mappings().one()
    return dict(row)


def lock_grids(conn: Connection, plan_id: int, codes: list[str] | None, locked: bool) -> None:
    conn.execute(text("UPDATE grids SET locked = :l WHERE plan_id = :p "
                      "AND (CAST(:codes AS text[]) IS NULL OR code = ANY(CAST(:codes AS text[])))"),
                 {"p": plan_id, "l": locked, "codes": codes})


def community_codes(conn: Connection, ids: list[int]) -> dict[int, str]:
    rows = conn.execute(text("SELECT id, code FROM admin_areas WHERE id = ANY(:ids)"), {"ids": ids})
    return {r.id: r.code for r in rows}


def publish(conn: Connection, plan_id: int, actor: str | None, note: str | None) -> int | None:
    """Archive the published plan, publish this one, write the history row; returns the replaced id."""
    old = conn.execute(text("UPDATE grid_plans SET status = 'archived' WHERE status = 'published' "
                            "AND id <> :p RETURNING id"), {"p": plan_id}).scalar()
    conn.execute(text("UPDATE grid_plans SET status = 'published', published_at = now() WHERE id = :p"),
                 {"p": plan_id})
    conn.execute(text("INSERT INTO plan_publications (plan_id, replaced_plan_id, actor, note) "
                      "VALUES (:p, :o, :a, :n)"), {"p": plan_id, "o": old, "a": actor, "n": note})
    return old


def publications(conn: Connection) -> list[dict]:
    rows = conn.execute(text("""
        SELECT p.id, p.plan_id, g.name AS plan, p.replaced_plan_id, p.actor, p.note, p.at
          FROM plan_publications p JOIN grid_plans g ON g.id = p.plan_id ORDER BY p.at DESC, p.id DESC"""))
    return [dict(r._mapping) for r in rows]


def compare(conn: Connection, a: int, b: int) -> dict:
    """Households whose grid code differs between plans a and b (by each unit's point on surface)."""
    row = conn.execute(text("""
        WITH u AS (
          SELECT b.households,
                 (SELECT g.code FROM grids g WHERE g.plan_id = :a
                     AND g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1) AS ga,
                 (SELECT g.code FROM grids g WHERE g.plan_id = :b
                     AND g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1) AS gb
            FROM base_units b
           WHERE b.geom && (SELECT ST_Extent(geom) FROM grids WHERE plan_id IN (:a, :b)))
        SELECT coalesce(sum(households), 0) AS households,
               coalesce(sum(households) FILTER (WHERE ga IS DISTINCT FROM gb), 0) AS changed,
               count(*) FILTER (WHERE ga IS DISTINCT FROM gb) AS units_changed
          FROM u WHERE ga IS NOT NULL OR gb IS NOT NULL"""), {"a": a, "b": b}).mappings().one()
    return {k: int(v) for k, v in row.items()}


def units_in_grids(conn: Connection, plan_id: int, codes: list[str]) -> list[dict]:
    """Base units (id, households, point on surface as WKB) whose point lies in these grids."""
    rows = conn.execute(text("""
        SELECT b.id, g.code, b.households, ST_AsBinary(ST_PointOnSurface(b.geom)) AS wkb
          FROM grids g JOIN base_units b ON g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))
         WHERE g.plan_id = :p AND g.code = ANY(:codes) ORDER BY b.id"""), {"p": plan_id, "codes": codes})
    return [dict(r._mapping) for r in rows]


def unit_home(conn: Connection, plan_id: int, unit_ids: list[int]) -> list[dict]:
    """The grid each base unit lies in (by its point on surface), for the units given."""
    rows = conn.execute(text("""
        SELECT b.id, (SELECT g.code FROM grids g WHERE g.plan_id = :p
                        AND g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1) AS code
          FROM base_units b WHERE b.id = ANY(:ids) ORDER BY b.id"""), {"p": plan_id, "ids": unit_ids})
    return [dict(r._mapping) for r in rows]


def plan_units_geojson(conn: Connection, plan_id: int) -> list[dict]:
    """Base units in the plan's extent with the grid each lies in: what the planner paints."""
    rows = conn.execute(text("""
        SELECT b.id, b.households, b.estimated, g.code AS grid, ST_AsGeoJSON(b.geom, 6) AS geometry
          FROM base_units b
          LEFT JOIN grids g ON g.plan_id = :p AND g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))
         WHERE b.geom && (SELECT ST_Extent(geom) FROM grids WHERE plan_id = :p)
         ORDER BY b.id"""), {"p": plan_id})
    return [{"type": "Feature", "id": r.id, "geometry": json.loads(r.geometry),
             "properties": {"id": r.id, "households": r.households, "estimated": r.estimated,
                            "grid": r.grid}} for r in rows]


def plan_extent(conn: Connection, plan_id: int) -> tuple[float, float, float, float] | None:
    row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            "(SELECT ST_Extent(geom) AS e FROM grids WHERE plan_id = :p) x"),
                       {"p": plan_id}).first()
    return tuple(row) if row and row[0] is not None else None


def plan_assignment(conn: Connection, plan_id: int) -> list[dict]:
    """unit_id -> grid_code for every base unit in the plan's extent (None when in no grid)."""
    rows = conn.execute(text("""
        SELECT b.id AS unit_id,
               (SELECT g.code FROM grids g WHERE g.plan_id = :p
                   AND g.geom && b.geom AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1) AS grid_code
          FROM base_units b
         WHERE b.geom && (SELECT ST_Extent(geom) FROM grids WHERE plan_id = :p) ORDER BY b.id"""),
        {"p": plan_id})
    return [dict(r._mapping) for r in rows]


def create_empty_draft(conn: Connection, name: str, base_plan_id: int) -> int:
    return conn.execute(text("INSERT INTO grid_plans (name, status, base_plan_id) "
                             "VALUES (:n, 'draft', :b) RETURNING id"), {"n": name, "b": base_plan_id}).scalar()


def scope_streets(conn: Connection, community_ids: list[int]) -> list[bytes]:
    """Street lines (WKB) meeting these communities: the lines that cut them into blocks."""
    rows = conn.execute(text("""
        SELECT ST_AsBinary(s.geom) FROM streets s
         WHERE s.geom && (SELECT ST_Extent(geom) FROM admin_areas WHERE id = ANY(:ids))
           AND EXISTS (SELECT 1 FROM admin_areas c WHERE c.id = ANY(:ids) AND ST_Intersects(c.geom, s.geom))
         ORDER BY s.id"""), {"ids": community_ids})
    return [bytes(r[0]) for r in rows]


def local_rows(conn: Connection, plan_id: int, bbox: tuple[float, float, float, float]) -> dict:
    """Grids, communities and base units of a plan whose boxes meet bbox (an edit's neighbourhood)."""
    env = {"p": plan_id, "minx": bbox[0], "miny": bbox[1], "maxx": bbox[2], "maxy": bbox[3]}
    box = "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
    grids = conn.execute(text(
        "SELECT id, code, coalesce(community_id, -1) AS community_id, ST_AsBinary(geom) AS wkb "
        f"FROM grids WHERE plan_id = :p AND geom && {box} ORDER BY code"), env).mappings()
    comms = conn.execute(text(
        f"SELECT id, code, ST_AsBinary(geom) AS wkb FROM admin_areas WHERE level = 'community' "
        f"AND geom && {box} ORDER BY code"), env).mappings()
    units = conn.execute(text(
        f"SELECT id, households, ST_AsBinary(geom) AS wkb FROM base_units WHERE geom && {box} "
        "ORDER BY id"), env).mappings()
    return {"grids": [dict(r) for r in grids], "comms": [dict(r) for r in comms],
            "units": [dict(r) for r in units]}


def plan_streets(conn: Connection, plan_id: int, margin: float = 0.002) -> str | None:
    """Streets within `margin` degrees of a plan's extent as one GeoJSON MultiLineString (9
    decimals, as stored to well under a millimetre): the planner map's snap target, one layer."""
    return conn.execute(text("""
        SELECT ST_AsGeoJSON(ST_Collect(s.geom), 9) FROM streets s,
               (SELECT ST_SetSRID(ST_Expand(ST_Extent(geom), :m)::geometry, 4326) AS e
                  FROM grids WHERE plan_id = :p) x
         WHERE s.geom && x.e"""), {"p": plan_id, "m": margin}).scalar()
