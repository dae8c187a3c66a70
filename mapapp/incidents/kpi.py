"""The monthly closed-loop indicators, as rates over the counts that kpi_rows returns. Pure.

- closure rate (结案率) = closed / cases (voided cases are not cases);
- on-time closure rate (按期结案率) = closed by the deadline / closed cases that had one
  (a case gets its deadline at dispatch; closed cases never dispatched are left out of it);
- median hours to close, from report to close;
- overdue now: open cases past their deadline;
- 月清 (cleared within the month): closed in the calendar month they were reported in, over cases.
"""
from __future__ import annotations

FIELDS = ("code", "name", "cases", "closed", "closure_rate", "closed_on_time", "on_time_rate",
          "median_hours_to_close", "overdue_now", "month_cleared", "month_cleared_rate")


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def indicators(row: dict) -> dict:
    return {
        "code": row["code"], "name": row["name"], "cases": row["cases"], "closed": row["closed"],
        "closure_rate": _rate(row["closed"], row["cases"]),
        "closed_on_time": row["closed_on_time"],
        "on_time_rate": _rate(row["closed_on_time"], row["closed_with_deadline"]),
        "median_hours_to_close": None if row["median_hours"] is None else round(float(row["median_hours"]), 2),
        "overdue_now": row["overdue_now"],
        "month_cleared": row["month_cleared"],
        "month_cleared_rate": _rate(row["month_cleared"], row["cases"]),
    }


def totals(rows: list[dict]) -> dict:
    """The whole territory: sums of the counts (the median cannot be summed, so it is left out)."""
    keys = ("cases", "closed", "closed_on_time", "closed_with_deadline", "overdue_now", "month_cleared")
    s = {k: sum(r[k] for r in rows) for k in keys}
    out = indicators({**s, "code": None, "name": None, "median_hours": None})
    return out
