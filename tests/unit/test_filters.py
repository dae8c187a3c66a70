from datetime import datetime, timedelta, timezone

import pytest

from mapapp.errors import ParamError
from mapapp.incidents import filters
from mapapp.incidents.taxonomy import load

TAX = load()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_relative_and_absolute_times():
    f = filters.parse({"since": "7d", "until": "2026-11-23T10:00:00+08:00"}, TAX, now=NOW)
    assert f.since == NOW - timedelta(days=7)
    assert f.until == datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    assert filters.parse({"since": "2026-11-01"}, TAX).since == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert filters.parse({"since": "24h"}, TAX, now=NOW).since == NOW - timedelta(hours=24)


def test_category_expands_and_status_open():
    f = filters.parse({"category": "disputes,public_order.theft", "status": "open"}, TAX)
    assert "disputes.family" in f.categories and "public_order.theft" in f.categories
    assert "public_order.fight" not in f.categories
    assert set(f.statuses) == set(filters.OPEN_STATUSES)


def test_limit_capped_and_cursor_round_trip():
    f = filters.parse({"limit": "99999", "cursor": filters.encode_cursor(42)}, TAX)
    assert f.limit == filters.MAX_LIMIT and f.after_id == 42


@pytest.mark.parametrize("args, field", [
    ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "1,1,0,2"}, "bbox"), ({"bbox": "0,-91,1,0"}, "bbox"),
    ({"since": "last tuesday"}, "since"), ({"until": "2026-13-01"}, "until"),
    ({"since": "2026-02-02", "until": "2026-02-01"}, "since"),
    ({"category": "public_order.nope"}, "category"), ({"status": "lost"}, "status"),
    ({"limit": "0"}, "limit"), ({"cursor": "!!"}, "cursor"),
])
def test_bad_parameters_name_the_field(args, field):
    with pytest.raises(ParamError) as err:
        filters.parse(args, TAX)
    assert err.value.field == field


def test_unsupported_parameter_is_refused():
    with pytest.raises(ParamError) as err:
        filters.parse({"bbox": "0,0,1,1"}, TAX, allowed=frozenset({"since"}))
    assert err.value.field == "bbox"
