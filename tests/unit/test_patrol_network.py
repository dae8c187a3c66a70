"""Speeds per street class and mode, and one-way rules (pure)."""
from __future__ import annotations

import numpy as np
import pytest

from mapapp.patrol.network import edge_costs, speeds_ms

CLASSES = ["primary", "footway", None, "primary_link", "steps", "cycleway"]
LENGTHS = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
ONEWAY = np.array([True, True, False, False, False, True])


def test_car_follows_one_way_and_keeps_off_footways():
    cost, reverse = edge_costs(CLASSES, LENGTHS, ONEWAY, "car")
    assert cost[0] == pytest.approx(100 / (40 / 3.6)) and reverse[0] == -1
    assert cost[1] == reverse[1] == -1 and cost[4] == -1 and cost[5] == -1
    assert cost[2] == reverse[2] == pytest.approx(100 / (25 / 3.6))  # missing class: unclassified
    assert cost[3] == cost[0] and reverse[3] == cost[3]  # a link drives like its road


def test_foot_ignores_one_way_and_climbs_steps_slowly():
    cost, reverse = edge_costs(CLASSES, LENGTHS, ONEWAY, "foot")
    np.testing.assert_allclose(cost, reverse)
    assert cost[0] == pytest.approx(72.0) and cost[4] == pytest.approx(144.0)


def test_bicycle_follows_one_way_and_keeps_off_steps():
    cost, reverse = edge_costs(CLASSES, LENGTHS, ONEWAY, "bicycle")
    assert reverse[5] == -1 and cost[5] == pytest.approx(20.0)
    assert cost[4] == -1


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown travel mode 'boat'"):
        speeds_ms(["primary"], "boat")
