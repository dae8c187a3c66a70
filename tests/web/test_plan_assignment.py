"""Assignment CSV (unit_id, grid_code): export, import as a versioned edit, lossless round trip,
bad rows named in a 422."""
from __future__ import annotations

import io

from tests.web.test_plans import EAST, WEST, draft, planner  # noqa: F401  (fixture)


def csv_of(c, plan_id: int) -> str:
    r = c.get(f"/api/plans/{plan_id}/assignment.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    return r.get_data(as_text=True)


def upload(c, plan_id: int, version: int, text: str, multipart: bool = False):
    if multipart:
        return c.post(f"/api/plans/{plan_id}/assignment", headers={"X-CSRF-Token": c.csrf},
                      data={"version": str(version), "file": (io.BytesIO(text.encode()), "a.csv")},
                      content_type="multipart/form-data")
    return c.post(f"/api/plans/{plan_id}/assignment?version={version}", data=text.encode(),
                  headers={"X-CSRF-Token": c.csrf, "Content-Type": "text/csv"})


def test_assignment_round_trip_is_lossless(planner):  # noqa: F811
    original = csv_of(planner, 1)
    assert original == f"unit_id,grid_code\n1,{WEST}\n2,{WEST}\n3,{EAST}\n"
    d = draft(planner)["id"]
    moved = original.replace(f"2,{WEST}", f"2,{EAST}")
    r = upload(planner, d, 0, moved, multipart=True)
    assert r.status_code == 200, r.get_json()
    assert {m["code"]: m["households"] for m in r.get_json()["metrics"]} == {WEST: 120, EAST: 330}
    assert csv_of(planner, d) == moved
    check = planner.get(f"/api/plans/{d}/check").get_json()["summary"]
    assert check["problems"]["gap"] == 0 and check["problems"]["overlap"] == 0
    r = upload(planner, d, 1, original)
    assert r.status_code == 200, r.get_json()
    assert csv_of(planner, d) == original
    assert upload(planner, d, 1, original).status_code == 409  # stale version


def test_bad_rows_are_named(planner):  # noqa: F811
    d = draft(planner)["id"]
    cases = [("unit_id,grid_code\n1,A\nabc,B\n", 3, "unit_id"),
             ("unit_id,grid_code\n1,A\n2,A\n1,B\n", 4, "unit_id"),
             (f"unit_id,grid_code\n1,{WEST}\n2,{WEST}\n3,{EAST}\n999,{EAST}\n", 5, "unit_id"),
             ("unit,grid\n1,A\n", 1, "header"),
             ("unit_id,grid_code\n1,A\n2,A,extra\n", 3, "row")]
    for text, row, field in cases:
        r = upload(planner, d, 0, text)
        body = r.get_json()
        assert r.status_code == 422 and body["row"] == row and body["field"] == field, (text, body)
        assert f"row {row}" in body["message"]
    r = upload(planner, d, 0, f"unit_id,grid_code\n1,{WEST}\n3,{EAST}\n")
    assert r.status_code == 422 and r.get_json()["field"] == "unit_id" and "2" in r.get_json()["message"]
    assert csv_of(planner, d) == csv_of(planner, 1)  # nothing was applied
