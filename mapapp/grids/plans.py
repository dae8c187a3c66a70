"""Versioned plan editing: every edit bumps the draft's version (a stale one is a 409), saves the
grids it touched before and after (undo/redo), and publishing passes a gate."""
from __future__ import annotations

import json

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from mapapp.errors import UserError
from mapapp.geo.crs import WGS84, project
from mapapp.grids import assignment, auto, edits, plan_check, plan_metrics
from mapapp.grids import queries as gq
from mapapp.grids.metrics import DEFAULT_BANDS, Band

GATE_KINDS = ("invalid", "gap", "overlap", "outside", "crosses_community", "detached_part",
              "unassigned_unit", "multiply_assigned_unit")


class StaleVersion(UserError):
    code = "stale_version"
    status = 409


class Locked(UserError):
    code = "grid_locked"
    status = 409


def _geom(row: dict):
    return shapely.from_geojson(row["geometry"])


def _gj(geom) -> str:
    return shapely.to_geojson(geom)


def _one(conn: Connection, plan_id: int, code: str) -> dict:
    rows = gq.snapshot(conn, plan_id, [code])
    if not rows:
        raise UserError(f"no grid {code!r} in plan {plan_id}", field="code", code="not_found", status=404)
    return rows[0]


def _unlocked(rows: list[dict]) -> None:
    locked = [r["code"] for r in rows if r["locked"]]
    if locked:
        raise Locked(f"grid(s) {', '.join(locked)} are locked; unlock them first", field="code")


def _changes(conn: Connection, plan_id: int, action: str, p: dict) -> tuple[list[dict], list[dict]]:
    """(before, after) grid rows of one edit; pure geometry in mapapp.grids.edits."""
    if action == "reshape":
        row = _one(conn, plan_id, p["code"])
        _unlocked([row])
        try:
            geom = shapely.from_geojson(json.dumps(p["geometry"]))
        except Exception:
            raise UserError("geometry is not GeoJSON", field="geometry") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
            raise UserError("geometry must be a valid Polygon or MultiPolygon", field="geometry")
        return [row], [{**row, "geometry": _gj(geom)}]
    if action == "split":
        row = _one(conn, plan_id, p["code"])
        _unlocked([row])
        new_code = str(p.get("new_code") or "").strip()
        if not new_code or gq.snapshot(conn, plan_id, [new_code]):
            raise UserError("new_code must name a grid code not yet in the plan", field="new_code")
        try:
            line = shapely.from_geojson(json.dumps(p["line"]))
        except Exception:
            raise UserError("line is not GeoJSON", field="line") from None
        try:
            keep, cut = edits.split(_geom(row), line)
        except edits.EditError as exc:
            raise UserError(str(exc), field=exc.field) from None
        return [row], [{**row, "geometry": _gj(keep)},
                       {**row, "code": new_code, "name": p.get("new_name") or new_code,
                        "locked": False, "waiver": None, "geometry": _gj(cut)}]
    if action == "paint":
        return _paint(conn, plan_id, p)
    if action == "rebalance":
        return _rebalance(conn, plan_id, p)
    if action == "assign":
        return _assign(conn, plan_id, p)
    if action == "move_vertex":
        return _move_vertex(conn, plan_id, p)
    if action == "merge":
        codes = list(p.get("codes") or [])
        if len(codes) < 2:
            raise UserError("codes must list at least two grids", field="codes")
        rows = [_one(conn, plan_id, c) for c in codes]
        _unlocked(rows)
        try:
            merged = edits.merge([_geom(r) for r in rows], [r["code"] for r in rows])
        except edits.EditError as exc:
            raise UserError(str(exc), field=exc.field) from None
        return rows, [{**rows[0], "waiver": None, "geometry": _gj(merged)}]
    if action == "rename":
        row = _one(conn, plan_id, p["code"])
        new_code = str(p.get("new_code") or row["code"]).strip()
        if new_code != row["code"] and gq.snapshot(conn, plan_id, [new_code]):
            raise UserError(f"grid code {new_code!r} is taken in this plan", field="new_code")
        return [row], [{**row, "code": new_code, "name": str(p.get("name") or row["name"])}]
    if action == "renumber":
        rows = gq.snapshot(conn, plan_id)
        comm = gq.community_codes(conn, sorted({r["community_id"] for r in rows if r["community_id"]}))
        after = [dict(r) for r in rows]
        for cid, ccode in comm.items():
            idx = [i for i, r in enumerate(rows) if r["community_id"] == cid]
            cents = shapely.get_coordinates(shapely.centroid(
                shapely.from_geojson(np.array([rows[i]["geometry"] for i in idx], dtype=object))))
            for i, code in zip(idx, edits.sequence_codes(ccode, cents)):
                after[i]["code"] = code
        return rows, after
    if action in ("lock", "unlock"):
        codes = p.get("codes")
        rows = gq.snapshot(conn, plan_id, None if codes in (None, "all") else list(codes))
        return rows, [{**r, "locked": action == "lock"} for r in rows]
    if action == "waive":
        row = _one(conn, plan_id, p["code"])
        reason = p.get("reason")
        if reason is not None and not str(reason).strip():
            raise UserError("a waiver needs a reason (or null to withdraw it)", field="reason")
        return [row], [{**row, "waiver": reason}]
    if action == "staffing":
        row = _one(conn, plan_id, p["code"])
        n = p.get("staffing")
        if not isinstance(n, int) or not 1 <= n <= 10:
            raise UserError("staffing must be a whole number of workers, 1-10", field="staffing")
        return [row], [{**row, "staffing": n}]
    raise UserError(f"unknown action {action!r}", field="action")


def _paint(conn: Connection, plan_id: int, p: dict) -> tuple[list[dict], list[dict]]:
    """Move base units (by id) from the grid they lie in into grid `code`."""
    target = _one(conn, plan_id, p["code"])
    ids = p.get("unit_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise UserError("unit_ids must be a list of base-unit ids", field="unit_ids")
    homes = gq.unit_home(conn, plan_id, ids)
    sources = {h["code"] for h in homes}
    if len(homes) != len(set(ids)) or None in sources:
        raise UserError("every unit must exist and lie in a grid of this plan", field="unit_ids")
    sources.discard(target["code"])
    if not sources:
        raise UserError("the units are already in that grid", field="unit_ids")
    rows = [_one(conn, plan_id, code) for code in sorted(sources)]
    _unlocked(rows + [target])
    units = gq.units_in_grids(conn, plan_id, sorted(sources))
    new_target, after = _geom(target), []
    for row in rows:  # a box selection can reach into several grids: each gives up its units
        mine = [u for u in units if u["code"] == row["code"]]
        pts = shapely.from_wkb(np.array([bytes(u["wkb"]) for u in mine], dtype=object))
        moved = np.isin(np.array([u["id"] for u in mine]), ids)
        try:
            new_source, new_target = edits.paint(_geom(row), new_target, pts, moved)
        except edits.EditError as exc:
            raise UserError(f"grid {row['code']}: {exc}", field=exc.field) from None
        after.append({**row, "geometry": _gj(new_source)})
    return rows + [target], after + [{**target, "geometry": _gj(new_target)}]


def _rebalance(conn: Connection, plan_id: int, p: dict) -> tuple[list[dict], list[dict]]:
    """One-click repair: re-split two neighbouring grids along their units into two balanced grids."""
    codes = list(p.get("codes") or [])
    if len(codes) != 2:
        raise UserError("codes must name two neighbouring grids", field="codes")
    rows = [_one(conn, plan_id, c) for c in codes]
    _unlocked(rows)
    try:
        area = edits.merge([_geom(r) for r in rows], [r["code"] for r in rows])
    except edits.EditError as exc:
        raise UserError(str(exc), field=exc.field) from None
    units = gq.units_in_grids(conn, plan_id, codes)
    pts = shapely.from_wkb(np.array([bytes(u["wkb"]) for u in units], dtype=object))
    crs = plan_check.metric_crs(np.array([area], dtype=object))  # cut in metres, not degrees
    try:
        res = auto.split_units(area, pts, np.array([u["households"] for u in units]), 2,
                               xy=shapely.get_coordinates(project(pts, WGS84, crs)))
    except auto.NoBalancedPlan as exc:
        raise UserError(str(exc), field="codes") from None
    geoms = res.geoms
    # the piece overlapping the first grid most keeps its code
    first = int(np.argmax(shapely.area(shapely.intersection(geoms, _geom(rows[0])))))
    return rows, [{**rows[0], "geometry": _gj(geoms[first])},
                  {**rows[1], "geometry": _gj(geoms[1 - first])}]


def _point(p: dict, key: str) -> tuple[float, float]:
    v = p[key]
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
            and -180 <= v[0] <= 180 and -90 <= v[1] <= 90):
        raise UserError(f"{key} must be [lon, lat]", field=key)
    return float(v[0]), float(v[1])


def _move_vertex(conn: Connection, plan_id: int, p: dict) -> tuple[list[dict], list[dict]]:
    """Move one boundary vertex (`from` -> `to`, [lon, lat]) in every grid that shares it."""
    old, new = _point(p, "from"), _point(p, "to")
    tol = 6e-7  # degrees (~6 cm): the map gets grids at 6 decimals, so its vertices are rounded
    rows = gq.grids_near(conn, plan_id, old[0], old[1], tol)
    if not rows:
        raise UserError("no grid has a vertex there", field="from")
    try:
        moved, geoms = edits.move_vertex(np.array([_geom(r) for r in rows], dtype=object), old, new, tol)
    except edits.EditError as exc:
        raise UserError(str(exc), field=exc.field) from None
    before = [r for r, m in zip(rows, moved) if m]
    _unlocked(before)
    return before, [{**r, "geometry": _gj(g)} for r, g, m in zip(rows, geoms, moved) if m]


def _assign(conn: Connection, plan_id: int, p: dict) -> tuple[list[dict], list[dict]]:
    """Import an assignment CSV (`csv`: unit_id,grid_code): grids whose units change are rebuilt
    from their units' Voronoi cells inside what the unchanged grids leave of each community."""
    if not isinstance(p.get("csv"), str):
        raise UserError("csv (the text of a unit_id,grid_code file) is required", field="csv")
    ids, codes, rownums = assignment.parse(p["csv"])
    comms, units = gq.plan_scope_rows(conn, plan_id)
    layers = plan_check.layers_from_rows([], comms, units)
    pts = shapely.point_on_surface(layers.unit_geoms)
    ui, ci = shapely.STRtree(layers.community_geoms).query(pts, predicate="intersects")
    unit_comm = np.full(len(pts), -1)
    unit_comm[ui[::-1]] = ci[::-1]
    assignment.check_against(ids, codes, rownums, layers.unit_ids, unit_comm)
    new_code = dict(zip(ids.tolist(), codes.tolist()))
    old_code = {r["unit_id"]: r["grid_code"] for r in gq.plan_assignment(conn, plan_id)}
    members_old: dict = {}
    members_new: dict = {}
    for uid in layers.unit_ids.tolist():
        members_old.setdefault(old_code.get(uid), set()).add(uid)
        members_new.setdefault(new_code[uid], set()).add(uid)
    rows = {r["code"]: r for r in gq.snapshot(conn, plan_id)}
    changed = {c for c in set(members_old) | set(members_new)
               if c is not None and members_old.get(c, set()) != members_new.get(c, set())}
    before = [rows[c] for c in sorted(changed) if c in rows]
    _unlocked(before)
    if not changed:
        return [], []
    kept = shapely.union_all(np.array([_geom(r) for c, r in rows.items() if c not in changed], dtype=object))
    after = []
    unit_index = {uid: i for i, uid in enumerate(layers.unit_ids.tolist())}
    for c, comm in enumerate(comms):
        mine = [unit_index[u] for code in sorted(changed) for u in members_new.get(code, ())
                if unit_comm[unit_index[u]] == c]
        if not mine:
            continue
        mine = np.array(sorted(mine))
        grid_codes, labels = np.unique(np.array([new_code[int(u)] for u in layers.unit_ids[mine]],
                                                dtype=object).astype(str), return_inverse=True)
        area = shapely.difference(layers.community_geoms[c], kept)
        try:
            geoms = auto.tile(area, pts[mine], labels, len(grid_codes))
        except auto.NoBalancedPlan as exc:
            raise UserError(str(exc), field="csv", status=422) from None
        defaults = {"locked": False, "staffing": 1, "waiver": None, "grid_head": None,
                    "police_officer": None, "assistant": None, "supervisor": None}
        after += [{**defaults, "name": code, **rows.get(code, {}), "code": code, "community_id": comm["id"],
                   "geometry": _gj(g)} for code, g in zip(grid_codes.tolist(), geoms)]
    return before, after


def _apply(conn: Connection, plan_id: int, before: list[dict], after: list[dict]) -> None:
    gq.replace_grids(conn, plan_id, [r["code"] for r in before] + [r["code"] for r in after], after)


def _take_version(conn: Connection, plan_id: int, version) -> int:
    if not isinstance(version, int):
        raise UserError("version (the plan version you edited) is required", field="version")
    new = gq.bump_version(conn, plan_id, version)
    if new is None:
        current = gq.plan(conn, plan_id)
        if current is None:
            raise UserError(f"no grid plan {plan_id}", field="plan", code="not_found", status=404)
        if current["status"] != "draft":
            raise UserError("only a draft can be edited; make a draft from the published plan",
                            field="plan", code="not_a_draft", status=409)
        raise StaleVersion(f"plan {plan_id} is at version {current['version']}, you saved over "
                           f"version {version}; reload and edit again", field="version",
                           extra={"current_version": current["version"]})
    return new


def edit(conn: Connection, plan_id: int, version, action: str, params: dict, actor: str | None) -> dict:
    """Apply one edit in the caller's transaction; returns the new version and changed codes."""
    new = _take_version(conn, plan_id, version)
    try:
        before, after = _changes(conn, plan_id, action, params)
    except KeyError as exc:
        raise UserError(f"{exc.args[0]} is required for {action}", field=str(exc.args[0])) from None
    _apply(conn, plan_id, before, after)
    gq.record_edit(conn, plan_id, action, actor, before, after)
    return _result(conn, plan_id, new, action, before, after)


def _result(conn: Connection, plan_id: int, version: int, action: str, before: list[dict],
            after: list[dict]) -> dict:
    """The new version, what changed, and the metrics of the grids the edit left behind."""
    now = sorted({r["code"] for r in after})
    geoms = [r["geometry"] for r in before + after]
    return {"plan": plan_id, "version": version, "action": action,
            "changed": sorted({r["code"] for r in before + after}), **gq.edit_counts(conn, plan_id),
            "metrics": plan_metrics.run(conn, plan_id, codes=now)["grids"] if now else [],
            "grids": _features(conn, after),
            "check": plan_check.run_local(conn, plan_id, geoms) if geoms else None}


def _features(conn: Connection, rows: list[dict]) -> list[dict]:
    """The grids an edit left behind as GeoJSON features (what the map redraws, and only them)."""
    comms = gq.community_codes(conn, sorted({r["community_id"] for r in rows if r.get("community_id")}))
    return [{"type": "Feature", "id": r["code"], "geometry": json.loads(r["geometry"]),
             "properties": {"code": r["code"], "name": r.get("name"),
                            "community": comms.get(r.get("community_id"))}} for r in rows]


def step(conn: Connection, plan_id: int, version, redo: bool) -> dict:
    """Undo the last edit or redo the last undone one; each is itself a new version."""
    new = _take_version(conn, plan_id, version)
    e = gq.step_edit(conn, plan_id, redo)
    if e is None:
        raise UserError(f"nothing to {'redo' if redo else 'undo'}", field="version",
                        code="nothing_to_" + ("redo" if redo else "undo"), status=409)
    old, new_rows = (e["before"], e["after"]) if redo else (e["after"], e["before"])
    _apply(conn, plan_id, old, new_rows)
    return _result(conn, plan_id, new, ("redo " if redo else "undo ") + e["action"], old, new_rows)


def gate(conn: Connection, plan_id: int, bands: tuple[Band, ...] = DEFAULT_BANDS) -> list[dict]:
    """What stops a plan from being published: coverage problems and unwaived band violations."""
    checked = plan_check.run(conn, plan_id)
    fails = [{"check": f["properties"]["kind"], "grid": f["properties"]["grid"],
              "community": f["properties"]["community"], "area_m2": f["properties"]["area_m2"]}
             for f in checked["features"] if f["properties"]["kind"] in GATE_KINDS]
    if checked["summary"]["grids"] == 0:
        fails.append({"check": "empty", "grid": None, "message": "the plan has no grids"})
    for g in plan_metrics.run(conn, plan_id, bands)["grids"]:
        if not g["in_band"] and not g["waiver"]:
            bad = {k: v for k, v in g["flags"].items() if v != "ok"}
            fails.append({"check": "band", "grid": g["code"], "flags": bad,
                          "values": {k: g[k] for k in bad}})
    return fails
