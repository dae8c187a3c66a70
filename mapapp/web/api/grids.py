"""GET /api/grids and /api/grids/<code>/stats."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, jsonify, request

from mapapp.errors import NotFound, ParamError
from mapapp.grids import queries as gq
from mapapp.grids.stats import grid_stats
from mapapp.incidents import queries as iq
from mapapp.web.api.common import can_see_names, incident_filter, lang
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_grids", __name__)


def _feature(grid: dict, names: bool) -> dict:
    props = {k: grid[k] for k in ("code", "name", "community", "community_name", "plan",
                                  "households", "population", "estimated", "area_m2")}
    props["team"] = {k: (grid[k] if names else None) for k in gq.TEAM}
    return {"type": "Feature", "id": grid["code"], "geometry": grid["geometry"], "properties": props}


@bp.get("/api/grids")
@login_required
def list_grids():
    plan = request.args.get("plan", "published").strip()
    if not plan:
        raise ParamError("plan must be 'published' or a plan name", field="plan")
    with ext()["engine"].connect() as conn:
        if not gq.plan_exists(conn, plan):
            raise NotFound(f"no grid plan {plan!r}", field="plan")
        rows = gq.grids(conn, plan)
    resp = jsonify({"type": "FeatureCollection", "plan": plan,
                    "features": [_feature(g, can_see_names()) for g in rows]})
    resp.mimetype = "application/geo+json"
    return resp


@bp.get("/api/grids/<code>/stats")
@login_required
def grid_stats_view(code: str):
    f = incident_filter(allowed={"since", "until", "category", "status"})
    f = replace(f, grid=code)
    with ext()["engine"].connect() as conn:
        found = gq.grids(conn, "published", code=code)
        if not found:
            raise NotFound(f"no grid {code!r} in the published plan", field="code")
        rows = iq.counts_by_category(conn, f)
    grid = found[0]
    stats = grid_stats(grid, rows, ext()["taxonomy"], lang())
    return jsonify({
        "grid": {**_feature(grid, can_see_names())["properties"]},
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
        **stats,
    })
