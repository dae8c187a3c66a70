"""GET /api/openapi.json: an OpenAPI 3.0 description of the JSON API, generated from the URL map and
the route policy (paths, methods, path parameters, who may call) plus hand-written schemas of the
main request bodies. Routes added later appear by themselves; give their body a schema in BODIES."""
from __future__ import annotations

import re

from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.routing import IntegerConverter, Rule

from mapapp.web.policy import POLICY

bp = Blueprint("openapi", __name__)
API_PREFIXES = ("/api/", "/open311/")
_ARG = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")

ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                        "field": {"type": "string"}, "row": {"type": "integer"}}}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}
BODIES: dict[str, dict] = {
    "api_incidents.create_incident": {
        "type": "object", "required": ["category", "lon", "lat"],
        "properties": {"category": {"type": "string"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                       "description": {"type": "string"}, "priority": {"type": "string"},
                       "source": {"type": "string"}, "reported_at": {"type": "string"}}},
    "api_incidents.transition": {
        "type": "object", "required": ["action"],
        "properties": {"action": {"type": "string"}, "note": {"type": "string"}}},
    "api_plans.new_draft": {"type": "object", "required": ["name"], "properties": {"name": NAME}},
    "api_plans.edit_plan": {
        "type": "object", "required": ["version", "action"],
        "properties": {"version": {"type": "integer"}, "action": {"type": "string"}}},
    "api_plans.undo": {"type": "object", "properties": {"version": {"type": "integer"}}},
    "api_plans.redo": {"type": "object", "properties": {"version": {"type": "integer"}}},
    "api_plans.publish": {"type": "object", "properties": {"version": {"type": "integer"},
                                                           "note": {"type": "string"}}},
    "api_plans.auto": {
        "type": "object", "required": ["name"],
        "properties": {"name": NAME, "keep_locked": {"type": "boolean"},
                       "minimise_disruption": {"type": "boolean"}, "follow_streets": {"type": "boolean"},
                       "respect_communities": {"type": "boolean", "enum": [True]},
                       "time_limit": {"type": "number", "minimum": 1, "maximum": 600},
                       "band": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}}},
    "api_patrols.plan_patrol": {"type": "object"},
    "api_patrols.patrol_candidates": {"type": "object"},
    "open311.create_request": {
        "type": "object", "required": ["service_code", "lat", "long"],
        "properties": {"service_code": {"type": "string"}, "lat": {"type": "number"},
                       "long": {"type": "number"}, "description": {"type": "string"}}},
}
MULTIPART = {"api_incidents.import_incidents", "api_plans.assignment_import"}


def _path(rule: Rule) -> tuple[str, list[dict]]:
    params = []
    for kind, name in _ARG.findall(rule.rule):
        conv = rule._converters[name]
        schema = {"type": "integer", "minimum": 0} if isinstance(conv, IntegerConverter) else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _ARG.sub(lambda m: "{" + m.group(2) + "}", rule.rule), params


def _operation(rule: Rule, method: str) -> dict:
    policy = POLICY.get(rule.endpoint)
    view = current_app.view_functions[rule.endpoint]
    doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
    path, params = _path(rule)
    op: dict = {"operationId": f"{rule.endpoint}.{method.lower()}", "summary": doc, "parameters": params,
                "x-roles": sorted(policy.roles) if policy else ["nobody: no policy entry"],
                "responses": {"200": {"description": "OK"},
                              "default": {"description": "an error naming what is wrong",
                                          "content": {"application/json": {"schema": ERROR}}}}}
    if policy is not None and policy.anonymous:
        op["security"] = []
    if method == "POST":
        op["responses"]["201"] = {"description": "created"}
        if rule.endpoint in MULTIPART:
            op["requestBody"] = {"content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}
        else:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": BODIES.get(rule.endpoint, {"type": "object"})}}}
    return op


def describe(app: Flask) -> dict:
    """The OpenAPI document of every /api and /open311 route."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIXES) or rule.endpoint == "openapi.spec":
            continue
        path, _ = _path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method)
    return {"openapi": "3.0.3",
            "info": {"title": "mapapp API", "version": "1",
                     "description": "Grid-based city management. Send `Authorization: Bearer <token>` "
                                    "(mapapp token create); x-roles lists the roles that may call."},
            "servers": [{"url": "/"}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                           "schemas": {"Error": ERROR}},
            "security": [{"bearer": []}],
            "paths": paths}


@bp.get("/api/openapi.json")
def spec():
    """The OpenAPI description of this API."""
    return jsonify(describe(current_app))
