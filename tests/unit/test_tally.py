"""Splitting a time range into whole months, whole days and partial-day raw spans."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from mapapp.incidents import tally
from mapapp.incidents.filters import IncidentFilter

UTC = timezone.utc


def t(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def covered_days(p: tally.Period, lo: date, hi: date) -> list[date]:
    """Every whole day in [lo, hi) that the months and days of `p` cover (with repeats)."""
    out = []
    d = lo
    while d < hi:
        if p.months and (p.months[0] is None or d >= p.months[0]) and (p.months[1] is None or d < p.months[1]):
            out.append(d)
        out += [d for a, b in p.days if (a is None or d >= a) and (b is None or d < b)]
        d += timedelta(days=1)
    return out


def test_unbounded_is_all_months_and_undated():
    p = tally.split(None, None)
    assert p == tally.Period(months=(None, None), undated=True)


def test_thirty_days_from_the_afternoon_add_the_rest_of_that_day():
    p = tally.split(t(2026, 10, 24, 15, 41), None)
    assert p.raw == ((t(2026, 10, 24, 15, 41), t(2026, 10, 25)),) and p.minus == ()
    assert p.days == ((date(2026, 10, 25), date(2026, 11, 1)),)
    assert p.months == (date(2026, 11, 1), None) and not p.undated


def test_thirty_days_from_the_morning_take_the_whole_day_less_its_start():
    p = tally.split(t(2026, 10, 24, 0, 8), None)  # the map's default just after midnight
    assert p.raw == () and p.minus == ((t(2026, 10, 24), t(2026, 10, 24, 0, 8)),)
    assert p.days == ((date(2026, 10, 24), date(2026, 11, 1)),)


def test_an_evening_end_takes_the_whole_day_less_its_rest():
    p = tally.split(t(2026, 3, 5), t(2026, 3, 9, 21))
    assert p.days == ((date(2026, 3, 5), date(2026, 3, 10)),)
    assert p.raw == () and p.minus == ((t(2026, 3, 9, 21), t(2026, 3, 10)),)


def test_most_of_one_day_is_the_day_less_both_ends():
    p = tally.split(t(2026, 3, 5, 1), t(2026, 3, 5, 23))
    assert p.days == ((date(2026, 3, 5), date(2026, 3, 6)),) and p.raw == ()
    assert p.minus == ((t(2026, 3, 5), t(2026, 3, 5, 1)), (t(2026, 3, 5, 23), t(2026, 3, 6)))


def test_within_one_day_is_raw_only():
    p = tally.split(t(2026, 3, 5, 8), t(2026, 3, 5, 20))
    assert p == tally.Period(raw=((t(2026, 3, 5, 8), t(2026, 3, 5, 20)),))


def test_days_inside_one_month_and_midnight_edges():
    p = tally.split(t(2026, 3, 5), t(2026, 3, 9, 6))
    assert p.months is None and p.days == ((date(2026, 3, 5), date(2026, 3, 9)),)
    assert p.raw == ((t(2026, 3, 9), t(2026, 3, 9, 6)),)


def test_other_time_zones_are_read_as_utc():
    p = tally.split(datetime(2026, 3, 5, 8, tzinfo=timezone(timedelta(hours=8))), None)  # 00:00 UTC
    assert p.raw == () and p.days[0][0] == date(2026, 3, 5)


@pytest.mark.parametrize("since,until", [
    (t(2025, 12, 30, 13), t(2026, 3, 2, 1)),
    (t(2025, 12, 30, 3), t(2026, 3, 2, 13)),
    (t(2026, 1, 31, 0, 5), t(2026, 2, 28, 23, 55)),
    (t(2026, 1, 31, 14), t(2026, 1, 31, 15)),
    (t(2026, 1, 31, 2), t(2026, 1, 31, 22)),
    (t(2026, 1, 1), t(2026, 2, 1)),
    (t(2026, 1, 31, 23), t(2026, 2, 1, 1)),
    (None, t(2026, 2, 14, 12)),
    (t(2024, 2, 29, 12), t(2024, 3, 31)),
])
def test_pieces_cover_every_day_exactly_once(since, until):
    p = tally.split(since, until)
    lo = (since or t(2025, 1, 1)).date() - timedelta(days=3)
    hi = until.date() + timedelta(days=3)
    whole = covered_days(p, lo, hi)
    assert len(whole) == len(set(whole))
    raw_seconds = sum((b - a).total_seconds() for a, b in p.raw) - sum((b - a).total_seconds() for a, b in p.minus)
    start = since or t(lo.year, lo.month, lo.day)
    in_range = [d for d in whole if d >= start.date()]
    assert len(in_range) * 86400 + raw_seconds == (until - start).total_seconds()
    for a, b in p.minus:  # taken away from a day the tallies count whole
        assert b - a < timedelta(hours=12) and a.date() in whole
    for a, b in p.raw:
        assert b - a <= (timedelta(hours=12) if p.months or p.days else timedelta(days=2))


def test_what_the_tallies_can_answer():
    assert tally.usable(IncidentFilter())
    assert tally.usable(IncidentFilter(categories=("a", "a.b"), groups=("a",), statuses=("closed",)))
    assert not tally.usable(IncidentFilter(categories=("a.b",)))
    assert not tally.usable(IncidentFilter(grid="1"))
    assert not tally.usable(IncidentFilter(community="1"))
    assert not tally.usable(IncidentFilter(overdue=True))


def test_cell_range():
    assert tally.cell_range(14, 9000, 4700, 18) == (9000 * 16, 9001 * 16, 4700 * 16, 4701 * 16)
    assert tally.cell_range(15, 3, 4, 15) == (3, 4, 4, 5)
