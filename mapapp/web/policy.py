"""The route policy: which roles may call each endpoint of the app, declared in one place.

Every endpoint of the Flask URL map has an entry here; `enforce` (a before_request hook) applies
it to every request, so a route without an entry answers 403 to everyone (fail closed) and
tests/security/test_route_policy.py fails naming the entry to add. The view decorators in
mapapp/web/auth.py stay as a second line of defence.

Roles: viewer < dispatcher, planner, patrol_lead < admin. `anonymous` needs no login; `viewer`
means any logged-in role. `public` marks aggregated reads that MAPAPP_PUBLIC_READ may serve without
a login (no single incident, no names). `write` marks endpoints that change data: they always
need a staff role and (from a browser) a CSRF token.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, jsonify, redirect, request, url_for

ROLE_ORDER = ("viewer", "dispatcher", "planner", "patrol_lead", "admin")
API_PREFIXES = ("/api/", "/tiles/", "/open311/")


@dataclass(frozen=True)
class Policy:
    """Who may call an endpoint: `roles` empty means anyone (anonymous)."""
    roles: frozenset[str]
    write: bool = False
    public: bool = False

    @property
    def anonymous(self) -> bool:
        return not self.roles

    @property
    def minimum(self) -> str:
        """The role name used in the policy table and in messages."""
        if self.anonymous:
            return "anonymous"
        if self.roles == frozenset(ROLE_ORDER):
            return "viewer"
        return "+".join(r for r in ROLE_ORDER if r in self.roles and r != "admin") or "admin"

    def allows(self, role: str | None) -> bool:
        return self.anonymous or role in self.roles


def _policy(*roles: str, write: bool = False, public: bool = False) -> Policy:
    if roles == ("anonymous",):
        return Policy(frozenset(), write, public)
    if roles == ("viewer",):
        return Policy(frozenset(ROLE_ORDER), write, public)
    return Policy(frozenset(roles) | {"admin"}, write, public)


ANONYMOUS = _policy("anonymous")
VIEWER = _policy("viewer")
PUBLIC = _policy("viewer", public=True)  # aggregated: served without login in public read mode

POLICY: dict[str, Policy] = {
    # no login: health, static assets, the login form, logging out (POST, CSRF-checked)
    "static": ANONYMOUS,
    "api_meta.healthz": ANONYMOUS,
    "auth.login": ANONYMOUS,
    "auth.logout": ANONYMOUS,
    # pages
    "pages.command_center": PUBLIC,
    "pages.kpi_page": PUBLIC,
    "pages.backtest_page": PUBLIC,
    "pages.patrol_page": _policy("patrol_lead"),
    "pages.plan_page": _policy("planner"),
    # reference data and aggregated layers
    "api_meta.taxonomy": PUBLIC,
    "api_meta.admin_areas": PUBLIC,
    "api_meta.basemap": PUBLIC,
    "api_meta.key_places": PUBLIC,
    "api_grids.list_grids": PUBLIC,
    "api_grids.grid_stats_view": PUBLIC,
    "api_kpi.kpi_view": PUBLIC,
    "api_hotspots.hotspots": PUBLIC,
    "api_hotspots.hotspot_clusters": PUBLIC,
    "api_hotspots.hotspot_density": PUBLIC,
    "api_hotspots.hotspot_emerging": PUBLIC,
    "api_hotspots.hotspot_backtest": PUBLIC,
    # single incidents (locations, descriptions): staff and viewers, never the public
    "api_incidents.list_incidents": VIEWER,
    "api_incidents.latest_incidents": VIEWER,
    "api_incidents.changes": VIEWER,
    "api_incidents.get_incident": VIEWER,
    "tiles.version": VIEWER,
    "tiles.incidents_tile": VIEWER,
    "open311.services": VIEWER,
    "open311.list_requests": VIEWER,
    "open311.one_request": VIEWER,
    "api_incidents.create_incident": _policy("dispatcher", write=True),
    "api_incidents.import_incidents": _policy("dispatcher", write=True),
    "api_incidents.transition": _policy("dispatcher", "patrol_lead", write=True),
    "open311.create_request": _policy("dispatcher", write=True),
    # patrols
    "api_patrols.plan_patrol": _policy("patrol_lead", write=True),
    "api_patrols.patrol_candidates": VIEWER,  # POST carries a plan request but writes nothing
    "api_patrols.get_patrol": VIEWER,
    "api_patrols.patrol_geojson": VIEWER,
    "api_patrols.patrol_gpx": VIEWER,
    "api_patrols.reach": VIEWER,
    # grid plans
    "api_plans.plan_view": VIEWER,
    "api_plans.check_plan": VIEWER,
    "api_plans.plan_metrics_view": VIEWER,
    "api_plans.plan_units": VIEWER,
    "api_plans.plan_streets": VIEWER,
    "api_plans.publication_history": VIEWER,
    "api_plans.compare": VIEWER,
    "api_plans.new_draft": _policy("planner", write=True),
    "api_plans.edit_plan": _policy("planner", write=True),
    "api_plans.undo": _policy("planner", write=True),
    "api_plans.redo": _policy("planner", write=True),
    "api_plans.publish": _policy("planner", write=True),
    "api_plans.auto": _policy("planner", write=True),
    "api_plans.assignment_export": VIEWER,
    "api_plans.assignment_import": _policy("planner", write=True),
    # audit trail
    "audit.audit_api": _policy("admin"),
    "audit.audit_page": _policy("admin"),
    "openapi.spec": ANONYMOUS,  # the API's description, no data
}


def for_endpoint(endpoint: str | None) -> Policy | None:
    return POLICY.get(endpoint or "")


def _deny(status: int, message: str):
    if request.path.startswith(API_PREFIXES) or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": "unauthorized" if status == 401 else "forbidden", "message": message}), status
    if status == 401:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(status, description=message)


def enforce(user: dict | None, public_read: bool):
    """Answer 401/403 (or the login redirect for pages) unless the policy lets this user in."""
    if request.endpoint is None:
        return None  # no route matched: Flask answers 404 or 405
    policy = for_endpoint(request.endpoint)
    if policy is None:
        return _deny(403, f"endpoint {request.endpoint} has no entry in mapapp/web/policy.py")
    if policy.anonymous:
        return None
    if user is None:
        if public_read and policy.public and request.method in ("GET", "HEAD"):
            return None
        return _deny(401, "log in or send an API token")
    if not policy.allows(user["role"]):
        return _deny(403, f"role {user['role']} may not do this; needs one of "
                          f"{', '.join(r for r in ROLE_ORDER if r in policy.roles)}")
    return None
