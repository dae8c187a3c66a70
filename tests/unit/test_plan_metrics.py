"""Grid metrics against values computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely import box

from mapapp.grids.metrics import REGISTRY, Band, GridFrame, evaluate

TWO_PIECE = shapely.union(box(0, 0, 10, 10), box(20, 0, 30, 10))


def frame(hh, inc=(0, 0, 0, 0), staffing=None) -> GridFrame:
    geoms = np.array([box(0, 0, 100, 100), box(0, 0, 400, 100), TWO_PIECE, box(0, 0, 50, 50)], dtype=object)
    return GridFrame(codes=np.array(["a", "b", "c", "d"], dtype=object), geoms=geoms,
                     households=np.array(hh), population=np.array(hh) * 2,
                     incidents_12m=np.array(inc), key_places=np.array([1, 0, 2, 0]),
                     staffing=None if staffing is None else np.array(staffing))


def test_registry_has_keys_and_versions():
    for key in ("households", "population", "incidents_12m", "key_places", "area_m2", "polsby_popper",
                "reock", "contiguous", "staffing"):
        assert REGISTRY[key].version >= 1 and REGISTRY[key].doc


def test_compactness_by_hand():
    out = evaluate(frame([400, 400, 400, 400]))["values"]
    assert out["polsby_popper"][0] == pytest.approx(math.pi / 4)
    assert out["polsby_popper"][1] == pytest.approx(4 * math.pi * 40000 / 1000 ** 2)
    assert out["reock"][0] == pytest.approx(2 / math.pi, rel=1e-6)
    assert out["reock"][1] == pytest.approx(40000 / (math.pi * (200 ** 2 + 50 ** 2)), rel=1e-6)
    assert out["area_m2"].tolist() == [10000, 40000, 200, 2500]
    assert out["contiguous"].tolist() == [1, 1, 0, 1]


def test_band_flags_and_staffing_multiplier():
    out = evaluate(frame([250, 600, 400, 700], staffing=[1, 1, 1, 2]))
    assert out["deviation"]["households"].tolist() == pytest.approx([-0.25, 0.5, 0.0, 0.0])
    assert out["flags"]["households"].tolist() == ["under", "over", "ok", "ok"]
    assert out["plan"]["band_violations"] == 2 and out["plan"]["in_band"] == 2
    narrow = evaluate(frame([250, 600, 400, 700]), bands=(Band("households", 350, 450),))
    assert narrow["flags"]["households"].tolist() == ["under", "over", "ok", "over"]


def test_several_weighted_bands():
    bands = (Band("households", 300, 500, 2.0), Band("incidents_12m", 10, 50, 1.0))
    out = evaluate(frame([250, 600, 400, 400], inc=[60, 30, 30, 5]), bands=bands)
    assert out["score"].tolist() == pytest.approx([0.25, 1 / 3, 0.0, (5 / 40) / 3])
    assert out["flags"]["incidents_12m"].tolist() == ["over", "ok", "ok", "under"]
    assert out["in_band"].tolist() == [False, False, True, False]
    assert {p["key"] for p in out["provenance"]} >= {"households", "reock"}
