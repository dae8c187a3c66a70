"""Grid plans: coverage check, workload metrics, drafts, versioned edits with undo/redo,
the publish gate, publication history and rollback, comparison of two plans."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from mapapp.errors import NotFound, ParamError, UserError
from mapapp.grids import auto_plan, plan_check, plan_export, plan_metrics, plans
from mapapp.grids import queries as gq
from mapapp.grids.coverage import CheckOptions
from mapapp.web.api.common import geojson_response
from mapapp.web.auth import current_user, login_required, role_required
from mapapp.web.setup import ext

bp = Blueprint("api_plans", __name__)


def _require_plan(conn, plan_id: int, field: str = "plan") -> None:
    """404 naming the parameter when there is no such plan."""
    if gq.plan(conn, plan_id) is None:
        raise NotFound(f"no grid plan {plan_id}", field=field)


def _float_arg(name: str, default: float, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} must be a number", field=name) from None
    if not low <= value <= high:
        raise ParamError(f"{name} must be between {low:g} and {high:g}", field=name)
    return value


def check_options() -> CheckOptions:
    return CheckOptions(sliver_m2=_float_arg("sliver_m2", 200.0, 0.0, 1e7),
                        tolerance_m2=_float_arg("tolerance_m2", 1.0, 0.0, 1e4),
                        edges=request.args.get("edges", "0") in ("1", "true", "yes"),
                        gap_width=1e-5)  # degrees, about a metre


@bp.get("/api/plans/<int:plan_id>/check")
@login_required
def check_plan(plan_id: int):
    opts = check_options()
    with ext()["engine"].connect() as conn:
        _require_plan(conn, plan_id)
        result = plan_check.run(conn, plan_id, opts)
    return geojson_response(result)


@bp.get("/api/plans/<int:plan_id>/metrics")
@login_required
def plan_metrics_view(plan_id: int):
    try:
        bands = plan_metrics.parse_bands(request.args.get("band"))
    except ValueError as exc:
        raise ParamError(str(exc), field="band") from None
    with ext()["engine"].connect() as conn:
        _require_plan(conn, plan_id)
        return jsonify(plan_metrics.run(conn, plan_id, bands))


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UserError("send a JSON object", field="body")
    return body


def _bands():
    try:
        return plan_metrics.parse_bands(request.args.get("band"))
    except ValueError as exc:
        raise ParamError(str(exc), field="band") from None


def _plan_json(conn, plan_id: int) -> dict:
    plan = gq.plan(conn, plan_id)
    if plan is None:
        raise NotFound(f"no grid plan {plan_id}", field="plan")
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in plan.items()} | \
        gq.edit_counts(conn, plan_id)


@bp.get("/api/plans/<int:plan_id>")
@login_required
def plan_view(plan_id: int):
    with ext()["engine"].connect() as conn:
        return jsonify(_plan_json(conn, plan_id))


@bp.post("/api/plans/drafts")
@role_required("planner")
def new_draft():
    name = str(_body().get("name") or "").strip()
    if not name or len(name) > 200:
        raise UserError("name (1-200 characters) is required", field="name")
    with ext()["engine"].begin() as conn:
        if gq.plan_name_taken(conn, name):
            raise UserError(f"a plan named {name!r} exists", field="name", code="conflict", status=409)
        plan_id = gq.create_draft(conn, name)
        if plan_id is None:
            raise UserError("there is no published plan to copy", field="plan", code="not_found", status=404)
        out = _plan_json(conn, plan_id)
    return jsonify(out), 201


@bp.post("/api/plans/<int:plan_id>/edits")
@role_required("planner")
def edit_plan(plan_id: int):
    body = _body()
    with ext()["engine"].begin() as conn:
        out = plans.edit(conn, plan_id, body.get("version"), str(body.get("action") or ""),
                         body, current_user()["name"])
    return jsonify(out)


@bp.post("/api/plans/<int:plan_id>/undo")
@role_required("planner")
def undo(plan_id: int):
    with ext()["engine"].begin() as conn:
        return jsonify(plans.step(conn, plan_id, _body().get("version"), redo=False))


@bp.post("/api/plans/<int:plan_id>/redo")
@role_required("planner")
def redo(plan_id: int):
    with ext()["engine"].begin() as conn:
        return jsonify(plans.step(conn, plan_id, _body().get("version"), redo=True))


@bp.post("/api/plans/<int:plan_id>/publish")
@role_required("planner")
def publish(plan_id: int):
    body = _body()
    bands = _bands()
    with ext()["engine"].begin() as conn:
        plan = _plan_json(conn, plan_id)
        if plan["status"] == "published":
            raise UserError(f"plan {plan_id} is already published", field="plan", code="conflict", status=409)
        if plan["status"] == "draft" and body.get("version") != plan["version"]:
            raise plans.StaleVersion(f"plan {plan_id} is at version {plan['version']}", field="version",
                                     extra={"current_version": plan["version"]})
        failures = plans.gate(conn, plan_id, bands)
        if failures:
            return jsonify({"error": "publish_gate", "field": "plan", "failures": failures,
                            "message": f"{len(failures)} check(s) fail; fix them or waive a band "
                                       "with a reason"}), 422
        replaced = gq.publish(conn, plan_id, current_user()["name"], body.get("note"))
    return jsonify({"plan": plan_id, "status": "published", "replaced": replaced})


@bp.get("/api/plans/publications")
@login_required
def publication_history():
    with ext()["engine"].connect() as conn:
        rows = gq.publications(conn)
    return jsonify([{**r, "at": r["at"].isoformat()} for r in rows])


@bp.get("/api/plans/compare")
@login_required
def compare():
    ids = []
    for name in ("a", "b"):
        try:
            ids.append(int(request.args.get(name, "")))
        except ValueError:
            raise ParamError(f"{name} must be a plan id", field=name) from None
    with ext()["engine"].connect() as conn:
        for name, pid in zip(("a", "b"), ids):
            _require_plan(conn, pid, field=name)
        out = gq.compare(conn, *ids)
    share = out["changed"] / out["households"] if out["households"] else 0.0
    return jsonify({"a": ids[0], "b": ids[1], **out, "share_changed": round(share, 6)})


@bp.get("/api/plans/<int:plan_id>/units")
@login_required
def plan_units(plan_id: int):
    with ext()["engine"].connect() as conn:
        _require_plan(conn, plan_id)
        feats = gq.plan_units_geojson(conn, plan_id)
    return geojson_response({"type": "FeatureCollection", "features": feats})


@bp.get("/api/plans/<int:plan_id>/streets")
@login_required
def plan_streets(plan_id: int):
    """Streets near a plan as one feature: the planner map draws it and snaps vertices to it."""
    with ext()["engine"].connect() as conn:
        _require_plan(conn, plan_id)
        lines = gq.plan_streets(conn, plan_id)
    feats = [{"type": "Feature", "geometry": json.loads(lines), "properties": {}}] if lines else []
    return geojson_response({"type": "FeatureCollection", "features": feats})


@bp.post("/api/plans/<int:plan_id>/auto")
@role_required("planner")
def auto(plan_id: int):
    """A new draft redistricted from base units: {name, band: [low, high], time_limit,
    keep_locked, minimise_disruption, follow_streets, respect_communities}."""
    body = _body()
    name = str(body.get("name") or "").strip()
    if not name or len(name) > 200:
        raise UserError("name (1-200 characters) is required", field="name")
    low, high, options = auto_plan.parse_options(body)
    with ext()["engine"].begin() as conn:
        _require_plan(conn, plan_id)
        if gq.plan_name_taken(conn, name):
            raise UserError(f"a plan named {name!r} exists", field="name", code="conflict", status=409)
        out = auto_plan.run(conn, plan_id, name, low, high, options)
    return jsonify(out), 201


@bp.get("/api/plans/<int:plan_id>/assignment.csv")
@login_required
def assignment_export(plan_id: int):
    """The plan as an assignment CSV: unit_id, grid_code."""
    with ext()["engine"].connect() as conn:
        _require_plan(conn, plan_id)
        text, _ = plan_export.assignment_csv(conn, plan_id)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=plan-{plan_id}-assignment.csv"})


@bp.post("/api/plans/<int:plan_id>/assignment")
@role_required("planner")
def assignment_import(plan_id: int):
    """Import an assignment CSV into a draft as one versioned edit: multipart field `file` (with
    form field `version`) or a text/csv body (with ?version=); a bad row is a 422 naming it."""
    upload = request.files.get("file")
    raw = upload.read() if upload else request.get_data()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("the file must be UTF-8 text", field="file") from None
    if not text.strip():
        raise UserError("send the CSV as multipart field file or as the request body", field="file")
    version = request.form.get("version", request.args.get("version", ""))
    try:
        version = int(version)
    except ValueError:
        raise UserError("version (the plan version you edited) is required", field="version") from None
    with ext()["engine"].begin() as conn:
        out = plans.edit(conn, plan_id, version, "assign", {"csv": text}, current_user()["name"])
    return jsonify(out)
