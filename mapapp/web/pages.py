"""HTML pages. The command center: one map of the territory (一张图)."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from mapapp.city import queries as cq
from mapapp.db.models import INCIDENT_STATUSES
from mapapp.grids import queries as gq
from mapapp.incidents import queries as iq
from mapapp.web import i18n
from mapapp.web.api.common import can_see_names
from mapapp.web.auth import login_required
from mapapp.web.maps import command_center_parts
from mapapp.web.setup import ext

bp = Blueprint("pages", __name__)
KEY_PLACE_CATEGORIES = ("hotel", "bar", "entertainment", "internet_cafe", "market", "school",
                        "hospital", "clinic", "station", "place_of_worship", "bank", "pharmacy",
                        "embassy", "theatre", "construction_site", "fuel")


@bp.get("/")
@login_required
def command_center():
    settings, engine, taxonomy = ext()["settings"], ext()["engine"], ext()["taxonomy"]
    lang = g.lang

    def t(key: str, **kw) -> str:
        return i18n.translate(key, lang, **kw)

    with engine.connect() as conn:
        districts = cq.admin_areas(conn, "district")
        area = request.args.get("area") or (districts[0]["code"] if districts else None)
        bounds = cq.extent(conn, area) or cq.extent(conn)
        communities = cq.admin_areas(conn, "community")
        grids = gq.grids(conn, "published") if gq.plan_exists(conn, "published") else []
        places = cq.key_places(conn)
        simulated = iq.any_simulated(conn)
    names = can_see_names()
    for grid in grids:
        grid["team"] = {k: (grid[k] if names else None) for k in gq.TEAM}
    for p in places:
        p["properties"]["label"] = t(f"place.{p['properties']['category']}")
    parts, layers = command_center_parts(lang, t, bounds=bounds, communities=communities, grids=grids,
                                         key_places=places, tiles=settings.tiles,
                                         tiles_attribution=settings.tiles_attribution,
                                         tile_url=url_for("tiles.incidents_tile", z=0, x=0, y=0)
                                         .replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf"))
    strings = {k: v for k, v in i18n.catalog(lang).items()
               if k.split(".")[0] in ("status", "panel", "grid", "team", "incident", "simulated",
                                      "filter", "attribution", "latest", "action")}
    config = {
        "lang": lang, "layers": layers.__dict__, "strings": strings,
        "categories": taxonomy.as_json(lang),
        "urls": {"incidents": url_for("api_incidents.list_incidents"),
                 "basemap": url_for("api_meta.basemap"),
                 "latest": url_for("api_incidents.latest_incidents"),
                 "changes": url_for("api_incidents.changes"),
                 "tiles": url_for("tiles.incidents_tile", z=0, x=0, y=0).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf"),
                 "tileVersion": url_for("tiles.version"),
                 "incident": url_for("api_incidents.get_incident", incident_id=0).rstrip("0"),
                 "gridStats": url_for("api_grids.grid_stats_view", code="__CODE__")},
        "simulated": simulated, "pointZoom": iq.TILE_POINT_ZOOM,
    }
    return render_template("command_center.html", folium=parts, config=config,
                           districts=districts, area=area, simulated=simulated, statuses=INCIDENT_STATUSES,
                           communities=communities, grids=grids,
                           other_lang="en" if lang == "zh" else "zh")


@bp.get("/kpi")
@login_required
def kpi_page():
    """Indicators table and chart; the same figures as /api/kpi, which also serves the CSV."""
    from mapapp.web.api.kpi import compute

    level, areas, total, _ = compute()
    with ext()["engine"].connect() as conn:
        simulated = iq.any_simulated(conn)
    return render_template("kpi.html", level=level, areas=areas, total=total, simulated=simulated,
                           args=request.args.to_dict(), tz=ext()["settings"].timezone)


@bp.get("/patrol")
@login_required
def patrol_page():
    """Plan patrol routes (role patrol_lead): area, teams, mode, shift, dwell; routes on the map."""
    from flask import abort

    from mapapp.web.auth import csrf_token

    user = g.get("user")
    if user is None or user["role"] not in ("patrol_lead", "admin"):
        abort(403, description="the patrol page needs the patrol_lead role")
    settings = ext()["settings"]
    with ext()["engine"].connect() as conn:
        areas = cq.admin_areas(conn)
        communities = [a for a in areas if a["level"] == "community"]
        area = request.args.get("area") or (communities[0]["code"] if communities else None)
        bounds = cq.extent(conn, area) or cq.extent(conn) or (-180.0, -85.0, 180.0, 85.0)
        simulated = iq.any_simulated(conn)
    config = {"lang": g.lang, "bounds": bounds, "csrf": csrf_token(), "tiles": settings.tiles,
              "tilesAttribution": settings.tiles_attribution,
              "strings": {k: v for k, v in i18n.catalog(g.lang).items() if k.startswith("patrol.")},
              "urls": {"plan": url_for("api_patrols.plan_patrol"),
                       "candidates": url_for("api_patrols.patrol_candidates"),
                       "reach": url_for("api_patrols.reach"), "basemap": url_for("api_meta.basemap"),
                       "patrol": url_for("api_patrols.get_patrol", patrol_id=0).rstrip("0")}}
    return render_template("patrol.html", areas=areas, area=area, config=config, simulated=simulated)


@bp.get("/plan/<int:plan_id>")
@login_required
def plan_page(plan_id: int):
    """The planner map (role planner): grids coloured by band, the check's problems, metrics,
    paint base units into a grid, undo/redo."""
    from flask import abort

    from mapapp.web.auth import csrf_token

    user = g.get("user")
    if user is None or user["role"] not in ("planner", "admin"):
        abort(403, description="the planner map needs the planner role")
    with ext()["engine"].connect() as conn:
        plan = gq.plan(conn, plan_id)
        if plan is None:
            abort(404, description=f"no grid plan {plan_id}")
        bounds = gq.plan_extent(conn, plan_id) or cq.extent(conn) or (-180.0, -85.0, 180.0, 85.0)
    settings = ext()["settings"]
    base = f"/api/plans/{plan_id}"
    config = {"lang": g.lang, "plan": plan_id, "name": plan["name"], "status": plan["status"],
              "version": plan["version"], "bounds": bounds, "csrf": csrf_token(),
              "tiles": settings.tiles, "tilesAttribution": settings.tiles_attribution,
              "strings": {k: v for k, v in i18n.catalog(g.lang).items() if k.startswith("plan.")},
              "urls": {"grids": url_for("api_grids.list_grids", plan=plan["name"]),
                       "metrics": base + "/metrics", "check": base + "/check", "units": base + "/units",
                       "edits": base + "/edits", "undo": base + "/undo", "redo": base + "/redo",
                       "streets": base + "/streets",
                       "communities": url_for("api_meta.admin_areas", level="community"),
                       "basemap": url_for("api_meta.basemap")}}
    return render_template("plan.html", plan=plan, config=config)



@bp.get("/hotspots/backtest")
@login_required
def backtest_page():
    """Which hot spot method has earned trust here: the backtest table and hit-rate curve
    (the same figures as /api/hotspots/backtest); the last 4 weeks are tested by default."""
    from datetime import datetime, timedelta, timezone

    from mapapp.errors import UserError
    from mapapp.web.api.hotspots import backtest_from

    today = datetime.now(timezone.utc).date() + timedelta(days=1)
    args = {k: v for k, v in request.args.items() if k != "lang" and v != ""}
    args.setdefault("until", today.isoformat())
    args.setdefault("split", (today - timedelta(days=28)).isoformat())
    args.setdefault("since", (today - timedelta(days=28 + 84)).isoformat())
    result, error = None, None
    try:
        result = backtest_from(args)
    except UserError as exc:
        error = exc
    with ext()["engine"].connect() as conn:
        simulated = iq.any_simulated(conn)
    return render_template("hotspots_backtest.html", result=result, error=error, args=args,
                           simulated=simulated), (error.status if error else 200)
