"""Assignment CSV (unit_id, grid_code): parse and check the rows, naming each bad row; the
geometry is rebuilt from the units by mapapp.grids.auto.tile."""
from __future__ import annotations

import csv
import io

import numpy as np

from mapapp.errors import UserError

HEADER = ("unit_id", "grid_code")
MAX_CODE = 64


def bad_rows(problems: list[dict]) -> UserError:
    """A 422 listing every bad row; `row` names the first (the header is row 1)."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return UserError(f"row {first['row']}, {first['field']}: {first['message']}{more}", row=first["row"],
                     field=first["field"], code="bad_rows", status=422, extra={"rows": problems[:100]})


def parse(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit ids, grid codes, row numbers) of an assignment CSV; an empty grid_code means the
    unit is in no grid. Raises a 422 naming every bad row."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != list(HEADER):
        raise UserError("row 1, header: the first line must be unit_id,grid_code", row=1, field="header",
                        code="bad_rows", status=422)
    ids, codes, rownums, problems, seen = [], [], [], [], {}
    for n, rec in enumerate(reader, start=2):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != 2:
            problems.append({"row": n, "field": "row", "message": f"{len(rec)} values, expected 2"})
            continue
        raw, code = rec[0].strip(), rec[1].strip()
        try:
            uid = int(raw)
        except ValueError:
            problems.append({"row": n, "field": "unit_id", "message": f"{raw!r} is not a whole number"})
            continue
        if uid in seen:
            problems.append({"row": n, "field": "unit_id", "message": f"unit {uid} is already on row {seen[uid]}"})
            continue
        if len(code) > MAX_CODE:
            problems.append({"row": n, "field": "grid_code", "message": f"longer than {MAX_CODE} characters"})
            continue
        seen[uid] = n
        ids.append(uid)
        codes.append(code)
        rownums.append(n)
    if problems:
        raise bad_rows(problems)
    return np.array(ids, dtype=int), np.array(codes, dtype=object), np.array(rownums, dtype=int)


def check_against(ids: np.ndarray, codes: np.ndarray, rows: np.ndarray, scope_ids: np.ndarray,
                  scope_comm: np.ndarray) -> None:
    """Every unit of the plan's communities assigned once, to a grid inside one community."""
    problems = []
    known = np.isin(ids, scope_ids)
    pos = np.searchsorted(scope_ids, ids[known])
    comm = np.full(len(ids), -1)
    comm[known] = scope_comm[pos]
    for i in np.flatnonzero(~known & (codes != "")):
        problems.append({"row": int(rows[i]), "field": "unit_id",
                         "message": f"unit {ids[i]} lies in none of the plan's communities"})
    for i in np.flatnonzero(known & (codes == "")):
        problems.append({"row": int(rows[i]), "field": "grid_code",
                         "message": f"unit {ids[i]} lies in a community of the plan: name its grid"})
    sel = np.flatnonzero(known & (codes != ""))
    if len(sel):
        _, inv = np.unique(codes[sel].astype(str), return_inverse=True)
        first = np.full(inv.max() + 1, -1)
        first[inv[::-1]] = comm[sel][::-1]  # the community of each code's first row
        for i in sel[comm[sel] != first[inv]]:
            problems.append({"row": int(rows[i]), "field": "grid_code",
                             "message": f"grid {codes[i]} would span two communities"})
    if problems:
        raise bad_rows(sorted(problems, key=lambda p: p["row"]))
    missing = np.setdiff1d(scope_ids, ids)
    if len(missing):
        shown = ", ".join(map(str, missing[:10]))
        raise UserError(f"{len(missing)} base unit(s) of the plan's communities are not in the file: {shown}",
                        field="unit_id", code="bad_rows", status=422)
