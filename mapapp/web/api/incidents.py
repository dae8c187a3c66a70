"""GET /api/incidents: paged GeoJSON by bbox, time, category and status."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from mapapp.incidents import filters
from mapapp.incidents import queries as q
from mapapp.web.api.common import incident_filter
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_incidents", __name__)


@bp.get("/api/incidents")
@login_required
def list_incidents():
    f = incident_filter()
    with ext()["engine"].connect() as conn:
        matched = q.count(conn, f)
        feats = q.features(conn, f)
    body = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(feats),
            "limit": f.limit, "features": feats, "links": []}
    if len(feats) == f.limit:
        args = request.args.to_dict()
        args["cursor"] = filters.encode_cursor(feats[-1]["id"])
        href = url_for("api_incidents.list_incidents", _external=True, **args)
        body["next"] = href
        body["links"].append({"rel": "next", "type": "application/geo+json", "href": href})
    resp = jsonify(body)
    resp.mimetype = "application/geo+json"
    return resp
