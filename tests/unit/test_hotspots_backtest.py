"""Backtest scores on a hand-computed example, and the methods' scores on planted data."""
import math

import numpy as np

from mapapp.hotspots.backtest import (kde_score, prospective_score, scores_at, selected)


def test_hit_rate_pai_pei_hand_computed():
    # 10 equal cells; the score ranks cells 0, 1, 2, ...; test incidents: 40 in all
    score = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0.0])
    test = np.array([4, 10, 0, 6, 2, 8, 0, 5, 3, 2.0])
    rows = {r["coverage"]: r for r in scores_at(score, test, coverages=(0.1, 0.2, 0.5))}
    # 10 %: cell 0 -> 4 of 40 = 0.1, PAI = 0.1 / 0.1 = 1, best single cell holds 10 -> PEI* 0.4
    assert rows[0.1]["hits"] == 4 and math.isclose(rows[0.1]["hit_rate"], 0.1)
    assert math.isclose(rows[0.1]["pai"], 1.0) and math.isclose(rows[0.1]["pei_star"], 0.4)
    # 20 %: cells 0, 1 -> 14/40 = 0.35, PAI 1.75, best two 10 + 8 = 18 -> PEI* 14/18
    assert math.isclose(rows[0.2]["hit_rate"], 0.35) and math.isclose(rows[0.2]["pai"], 1.75)
    assert math.isclose(rows[0.2]["pei_star"], 14 / 18)
    # 50 %: cells 0..4 -> 22/40, PAI 1.1, best five 10+8+6+5+4 = 33
    assert math.isclose(rows[0.5]["pai"], 1.1) and math.isclose(rows[0.5]["pei_star"], 22 / 33)


def test_selection_rounds_up_and_breaks_ties_by_cell_order():
    assert selected(np.array([1.0, 1.0, 1.0, 0.0]), 0.3).tolist() == [True, True, False, False]
    assert selected(np.zeros(200), 0.01).sum() == 2


def test_kde_and_prospective_rank_the_planted_place_first():
    ix, iy = np.meshgrid(np.arange(10), np.arange(10))
    xy = np.column_stack([ix.ravel(), iy.ravel()]) * 100.0
    train = np.zeros(100)
    train[55] = 10
    assert np.argmax(kde_score(xy, train, 150.0)) == 55
    cube = np.zeros((100, 4))
    cube[11, 0] = 5   # old events at cell 11
    cube[88, 3] = 3   # recent events at cell 88 outweigh them
    score = prospective_score(xy, cube, 100.0, 250.0)
    assert np.argmax(score) == 88 and score[11] > 0 and score[0] > 0 and score[50] == 0


def test_curve_agrees_with_the_table_and_reaches_every_incident():
    from mapapp.hotspots.backtest import curve

    score = np.array([5.0, 1.0, 4.0, 0.0, 3.0, 2.0, 0.5, 0.2, 0.1, 0.0])
    test = np.array([3.0, 0.0, 1.0, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0])
    pts = curve(score, test, coverages=(0.1, 0.2, 0.5, 1.0))
    assert [p["hit_rate"] for p in pts] == [0.3, 0.4, 0.8, 1.0]  # 3, 3+1, 3+1+0+4+0, all
    table = scores_at(score, test, coverages=(0.1, 0.2))
    assert [p["hit_rate"] for p in pts[:2]] == [t["hit_rate"] for t in table]
