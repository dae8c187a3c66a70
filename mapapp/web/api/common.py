"""Helpers shared by the API blueprints."""
from __future__ import annotations

from flask import g, request

from mapapp.incidents import filters
from mapapp.web.setup import ext


def incident_filter(allowed: set[str] | None = None) -> filters.IncidentFilter:
    return filters.parse(request.args, ext()["taxonomy"],
                         allowed=frozenset(allowed) if allowed else None)


def lang() -> str:
    return g.get("lang", "zh")


def can_see_names() -> bool:
    """Team members' names are for staff; public read mode and viewers do not get them."""
    user = g.get("user")
    return bool(user and user["role"] != "viewer")
