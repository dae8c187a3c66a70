"""Candidate values, grouping by street vertex, and reading a plan request (pure)."""
from __future__ import annotations

import pandas as pd
import pytest

from mapapp.errors import ParamError
from mapapp.patrol.candidates import MAX_SNAP_M, group_stops, item_values
from mapapp.patrol.output import route_line
from mapapp.patrol.request import parse_request


def test_values_by_kind():
    v = item_values(pd.Series(["place", "place", "incident", "incident", "hotspot"]),
                    pd.Series(["bar", "unknown", "x", "x", None]),
                    pd.Series([None, None, "urgent", None, None]),
                    pd.Series([None, None, None, None, 2.5]))
    assert v.tolist() == [3.0, 1.0, 4.0, 1.0, 2.5]


def test_items_on_one_vertex_make_one_stop_and_far_items_are_set_apart():
    items = pd.DataFrame({
        "kind": ["place", "incident", "place", "place"], "label": ["a", "b", "c", "d"],
        "value": [3.0, 1.0, 2.0, 5.0], "vertex": [7, 7, 9, None],
        "vertex_lon": [1.0, 1.0, 2.0, None], "vertex_lat": [1.0, 1.0, 2.0, None],
        "component": [1, 1, 1, None], "snap_m": [5.0, 20.0, MAX_SNAP_M + 1, None]})
    stops, far = group_stops(items, limit=10)
    assert stops["vertex"].tolist() == [7] and stops["value"].tolist() == [4.0]
    assert stops["items"].tolist() == [["a", "b"]] and far["label"].tolist() == ["c", "d"]
    assert len(group_stops(items.assign(snap_m=1.0, vertex=[7, 7, 9, 11]), limit=2)[0]) == 2


def test_legs_join_end_to_start():
    legs = [{"coordinates": [[0, 0], [1, 0]]}, None, {"coordinates": [[1, 0], [1, 1]]}]
    assert route_line(legs) == [[0, 0], [1, 0], [1, 1]]


@pytest.mark.parametrize("body, field", [
    ({}, "area"),
    ({"area": {"grids": []}}, "area.grids"),
    ({"area": {"polygon": {"type": "Point", "coordinates": [0, 0]}}}, "area.polygon"),
    ({"area": {"community": "c"}, "mode": "boat"}, "mode"),
    ({"area": {"community": "c"}, "teams": 0}, "teams"),
    ({"area": {"community": "c"}, "teams": 1.5}, "teams"),
    ({"area": {"community": "c"}, "shift_minutes": "4h"}, "shift_minutes"),
    ({"area": {"community": "c"}, "shift_minutes": 60, "dwell_minutes": 90}, "dwell_minutes"),
    ({"area": {"community": "c"}, "time_limit": 120}, "time_limit"),
    ({"area": {"community": "c"}, "start": [200, 10]}, "start"),
    ({"area": {"community": "c"}, "end": "here"}, "end"),
    ({"area": {"community": "c"}, "sources": ["rumours"]}, "sources"),
    ({"area": {"community": "c"}, "start_time": "yesterday"}, "start_time"),
])
def test_bad_requests_name_the_field(body, field):
    with pytest.raises(ParamError) as err:
        parse_request(body)
    assert err.value.field == field


def test_defaults_and_end_follows_start():
    r = parse_request({"area": {"community": "c"}, "start": [24.9, 60.1]})
    assert (r.teams, r.mode, r.shift_minutes, r.dwell_minutes, r.time_limit) == (1, "foot", 240, 15, None)
    assert r.end == r.start == (24.9, 60.1) and r.revisit_minutes is None
