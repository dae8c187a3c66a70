"""Helpers shared by the API blueprints."""
from __future__ import annotations

from flask import Response, g, jsonify, request

from mapapp import privacy
from mapapp.incidents import filters
from mapapp.web.setup import ext


def incident_filter(allowed: set[str] | None = None) -> filters.IncidentFilter:
    # a plain dict (first value of each parameter, as MultiDict.get gives): werkzeug raises and
    # catches an exception for every parameter a MultiDict lacks, about ten a tile request
    return filters.parse(request.args.to_dict(), ext()["taxonomy"],
                         allowed=frozenset(allowed) if allowed else None)


def lang() -> str:
    return g.get("lang", "zh")


def can_see_names() -> bool:
    """Personal data (team members' and staff names, phone and ID numbers in free text) is for
    staff; public read mode and viewers do not get it."""
    user = g.get("user")
    return bool(user and user["role"] != "viewer")


def shielded(text: str | None) -> str | None:
    """Free text as this request's user may see it: phone, ID numbers and e-mails masked for viewers."""
    return text if can_see_names() else privacy.mask(text)


def geojson_response(body: dict, status: int = 200, download: str | None = None) -> Response:
    """A JSON body served as application/geo+json, optionally as a file to save."""
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/geo+json"
    if download:
        resp.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return resp
