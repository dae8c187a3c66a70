"""GET /api/kpi: closed-loop indicators per grid, community or street (JSON or CSV)."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request

from mapapp.errors import ParamError
from mapapp.incidents import kpi
from mapapp.incidents import queries as q
from mapapp.web.api.common import incident_filter
from mapapp.web.auth import login_required
from mapapp.web.setup import ext

bp = Blueprint("api_kpi", __name__)


def compute() -> tuple[str, list[dict], dict, object]:
    level = request.args.get("level", "grid")
    if level not in q.KPI_LEVELS:
        raise ParamError(f"level must be one of {', '.join(q.KPI_LEVELS)}", field="level")
    f = incident_filter(allowed={"since", "until", "category"})
    with ext()["engine"].connect() as conn:
        rows = q.kpi_rows(conn, f, level, ext()["settings"].timezone)
    return level, [kpi.indicators(r) for r in rows], kpi.totals(rows), f


@bp.get("/api/kpi")
@login_required
def kpi_view():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ParamError("format must be json or csv", field="format")
    level, areas, total, f = compute()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=kpi.FIELDS)
        w.writeheader()
        w.writerows(areas)
        return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=kpi_{level}.csv"})
    return jsonify({"level": level, "since": f.since.isoformat() if f.since else None,
                    "until": f.until.isoformat() if f.until else None,
                    "timezone": ext()["settings"].timezone, "areas": areas, "total": total})
