"""The patrol solver on small instances whose optimum a brute-force search finds."""
from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from mapapp.patrol.solver import (AUTO_MAX_S, END, FIRST_STOP, START, Problem, default_time_limit, greedy,
                                  solve)


def _instance(seed: int, n: int, shift: float, teams: int = 1, dwell: float = 300.0,
              unreachable: tuple[int, ...] = ()) -> Problem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n + 2, 2))
    xy[END] = xy[START]
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2) / 1.4  # walking seconds
    for s in unreachable:
        travel[s + FIRST_STOP, :] = travel[:, s + FIRST_STOP] = np.inf
        travel[s + FIRST_STOP, s + FIRST_STOP] = 0
    values = rng.integers(1, 10, n).astype(float)
    return Problem(travel, values, np.full(n, dwell), shift, teams)


def _feasible_value(p: Problem, tours: tuple[tuple[int, ...], ...]) -> float | None:
    total = 0.0
    for tour in tours:
        path = [START, *(s + FIRST_STOP for s in tour), END]
        t = sum(p.travel[a, b] for a, b in zip(path, path[1:])) + p.dwell[list(tour)].sum()
        if not t <= p.shift:
            return None
        total += p.values[list(tour)].sum()
    return total


def _brute_force(p: Problem) -> float:
    """Every ordered tour for one team, every split of ordered tours for two."""
    stops = range(p.stops)
    tours = [perm for k in range(p.stops + 1) for c in itertools.combinations(stops, k)
             for perm in itertools.permutations(c)]
    ok = {t: _feasible_value(p, (t,)) for t in tours}
    ok = {t: v for t, v in ok.items() if v is not None}
    if p.teams == 1:
        return max(ok.values())
    return max(ok[a] + ok[b] for a in ok for b in ok if not set(a) & set(b))


def _check_routes(p: Problem, sol) -> None:
    seen = [s for r in sol.routes for s in r.stops]
    assert len(seen) == len(set(seen))
    for r in sol.routes:
        assert r.finish <= p.shift + 1e-6
        path = [START, *(s + FIRST_STOP for s in r.stops), END]
        clock = 0.0
        for (a, b), arrival in zip(zip(path, path[1:]), r.arrivals):
            clock += p.travel[a, b]
            assert arrival == pytest.approx(clock, abs=len(path))  # whole seconds in the model
            assert arrival + p.dwell[b - FIRST_STOP] <= p.shift
            clock = arrival + p.dwell[b - FIRST_STOP]
    assert sol.value == pytest.approx(sum(p.values[r.stops].sum() for r in sol.routes))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_team_finds_the_brute_force_optimum(seed):
    p = _instance(seed, 7, shift=2400)
    best = _brute_force(p)
    sol = solve(p, time_limit=3.0)  # generous: on a loaded machine 1 s once stopped one short
    _check_routes(p, sol)
    assert sol.value == best
    assert 0 < best < p.values.sum()  # the shift is short enough that choosing matters


def test_two_teams_find_the_brute_force_optimum():
    p = _instance(7, 6, shift=1500, teams=2)
    best = _brute_force(p)
    sol = solve(p, time_limit=3.0)
    _check_routes(p, sol)
    assert sol.value == best and len(sol.routes) == 2


def test_greedy_is_feasible_and_not_better_than_the_optimum():
    for seed in (1, 2, 3):
        p = _instance(seed, 7, shift=2400)
        g = greedy(p)
        _check_routes(p, g)
        assert 0 < g.value <= _brute_force(p)


def test_unreachable_stops_are_never_routed():
    p = _instance(4, 8, shift=7200, unreachable=(2, 5))
    for sol in (solve(p, time_limit=0.5), greedy(p)):
        routed = {s for r in sol.routes for s in r.stops}
        assert routed and not routed & {2, 5}
        _check_routes(p, sol)


def test_the_time_limit_holds_on_a_large_instance():
    p = _instance(5, 300, shift=4 * 3600, teams=3)
    started = time.monotonic()
    sol = solve(p, time_limit=0.6)
    assert time.monotonic() - started <= 0.6
    assert sol.seconds <= 0.6 and sol.value > 0
    _check_routes(p, sol)


def test_the_default_time_grows_with_visits_and_teams_and_is_capped():
    small, large = _instance(1, 30, shift=4 * 3600), _instance(1, 300, shift=4 * 3600)
    five = Problem(large.travel, large.values, large.dwell, large.shift, teams=5)
    hourly = Problem(large.travel, large.values, large.dwell, large.shift, revisit=3600)
    busy = Problem(large.travel, large.values, large.dwell, large.shift, teams=5, revisit=1800)
    assert 0.1 < default_time_limit(small) < default_time_limit(large) <= 0.5  # one team: a plan in ~1 s
    assert default_time_limit(large) < default_time_limit(five) <= 1.5        # five teams: within ~3 s
    assert default_time_limit(large) < default_time_limit(hourly)               # a visit per hour window
    assert default_time_limit(busy) == AUTO_MAX_S                               # capped


def test_guided_local_search_is_given_its_time_limit_before_the_model_closes(capfd):
    solve(_instance(2, 20, shift=3600), time_limit=0.2)
    assert "without sane timeout" not in capfd.readouterr().err


def test_with_no_time_left_for_or_tools_the_greedy_plan_comes_back_within_the_limit():
    p = _instance(4, 30, shift=2 * 3600)
    sol = solve(p, time_limit=0.05)  # all of it is the reserve for stopping and reading back
    assert sol.seconds <= 0.05
    assert sol.method == "greedy" and "note" in sol.stats and sol.value == greedy(p).value > 0
    _check_routes(p, sol)


def test_revisit_windows_bring_a_stop_back_within_the_interval():
    travel = np.array([[0, 0, 600, 600], [0, 0, 600, 600], [600, 600, 0, 300], [600, 600, 300, 0]],
                      dtype=float)
    p = Problem(travel, np.array([5.0, 1.0]), np.array([600.0, 600.0]), shift=4 * 3600, revisit=3600)
    sol = solve(p, time_limit=1.0)
    (route,) = sol.routes
    hot = [a for s, a in zip(route.stops, route.arrivals) if s == 0]
    assert len(hot) == 4  # one visit in each hour of the shift
    assert all(h // 3600 == k for k, h in enumerate(sorted(hot)))
    assert route.finish <= p.shift
