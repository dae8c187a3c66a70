"""How a tile request is answered from the incident tallies (migration 0006) plus raw rows.

The tallies count incidents per zoom-18 Web Mercator cell, UTC day or month, top-level category
and status. A time range is split into whole months (month tally), whole days outside them (day
tally) and the partial days at its ends (raw rows), so the sum is exact. Pure: no SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from mapapp.incidents.filters import IncidentFilter

LEVEL = 18  # tally cells are zoom-18 tiles


@dataclass(frozen=True)
class Period:
    """[start, end) pieces of a time range; None is unbounded."""
    months: tuple[date | None, date | None] | None = None
    days: tuple[tuple[date | None, date | None], ...] = ()
    raw: tuple[tuple[datetime | None, datetime | None], ...] = ()
    undated: bool = False  # incidents without a time belong to an unbounded range only


def usable(f: IncidentFilter) -> bool:
    """Whether the tallies can answer this filter (they hold no grid, community, due date or
    sub-category; those go to the raw rows)."""
    return (f.bbox is None and f.grid is None and f.community is None and not f.overdue
            and (not f.categories or f.groups is not None))


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=timezone.utc)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def split(since: datetime | None, until: datetime | None) -> Period:
    """Split [since, until) into whole months, whole days and partial-day raw spans (UTC)."""
    since = since.astimezone(timezone.utc) if since else None
    until = until.astimezone(timezone.utc) if until else None
    d0 = None if since is None else (since.date() if since == _midnight(since.date())
                                      else since.date() + timedelta(days=1))
    d1 = None if until is None else until.date()
    if d0 is not None and d1 is not None and d0 >= d1:
        return Period(raw=((since, until),))
    raw = []
    if since is not None and since < _midnight(d0):
        raw.append((since, _midnight(d0)))
    if until is not None and _midnight(d1) < until:
        raw.append((_midnight(d1), until))
    m0 = None if d0 is None else (d0 if d0.day == 1 else _next_month(d0))
    m1 = None if d1 is None else _month_start(d1)
    if m0 is not None and m1 is not None and m0 >= m1:
        return Period(days=((d0, d1),), raw=tuple(raw))
    days = []
    if d0 is not None and d0 < m0:
        days.append((d0, m0))
    if d1 is not None and m1 < d1:
        days.append((m1, d1))
    return Period(months=(m0, m1), days=tuple(days), raw=tuple(raw),
                  undated=since is None and until is None)


def cell_range(z: int, x: int, y: int, level: int) -> tuple[int, int, int, int]:
    """The cells of `level` (>= z) inside tile z/x/y: [cx0, cx1) x [cy0, cy1)."""
    k = level - z
    return x << k, (x + 1) << k, y << k, (y + 1) << k
