"""Incidents: the paged GeoJSON list, intake, one case with its history, workflow transitions."""
from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

from flask import Blueprint, g, jsonify, request, url_for

from mapapp.errors import NotFound, ParamError, UserError
from mapapp.incidents import filters, intake, workflow
from mapapp.incidents import queries as q
from mapapp.io.queries import jurisdiction
from mapapp.io.store import ImportRejected, import_file
from mapapp.web.api.common import can_see_names, incident_filter, shielded
from mapapp.web.auth import continues_auth_transaction, login_required, role_required
from mapapp.web.setup import ext, request_connection

bp = Blueprint("api_incidents", __name__)
DUPLICATE_METRES = 50.0
DUPLICATE_HOURS = 72.0


@bp.get("/api/incidents")
@login_required
def list_incidents():
    f = incident_filter()
    with ext()["engine"].connect() as conn:
        matched = q.count(conn, f)
        feats = _shield(q.features(conn, f))
    body = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(feats),
            "limit": f.limit, "features": feats, "links": []}
    if len(feats) == f.limit:
        args = request.args.to_dict()
        args["cursor"] = filters.encode_cursor(feats[-1]["id"])
        href = url_for("api_incidents.list_incidents", _external=True, **args)
        body["next"] = href
        body["links"].append({"rel": "next", "type": "application/geo+json", "href": href})
    resp = jsonify(body)
    resp.mimetype = "application/geo+json"
    return resp


def _shield(feats: list[dict]) -> list[dict]:
    for feat in feats:
        feat["properties"]["description"] = shielded(feat["properties"]["description"])
    return feats


@bp.get("/api/incidents/latest")
@login_required
def latest_incidents():
    """The newest incidents under the filter (default 20): the list beside the live map."""
    f = incident_filter(allowed={"bbox", "since", "until", "category", "status", "grid", "community",
                                 "overdue", "limit"})
    if not request.args.get("limit"):
        f = replace(f, limit=20)
    with ext()["engine"].connect() as conn:
        feats = _shield(q.features(conn, f, newest_first=True))
    resp = jsonify({"type": "FeatureCollection", "features": feats})
    resp.mimetype = "application/geo+json"
    return resp


@bp.get("/api/incidents/changes")
@login_required
def changes():
    """What was committed since cursor `after` (new incidents, status changes): the map polls this.
    Without `after` it only hands out a cursor; `last` is the cursor for the next call."""
    raw = request.args.get("after", "")
    with ext()["engine"].connect() as conn:
        if raw == "":
            return jsonify({"last": q.changes_cursor(conn), "changed": [], "more": False, "reset": False})
        last, changed, more, reset = q.changed_since(conn, _cursor(raw))
    return jsonify({"last": last, "changed": changed, "more": more, "reset": reset})


SNAPSHOT = re.compile(r"(\d{1,19}):(\d{1,19}):((?:\d{1,19},)*\d{1,19})?")


def _cursor(raw: str) -> str | int:
    """A changes cursor as handed out (a snapshot, xmin:xmax:running ids), or an older page's event number."""
    if raw.isdigit() and len(raw) <= 19:
        return int(raw)
    m = SNAPSHOT.fullmatch(raw)
    if m:
        xmin, xmax = int(m[1]), int(m[2])
        running = [int(v) for v in m[3].split(",")] if m[3] else []
        if xmin <= xmax and all(xmin <= v < xmax for v in running) and running == sorted(running):
            return raw
    raise ParamError("after must be the value of 'last' returned by this endpoint", field="after")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        raise ParamError("the body must be JSON (Content-Type: application/json)", field="body")
    return body


def _number(name: str, default: float) -> float:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} must be a number", field=name) from None
    if value <= 0:
        raise ParamError(f"{name} must be positive", field=name)
    return value


@bp.post("/api/incidents")
@role_required("dispatcher")
@continues_auth_transaction
def create_incident():
    """Intake: validate, assign grid and community in the same transaction, suggest duplicates."""
    body = _json_body()
    metres = _number("duplicate_metres", DUPLICATE_METRES)
    hours = _number("duplicate_hours", DUPLICATE_HOURS)
    taxonomy = ext()["taxonomy"]

    def store(conn, new: intake.NewIncident, only_inside: bool = False) -> dict | None:
        deadline = workflow.deadline_hours(taxonomy, new.values["category"], new.values["priority"])
        row = q.insert(conn, new.values, new.wkb, deadline, g.user["name"], only_inside=only_inside,
                       duplicates=(metres, hours))
        return None if row is None else {**row, "deadline_hours": deadline, "notes": list(new.notes)}

    conn = request_connection()  # the one authentication used, for a token still in its transaction
    with conn.get_transaction() or conn.begin():
        try:  # every rule but "inside the jurisdiction", which the insert checks itself
            row = store(conn, intake.validate(body, taxonomy, None), only_inside=True)
        except ParamError:
            row = None
        if row is None:  # a problem: the importer's full verdict, which needs the jurisdiction
            row = store(conn, intake.validate(body, taxonomy, jurisdiction(conn)))
    resp = jsonify({"id": row["id"], "grid": row["grid"], "community": row["community"],
                    "assign_flag": row["assign_flag"], "status": "reported",
                    "reported_at": row["reported_at"].isoformat(), "deadline_hours": row["deadline_hours"],
                    "deadline_starts": "at dispatch", "notes": row["notes"],
                    "possible_duplicates": row["possible_duplicates"]})
    resp.status_code = 201
    resp.headers["Location"] = url_for("api_incidents.get_incident", incident_id=row["id"])
    return resp


BULK_SUFFIXES = (".csv", ".geojson", ".json", ".gpkg", ".zip")


@bp.post("/api/incidents/import")
@role_required("dispatcher")
def import_incidents():
    """Bulk intake: a CSV (lon/lat columns), GeoJSON, GeoPackage or zipped Shapefile through the
    importer's validation, all or nothing; a bad row is a 422 naming every rejected row."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ParamError("send the file as multipart form field 'file'", field="file")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in BULK_SUFFIXES:
        raise ParamError(f"file must end in one of {', '.join(BULK_SUFFIXES)}, got {suffix or 'nothing'!r}",
                         field="file")
    datum = request.form.get("datum", "wgs84")
    crs = request.form.get("crs") or None
    with tempfile.TemporaryDirectory() as tmp, ext()["engine"].begin() as conn:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        try:
            report = import_file(conn, "incidents", path, crs=crs, datum=datum,
                                 report_note=f"bulk intake: {upload.filename}")
        except ImportRejected as exc:
            rejects = [{"row": r.row, "field": r.field, "reason": r.reason} for r in exc.report.rejects[:200]]
            raise UserError(f"nothing was imported: {exc.report.rejected} of {exc.report.read} rows rejected",
                            row=exc.row, status=422, code="rows_rejected",
                            extra={"rejected": exc.report.rejected, "read": exc.report.read,
                                   "rejects": rejects}) from exc
        except ValueError as exc:
            raise UserError(str(exc), field="file") from exc
    resp = jsonify({"read": report.read, "loaded": report.loaded, "notes": report.notes})
    resp.status_code = 201
    return resp


def _case(conn, incident_id: int) -> dict:
    case = q.get(conn, incident_id)
    if case is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    for k in ("reported_at", "dispatched_at", "due_at", "closed_at"):
        case[k] = case[k].isoformat() if case[k] else None
    case["allowed_actions"] = workflow.allowed(case["status"])
    case["history"] = q.history(conn, incident_id)
    case["description"] = shielded(case["description"])
    for step in case["history"]:  # who handled a case is staff business; notes may hold numbers
        step["note"] = shielded(step["note"])
        step["actor"] = step["actor"] if can_see_names() else None
    return case


@bp.get("/api/incidents/<int:incident_id>")
@login_required
def get_incident(incident_id: int):
    with ext()["engine"].connect() as conn:
        return jsonify(_case(conn, incident_id))


@bp.post("/api/incidents/<int:incident_id>/transitions")
@role_required("dispatcher", "patrol_lead")
def transition(incident_id: int):
    body = _json_body()
    action, note = body.get("action"), body.get("note")
    if not isinstance(action, str) or not action:
        raise ParamError("action is required", field="action")
    if note is not None and not isinstance(note, str):
        raise ParamError("note must be text", field="note")
    with ext()["engine"].begin() as conn:
        case = q.get(conn, incident_id, for_update=True)
        if case is None:
            raise NotFound(f"no incident {incident_id}", field="id")
        try:
            target = workflow.next_state(case["status"], action, g.user["role"])
        except workflow.TransitionError as exc:
            raise UserError(str(exc), field="action", status=exc.status, extra={"current": case["status"]},
                            code={409: "illegal_transition", 403: "forbidden"}.get(exc.status, "bad_parameter")) from exc
        hours = workflow.deadline_hours(ext()["taxonomy"], case["category"], case["priority"]) \
            if case["category"] in ext()["taxonomy"] else (case["deadline_hours"] or 24.0)
        q.apply_transition(conn, incident_id, action, case["status"], target, g.user["name"], note, hours)
        body = _case(conn, incident_id)
    return jsonify(body)
