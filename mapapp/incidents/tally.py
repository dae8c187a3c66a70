"""How a tile request is answered from the incident tallies (migration 0006) plus raw rows.

The tallies count incidents per zoom-18 Web Mercator cell, UTC day or month, top-level category
and status. A time range is split into whole months (month tally), whole days outside them (day
tally) and the partial days at its ends (raw rows, added, or taken away from a whole day when
that is the shorter read), so the sum is exact. Pure: no SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from mapapp.incidents.filters import IncidentFilter

LEVEL = 18  # tally cells are zoom-18 tiles


@dataclass(frozen=True)
class Period:
    """[start, end) pieces of a time range; None is unbounded. The range is months + days + raw - minus."""
    months: tuple[date | None, date | None] | None = None
    days: tuple[tuple[date | None, date | None], ...] = ()
    raw: tuple[tuple[datetime | None, datetime | None], ...] = ()
    undated: bool = False  # incidents without a time belong to an unbounded range only
    minus: tuple[tuple[datetime, datetime], ...] = ()  # raw spans to take away from whole days


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


HALF_DAY = timedelta(hours=12)


def split(since: datetime | None, until: datetime | None) -> Period:
    """Split [since, until) into whole months, whole days and partial-day raw spans (UTC). A partial
    day of more than half a day is taken whole from the day tally, less the raw rows of the rest of
    that day (`minus`), so neither end reads more than half a day of raw rows. Adding the partial day
    from raw rows only, the map's default (the last 30 days) read almost a whole day of them just
    after midnight: its tiles took three times as long at 00:05 as at 22:00 (1M incidents)."""
    since = since.astimezone(timezone.utc) if since else None
    until = until.astimezone(timezone.utc) if until else None
    if since is not None and until is not None and until - since <= HALF_DAY:
        return Period(raw=((since, until),))  # no more raw rows than an end of a longer range
    raw: list[tuple[datetime, datetime]] = []
    minus: list[tuple[datetime, datetime]] = []
    d0 = d1 = None
    if since is not None:
        d0, start = since.date(), _midnight(since.date())
        if start < since < start + HALF_DAY:
            minus.append((start, since))
        elif since > start:
            d0 += timedelta(days=1)
            raw.append((since, _midnight(d0)))
    if until is not None:
        d1, start = until.date(), _midnight(until.date())
        if until > start + HALF_DAY:
            d1 += timedelta(days=1)
            minus.append((until, _midnight(d1)))
        elif until > start:
            raw.append((start, until))
    if d0 is not None and d1 is not None and d0 >= d1:
        return Period(raw=((since, until),))
    m0 = None if d0 is None else (d0 if d0.day == 1 else _next_month(d0))
    m1 = None if d1 is None else _month_start(d1)
    if m0 is not None and m1 is not None and m0 >= m1:
        return Period(days=((d0, d1),), raw=tuple(raw), minus=tuple(minus))
    days = []
    if d0 is not None and d0 < m0:
        days.append((d0, m0))
    if d1 is not None and m1 < d1:
        days.append((m1, d1))
    return Period(months=(m0, m1), days=tuple(days), raw=tuple(raw), minus=tuple(minus),
                  undated=since is None and until is None)


def cell_range(z: int, x: int, y: int, level: int) -> tuple[int, int, int, int]:
    """The cells of `level` (>= z) inside tile z/x/y: [cx0, cx1) x [cy0, cy1)."""
    k = level - z
    return x << k, (x + 1) << k, y << k, (y + 1) << k
