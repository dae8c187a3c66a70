"""SQL over the city's own layers: admin areas, key places, and the streets and buildings that
draw the offline base map."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

BASEMAP_CAP = 20000


def _features(rows, props: tuple[str, ...]) -> list[dict]:
    return [{"type": "Feature", "geometry": json.loads(r["geometry"]),
             "properties": {k: r[k] for k in props}} for r in rows]


def admin_areas(conn: Connection, level: str | None = None) -> list[dict]:
    rows = conn.execute(text("""
        SELECT a.code, a.name, a.level, p.code AS parent, ST_AsGeoJSON(a.geom, 6) AS geometry,
               ST_XMin(a.geom) AS minx, ST_YMin(a.geom) AS miny,
               ST_XMax(a.geom) AS maxx, ST_YMax(a.geom) AS maxy
          FROM admin_areas a LEFT JOIN admin_areas p ON p.id = a.parent_id
         WHERE CAST(:level AS text) IS NULL OR a.level = CAST(:level AS text)
         ORDER BY a.code"""), {"level": level}).mappings().all()
    return [dict(r, geometry=json.loads(r["geometry"])) for r in rows]


def key_places(conn: Connection, bbox: tuple[float, float, float, float] | None = None) -> list[dict]:
    rows = conn.execute(text("""
        SELECT id, name, category, address, ST_AsGeoJSON(geom, 6) AS geometry FROM key_places
         WHERE CAST(:minx AS float8) IS NULL
            OR geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
         ORDER BY id"""), _bbox_params(bbox)).mappings().all()
    return _features(rows, ("id", "name", "category", "address"))


def _bbox_params(bbox) -> dict:
    keys = ("minx", "miny", "maxx", "maxy")
    return dict(zip(keys, bbox)) if bbox else dict.fromkeys(keys)


def basemap(conn: Connection, bbox: tuple[float, float, float, float]) -> dict[str, list[dict]]:
    """Streets and building footprints inside bbox, simplified to about a metre, capped."""
    params = dict(_bbox_params(bbox), cap=BASEMAP_CAP)
    streets = conn.execute(text("""
        SELECT name, class, ST_AsGeoJSON(geom, 6) AS geometry FROM streets
         WHERE geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
         LIMIT :cap"""), params).mappings().all()
    buildings = conn.execute(text("""
        SELECT name, households, estimated,
               ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001), 6) AS geometry
          FROM base_units
         WHERE kind = 'building' AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')
           AND geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
         LIMIT :cap"""), params).mappings().all()
    return {"streets": _features(streets, ("name", "class")),
            "buildings": _features(buildings, ("name", "households", "estimated"))}


def extent(conn: Connection, area_code: str | None = None) -> tuple[float, float, float, float] | None:
    """Bounds of one admin area, or of all districts; None when nothing is loaded."""
    row = conn.execute(text("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(geom) AS e FROM admin_areas
           WHERE (CAST(:code AS text) IS NULL AND level = 'district') OR code = CAST(:code AS text)) s"""),
        {"code": area_code}).one()
    return None if row[0] is None else tuple(float(v) for v in row)


def versions(conn: Connection) -> dict:
    return dict(conn.execute(text("""
        SELECT 'postgresql' AS k, current_setting('server_version') AS v
        UNION ALL SELECT 'postgis', extversion FROM pg_extension WHERE extname = 'postgis'
        UNION ALL SELECT 'pgrouting', extversion FROM pg_extension WHERE extname = 'pgrouting'
    """)).all())
