"""GET /tiles/incidents/{z}/{x}/{y}.pbf: incidents as Mapbox Vector Tiles (ST_AsMVT), filtered by
the same builder as the list API. The data version in the URL (v=) means a cached tile never
hides new data; the ETag answers a repeat with 304."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, jsonify, request

from mapapp.errors import ParamError
from mapapp.incidents import queries as q
from mapapp.web.api.common import incident_filter
from mapapp.web.auth import login_required
from mapapp.web.setup import ext, reads_one_statement_at_a_time, request_connection

bp = Blueprint("tiles", __name__)
FILTERS = {"since", "until", "category", "status", "grid", "community", "overdue"}


@bp.get("/tiles/incidents/version")
@login_required
def version():
    with ext()["engine"].connect() as conn:
        return jsonify({"version": q.data_version(conn)})


@bp.get("/tiles/incidents/<int:z>/<int:x>/<int:y>.pbf")
@reads_one_statement_at_a_time  # the version and the tile are read in one statement
@login_required
def incidents_tile(z: int, x: int, y: int):
    if not 0 <= z <= 22:
        raise ParamError("z must be between 0 and 22", field="z")
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise ParamError(f"x and y must be between 0 and {2 ** z - 1} at zoom {z}", field="x" if x >= 2 ** z else "y")
    args = {k: v for k, v in request.args.items() if k != "v"}
    unknown = sorted(set(args) - FILTERS)
    if unknown:
        raise ParamError(f"{unknown[0]} is not a tile filter", field=unknown[0])
    f = incident_filter(allowed=FILTERS)

    def tag(version: str) -> str:
        return hashlib.sha1(f"{version}|{z}/{x}/{y}|{sorted(args.items())}".encode()).hexdigest()

    conn = request_connection()  # the one authentication used
    try:
        if request.if_none_match:  # a revalidation: the version alone decides, usually a 304
            etag = tag(q.data_version(conn))
            if request.if_none_match.contains(etag):
                return Response(status=304, headers={"ETag": f'"{etag}"'})
        # one statement, so one snapshot; also planned without parallel workers (the version
        # function is parallel unsafe), which dense tiles are faster without on two cores
        current, body = q.versioned_tile(conn, f, z, x, y)
        etag = tag(current)
    finally:
        conn.rollback()  # no transaction stays open while the answer is sent
    pinned = request.args.get("v") == current
    return Response(body, mimetype="application/vnd.mapbox-vector-tile", headers={
        "ETag": f'"{etag}"',
        "Cache-Control": "private, max-age=86400, immutable" if pinned else "private, no-cache"})
