"""Patrol plans (POST /api/patrols/plan), saved patrols with GPX/GeoJSON exports, candidates and
reachability areas."""
from __future__ import annotations

import math

from flask import Blueprint, Response, g, request, url_for

from mapapp.errors import NotFound, ParamError
from mapapp.patrol import queries as pq
from mapapp.patrol.gpx import to_gpx
from mapapp.patrol.network import MODES
from mapapp.patrol.plan import candidates, plan, reachable_areas
from mapapp.patrol.request import parse_request
from mapapp.web.api.common import geojson_response
from mapapp.web.auth import login_required, role_required
from mapapp.web.setup import ext

bp = Blueprint("api_patrols", __name__)
MAX_REACH_MINUTES = 120


@bp.post("/api/patrols/plan")
@role_required("patrol_lead")
def plan_patrol():
    req = parse_request(request.get_json(silent=True))
    with ext()["engine"].begin() as conn:
        routes = plan(conn, req)
        patrol_id = pq.save_patrol(conn, g.user["id"], routes["params"], routes["summary"], routes)
    resp = geojson_response({"id": patrol_id, **routes}, 201)
    resp.headers["Location"] = url_for("api_patrols.get_patrol", patrol_id=patrol_id)
    return resp


@bp.post("/api/patrols/candidates")
@login_required
def patrol_candidates():
    """Read-only: the candidate stops of an area (the body is a plan request)."""
    req = parse_request(request.get_json(silent=True))
    with ext()["engine"].connect() as conn:
        return geojson_response(candidates(conn, req))


def _saved(patrol_id: int) -> dict:
    with ext()["engine"].connect() as conn:
        found = pq.get_patrol(conn, patrol_id)
    if found is None:
        raise NotFound(f"no patrol {patrol_id}", field="id")
    return found


@bp.get("/api/patrols/<int:patrol_id>")
@login_required
def get_patrol(patrol_id: int):
    p = _saved(patrol_id)
    return geojson_response({"id": p["id"], "created_at": p["created_at"].isoformat(),
                     "created_by": p["created_by"], **p["routes"]})


@bp.get("/api/patrols/<int:patrol_id>.geojson")
@login_required
def patrol_geojson(patrol_id: int):
    p = _saved(patrol_id)
    return geojson_response({"id": p["id"], **p["routes"]}, download=f"patrol-{patrol_id}.geojson")


@bp.get("/api/patrols/<int:patrol_id>.gpx")
@login_required
def patrol_gpx(patrol_id: int):
    p = _saved(patrol_id)
    body = to_gpx(p["id"], p["created_at"].isoformat(), p["routes"])
    return Response(body, mimetype="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="patrol-{patrol_id}.gpx"'})


def _lonlat(value: str | None, field: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in (value or "").split(","))
    except ValueError:
        raise ParamError(f"{field} must be lon,lat", field=field) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ParamError(f"{field} must be lon,lat in degrees", field=field)
    return lon, lat


def _minutes(value: str | None) -> list[float]:
    try:
        minutes = sorted({float(v) for v in (value or "5,10,15").split(",")})
    except ValueError:
        raise ParamError("minutes must be numbers separated by commas, e.g. 5,10,15", field="minutes") from None
    if not minutes or len(minutes) > 6 or not all(0 < m <= MAX_REACH_MINUTES for m in minutes):
        raise ParamError(f"minutes must be 1 to 6 values above 0 and at most {MAX_REACH_MINUTES}",
                         field="minutes")
    return minutes


@bp.get("/api/reach")
@login_required
def reach():
    point = _lonlat(request.args.get("from"), "from")
    mode = request.args.get("mode", "foot")
    if mode not in MODES:
        raise ParamError(f"mode must be one of {', '.join(MODES)}", field="mode")
    minutes = _minutes(request.args.get("minutes"))
    with ext()["engine"].connect() as conn:
        return geojson_response(reachable_areas(conn, point, mode, minutes))
