"""GET /api/hotspots: Getis-Ord Gi* hot spots of the filtered incidents as a FeatureCollection
of cells (count, z, p, q, bin) with a `meta` object of every choice and warning; /clusters
(DBSCAN hulls) and /density (kernel density raster with its bandwidth)."""
from __future__ import annotations

from typing import Mapping

from flask import Blueprint, Response, jsonify, request

from mapapp.hotspots import analysis, clusters, evaluate, params, trends
from mapapp.incidents import filters
from mapapp.incidents.filters import parse_time
from mapapp.web.api.common import incident_filter
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_hotspots", __name__)


@bp.get("/api/hotspots")
@login_required
def hotspots():
    p = params.parse(request.args)
    f = incident_filter(allowed=set(params.FILTER_KEYS))
    with ext()["engine"].connect() as conn:
        body = analysis.run(conn, f, p)
    return Response(body, mimetype="application/geo+json")


@bp.get("/api/hotspots/clusters")
@login_required
def hotspot_clusters():
    p = params.parse_clusters(request.args)
    f = incident_filter(allowed=set(params.FILTER_KEYS))
    with ext()["engine"].connect() as conn:
        return jsonify(clusters.clusters(conn, f, p))


@bp.get("/api/hotspots/density")
@login_required
def hotspot_density():
    p = params.parse_density(request.args)
    f = incident_filter(allowed=set(params.FILTER_KEYS))
    with ext()["engine"].connect() as conn:
        return jsonify(clusters.heat(conn, f, p))


@bp.get("/api/hotspots/emerging")
@login_required
def hotspot_emerging():
    p = params.parse_emerging(request.args)
    f = incident_filter(allowed=set(params.FILTER_KEYS))
    with ext()["engine"].connect() as conn:
        return jsonify(trends.run(conn, f, p))


def backtest_from(args: Mapping[str, str]) -> dict:
    """A backtest from query arguments; the API and the backtest page both answer with it."""
    split = parse_time(args["split"], "split") if args.get("split") else None
    p = params.parse_backtest(args, split)
    f = filters.parse(args, ext()["taxonomy"], allowed=frozenset(params.FILTER_KEYS))
    with ext()["engine"].connect() as conn:
        return evaluate.run(conn, f, p)


@bp.get("/api/hotspots/backtest")
@login_required
def hotspot_backtest():
    return jsonify(backtest_from(request.args))
