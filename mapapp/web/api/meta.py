"""Health, taxonomy, admin areas, key places and the offline base map."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mapapp.city import queries as cq
from mapapp.errors import ParamError
from mapapp.incidents.filters import parse_bbox
from mapapp.web.api.common import lang
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_meta", __name__)


@bp.get("/healthz")
def healthz():
    with ext()["engine"].connect() as conn:
        versions = cq.versions(conn)
    return jsonify({"status": "ok", "database": versions.get("postgresql"),
                    "postgis": versions.get("postgis"), "pgrouting": versions.get("pgrouting")})


@bp.get("/api/taxonomy")
@login_required
def taxonomy():
    return jsonify({"categories": ext()["taxonomy"].as_json(lang())})


@bp.get("/api/admin_areas")
@login_required
def admin_areas():
    level = request.args.get("level")
    if level and level not in ("district", "street", "community"):
        raise ParamError("level must be district, street or community", field="level")
    with ext()["engine"].connect() as conn:
        rows = cq.admin_areas(conn, level)
    return jsonify({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r["code"], "geometry": r["geometry"],
         "properties": {k: r[k] for k in ("code", "name", "level", "parent")}} for r in rows]})


def _bbox_arg() -> tuple[float, float, float, float]:
    if not request.args.get("bbox"):
        raise ParamError("bbox is required (minx,miny,maxx,maxy)", field="bbox")
    return parse_bbox(request.args["bbox"])


@bp.get("/api/key_places")
@login_required
def key_places():
    bbox = parse_bbox(request.args["bbox"]) if request.args.get("bbox") else None
    with ext()["engine"].connect() as conn:
        return jsonify({"type": "FeatureCollection", "features": cq.key_places(conn, bbox)})


@bp.get("/api/basemap")
@login_required
def basemap():
    with ext()["engine"].connect() as conn:
        layers = cq.basemap(conn, _bbox_arg())
    return jsonify({name: {"type": "FeatureCollection", "features": feats}
                    for name, feats in layers.items()})
