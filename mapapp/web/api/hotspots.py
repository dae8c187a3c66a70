"""GET /api/hotspots: Getis-Ord Gi* hot spots of the filtered incidents as a FeatureCollection
of cells (count, z, p, q, bin) with a `meta` object of every choice and warning."""
from __future__ import annotations

from flask import Blueprint, Response, request

from mapapp.hotspots import analysis, params
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
