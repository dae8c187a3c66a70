"""Prize-collecting team orienteering: which stops each team visits, in what order, within a shift.

Node layout of every travel matrix here: 0 = start point, 1 = end point, 2.. = stops. Travel is in
seconds, `inf` where no route exists. Each visit costs the stop's dwell time inside the shift.
OR-Tools routing solves the model (a disjunction per visit whose penalty is its value); `greedy`
is the nearest-valuable-next baseline the benchmark compares it with.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

START, END, FIRST_STOP = 0, 1, 2

# The solver's time when a request names none, from the instance's size: OR-Tools' first solution
# (parallel cheapest insertion) and guided local search both grow with visits x teams. On the
# Helsinki bench (291 stops, 4 h on foot) one team reached the 60 s run's value within 0.1 s and
# five teams within 0.5 s on a loaded 2-core VM; these constants give 0.25 s and 0.83 s there.
AUTO_BASE_S = 0.1
AUTO_PER_VISIT_TEAM_S = 0.0005
AUTO_MAX_S = 5.0


@dataclass(frozen=True)
class Problem:
    """travel: (n+2)x(n+2) seconds; values, dwell: per stop; shift seconds; optional revisit seconds."""
    travel: np.ndarray
    values: np.ndarray
    dwell: np.ndarray
    shift: float
    teams: int = 1
    revisit: float | None = None

    @property
    def stops(self) -> int:
        return len(self.values)


@dataclass
class Route:
    team: int
    stops: list[int]            # stop indices (0-based into Problem.values), in visiting order
    arrivals: list[float]       # seconds after the shift starts, one per stop
    finish: float               # arrival at the end point
    value: float
    travel: float               # seconds spent moving


@dataclass
class Solution:
    routes: list[Route]
    value: float
    seconds: float
    method: str
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Visits:
    """The visits the model may make: one per stop, or one per revisit window of each stop."""
    stop: np.ndarray     # stop index of each visit
    opens: np.ndarray    # earliest arrival (seconds)
    closes: np.ndarray   # latest arrival (seconds)


def _visits(p: Problem) -> _Visits:
    n = p.stops
    if not p.revisit or p.revisit >= p.shift:
        return _Visits(np.arange(n), np.zeros(n), np.full(n, float(p.shift)))
    windows = math.ceil(p.shift / p.revisit)
    k = np.tile(np.arange(windows), n)
    return _Visits(np.repeat(np.arange(n), windows), k * float(p.revisit),
                   np.minimum((k + 1) * float(p.revisit), p.shift))


def _node_matrix(p: Problem, v: _Visits) -> np.ndarray:
    """Travel between model nodes (depots, then visits) in whole seconds; unreachable -> beyond the shift."""
    index = np.concatenate([[START, END], v.stop + FIRST_STOP])
    t = p.travel[np.ix_(index, index)]
    big = int(p.shift) * 4 + 1
    out = np.where(np.isfinite(t), np.ceil(t), big).astype(np.int64)
    np.fill_diagonal(out, 0)
    return np.minimum(out, big)


def default_time_limit(p: Problem) -> float:
    """Seconds to give OR-Tools when the request names no limit: short for small instances, so a
    plan answers in about a second, longer as visits x teams grow (at most AUTO_MAX_S)."""
    return round(min(AUTO_MAX_S, AUTO_BASE_S + AUTO_PER_VISIT_TEAM_S * len(_visits(p).stop) * p.teams), 3)


def solve(p: Problem, time_limit: float = 1.0, first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
          ) -> Solution:
    """Best value OR-Tools finds with guided local search, never running past `time_limit` seconds
    (the greedy plan when OR-Tools has none by then)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.monotonic()
    v = _visits(p)
    travel = _node_matrix(p, v)
    dwell = np.concatenate([[0, 0], np.ceil(p.dwell[v.stop])]).astype(np.int64)
    nodes = len(travel)
    manager = pywrapcp.RoutingIndexManager(nodes, p.teams, [START] * p.teams, [END] * p.teams)
    routing = pywrapcp.RoutingModel(manager)
    # arcs cost their travel time; leaving a stop also costs its dwell (counted in the shift)
    move = routing.RegisterTransitMatrix(travel.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(move)
    timed = routing.RegisterTransitMatrix((travel + dwell[:, None]).tolist())
    shift = int(p.shift)
    routing.AddDimension(timed, shift if p.revisit else 0, shift, True, "time")
    clock = routing.GetDimensionOrDie("time")
    values = p.values[v.stop]
    # value dominates: one unit of the smallest value outweighs all the travel of every team
    positive = values[values > 0]
    scale = (p.teams * shift + 1) / (positive.min() if len(positive) else 1.0)
    for node in range(FIRST_STOP, nodes):
        i = node - FIRST_STOP
        index = manager.NodeToIndex(node)
        routing.AddDisjunction([index], int(round(values[i] * scale)))
        if p.revisit:
            clock.CumulVar(index).SetRange(int(v.opens[i]), int(v.closes[i]))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    # guided local search never stops by itself: OR-Tools wants its time limit set before the model
    # closes (it warns otherwise), and then it is cut to what is left once the model is built
    reserve = max(0.05, 0.1 * time_limit)  # for the search to stop and the routes to be read back
    params.time_limit.FromMilliseconds(max(int((time_limit - reserve) * 1000), 10))
    routing.CloseModelWithParameters(params)
    left = time_limit - (time.monotonic() - started) - reserve
    if left <= 0.01:
        return _fallback(p, started, "no time left after building the OR-Tools model")
    params.time_limit.FromMilliseconds(max(int(left * 1000), 10))
    assignment = routing.SolveWithParameters(params)
    if assignment is None:
        return _fallback(p, started, "OR-Tools found no solution within the time limit")
    routes = []
    for team in range(p.teams):
        index, stops, arrivals = routing.Start(team), [], []
        while not routing.IsEnd(index):
            index = assignment.Value(routing.NextVar(index))
            node = manager.IndexToNode(index)
            if node >= FIRST_STOP:
                stops.append(int(v.stop[node - FIRST_STOP]))
                arrivals.append(float(assignment.Value(clock.CumulVar(index))))
        finish = float(assignment.Value(clock.CumulVar(routing.End(team))))
        routes.append(_route(p, team, stops, arrivals, finish))
    return Solution(routes, _collected(p, routes), time.monotonic() - started, "ortools",
                    {"status": int(routing.status()), "visits": len(v.stop)})


def greedy(p: Problem) -> Solution:
    """Nearest-valuable-next: each team in turn takes the visit with the most value per second of
    travel plus dwell that still lets it reach the end point in time."""
    started = time.monotonic()
    v = _visits(p)
    node = v.stop + FIRST_STOP
    values = p.values[v.stop].astype(float)
    dwell = p.dwell[v.stop].astype(float)
    back = p.travel[node, END]
    done = np.zeros(len(node), bool)
    routes = []
    for team in range(p.teams):
        here, now, stops, arrivals = START, 0.0, [], []
        while True:
            arrive = np.maximum(now + p.travel[here, node], v.opens)
            ok = (~done & (arrive <= v.closes) & (arrive + dwell + back <= p.shift)
                  & np.isfinite(arrive) & (values > 0))
            if not ok.any():
                break
            score = np.where(ok, values / np.maximum(arrive - now + dwell, 1.0), -np.inf)
            best = int(np.argmax(score))
            done[best] = True
            stops.append(int(v.stop[best]))
            arrivals.append(float(arrive[best]))
            here, now = node[best], float(arrive[best] + dwell[best])
        finish = now + p.travel[here, END]
        routes.append(_route(p, team, stops, arrivals, float(finish)))
    return Solution(routes, _collected(p, routes), time.monotonic() - started, "greedy")


def _route(p: Problem, team: int, stops: list[int], arrivals: list[float], finish: float) -> Route:
    path = np.array([START, *(np.asarray(stops, dtype=int) + FIRST_STOP), END])
    moving = float(p.travel[path[:-1], path[1:]].sum())
    return Route(team, stops, arrivals, finish, float(p.values[stops].sum()) if stops else 0.0, moving)


def _collected(p: Problem, routes: list[Route]) -> float:
    return float(sum(r.value for r in routes))


def _fallback(p: Problem, started: float, why: str) -> Solution:
    """The greedy plan (milliseconds) when OR-Tools has no answer inside the time limit."""
    sol = greedy(p)
    return Solution(sol.routes, sol.value, time.monotonic() - started, "greedy", {"note": why})
