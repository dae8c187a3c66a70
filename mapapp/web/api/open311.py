"""Open311 GeoReport v2 (JSON): services are the taxonomy's subcategories, requests are incidents.

GET  /open311/v2/services.json
GET  /open311/v2/requests.json?service_request_id=&service_code=&start_date=&end_date=&status=&page=&page_size=
GET  /open311/v2/requests/<id>.json
POST /open311/v2/requests.json  (form or JSON: api_key, service_code, lat, long, description, ...)
Errors follow the spec: a list of {"code", "description"}.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from mapapp.errors import UserError
from mapapp.incidents import filters, intake, workflow
from mapapp.incidents import queries as q
from mapapp.io.queries import jurisdiction
from mapapp.web.api.common import lang, shielded
from mapapp.web.auth import login_required, role_required
from mapapp.web.setup import ext

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
MAX_PAGE_SIZE = 200


def _error(status: int, message: str):
    return jsonify([{"code": status, "description": message}]), status


@bp.errorhandler(UserError)
def _user_error(exc: UserError):
    where = f" ({exc.field})" if exc.field else ""
    return _error(exc.status, exc.message + where)


@bp.get("/services.json")
@login_required
def services():
    tax = ext()["taxonomy"]
    return jsonify([{"service_code": c.code, "service_name": c.label(lang()),
                     "description": f"{tax.get(c.top).label(lang())} / {c.label(lang())}",
                     "metadata": False, "type": "realtime", "keywords": c.code.replace(".", ","),
                     "group": tax.get(c.top).label(lang())}
                    for c in tax.categories.values() if c.parent])


def _request(case: dict) -> dict:
    tax = ext()["taxonomy"]
    name = tax.get(case["category"]).label(lang()) if case["category"] in tax else case["category"]
    return {"service_request_id": str(case["id"]),
            "status": "closed" if case["status"] in ("closed", "voided") else "open",
            "status_notes": case["status"], "service_name": name, "service_code": case["category"],
            "description": shielded(case["description"]), "agency_responsible": case["grid"],
            "service_notice": None, "requested_datetime": case["reported_at"],
            "updated_datetime": case.get("updated_at") or case["reported_at"],
            "expected_datetime": case["due_at"], "address": None, "lat": case["lat"], "long": case["lon"]}


def _iso(value):
    return value.isoformat() if value else None


@bp.get("/requests/<int:request_id>.json")
@login_required
def one_request(request_id: int):
    with ext()["engine"].connect() as conn:
        case = q.get(conn, request_id)
    if case is None:
        return _error(404, f"no service request {request_id}")
    case.update({k: _iso(case[k]) for k in ("reported_at", "due_at")})
    return jsonify([_request(case)])


@bp.get("/requests.json")
@login_required
def list_requests():
    args = request.args
    if args.get("service_request_id"):
        ids = [x.strip() for x in args["service_request_id"].split(",") if x.strip()]
        if not all(x.isdigit() for x in ids):
            return _error(400, "service_request_id must be a list of numbers")
        with ext()["engine"].connect() as conn:
            cases = [c for c in (q.get(conn, int(x)) for x in ids) if c]
    else:
        try:
            page = int(args.get("page", "1"))
            size = min(int(args.get("page_size", "50")), MAX_PAGE_SIZE)
        except ValueError:
            return _error(400, "page and page_size must be numbers")
        if page < 1 or size < 1:
            return _error(400, "page and page_size must be positive")
        status = {"open": "open", "closed": "closed,voided"}.get(args.get("status", ""), None)
        if args.get("status") and status is None:
            return _error(400, "status must be open or closed")
        params = {"since": args.get("start_date", "90d"), "category": args.get("service_code", ""),
                  "limit": str(size * page)}
        if args.get("end_date"):
            params["until"] = args["end_date"]
        if status:
            params["status"] = status
        f = filters.parse(params, ext()["taxonomy"])
        with ext()["engine"].connect() as conn:
            feats = q.features(conn, f, newest_first=True)[(page - 1) * size:]
            cases = [q.get(conn, feat["id"]) for feat in feats]
    for case in cases:
        case.update({k: _iso(case[k]) for k in ("reported_at", "due_at")})
    return jsonify([_request(c) for c in cases])


@bp.post("/requests.json")
@role_required("dispatcher")
def create_request():
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(data, dict):
        return _error(400, "send the request as a form or a JSON object")
    for name in ("service_code", "lat", "long"):
        if not data.get(name) and data.get(name) != 0:
            return _error(400, f"{name} is required")
    try:
        lon, lat = float(data["long"]), float(data["lat"])
    except (TypeError, ValueError):
        return _error(400, "lat and long must be numbers")
    body = {"category": data["service_code"], "lon": lon, "lat": lat,
            "description": data.get("description"), "source": "open311"}
    taxonomy = ext()["taxonomy"]
    with ext()["engine"].begin() as conn:
        new = intake.validate(body, taxonomy, jurisdiction(conn))
        deadline = workflow.deadline_hours(taxonomy, new.values["category"], new.values["priority"])
        row = q.insert(conn, new.values, new.wkb, deadline, g.user["name"], "Open311")
    return jsonify([{"service_request_id": str(row["id"]), "service_notice": None,
                     "account_id": None}]), 201
