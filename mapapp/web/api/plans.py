"""Grid plans: the coverage check and the workload metrics of a plan."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mapapp.errors import NotFound, ParamError
from mapapp.grids import plan_check, plan_metrics
from mapapp.grids import queries as gq
from mapapp.grids.coverage import CheckOptions
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_plans", __name__)


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
        if gq.plan(conn, plan_id) is None:
            raise NotFound(f"no grid plan {plan_id}", field="plan")
        result = plan_check.run(conn, plan_id, opts)
    resp = jsonify(result)
    resp.mimetype = "application/geo+json"
    return resp


@bp.get("/api/plans/<int:plan_id>/metrics")
@login_required
def plan_metrics_view(plan_id: int):
    try:
        bands = plan_metrics.parse_bands(request.args.get("band"))
    except ValueError as exc:
        raise ParamError(str(exc), field="band") from None
    with ext()["engine"].connect() as conn:
        if gq.plan(conn, plan_id) is None:
            raise NotFound(f"no grid plan {plan_id}", field="plan")
        return jsonify(plan_metrics.run(conn, plan_id, bands))
