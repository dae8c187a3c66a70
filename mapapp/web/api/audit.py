"""The audit trail for admins: GET /admin/audit (table) and /api/audit (JSON, or ?format=csv)."""
from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, jsonify, render_template, request

from mapapp.audit import queries as aq
from mapapp.errors import ParamError
from mapapp.web.auth import role_required
from mapapp.web.setup import ext

bp = Blueprint("audit", __name__)


def _entries() -> list[dict]:
    raw = request.args.get("limit", "500")
    if not raw.isdigit() or not 1 <= int(raw) <= aq.MAX_ROWS:
        raise ParamError(f"limit must be a number from 1 to {aq.MAX_ROWS}", field="limit")
    with ext()["engine"].connect() as conn:
        rows = aq.entries(conn, request.args.get("action") or None, request.args.get("actor") or None,
                          int(raw))
    return [{**r, "at": r["at"].isoformat()} for r in rows]


@bp.get("/api/audit")
@role_required("admin")
def audit_api():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ParamError("format must be json or csv", field="format")
    rows = _entries()
    if fmt == "json":
        return jsonify({"entries": rows})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=aq.FIELDS)
    w.writeheader()
    for r in rows:
        w.writerow({**r, "before": json.dumps(r["before"], ensure_ascii=False) if r["before"] is not None else "",
                    "after": json.dumps(r["after"], ensure_ascii=False) if r["after"] is not None else ""})
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})


@bp.get("/admin/audit")
@role_required("admin")
def audit_page():
    return render_template("audit.html", entries=_entries(), args=request.args.to_dict())
