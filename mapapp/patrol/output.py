"""Routes as GeoJSON (pure): a line per team in travel order, ordered stops with arrival times,
distance, duration, value and share of the available value; the candidates left out and why."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from mapapp.patrol.solver import Solution

TEAM_COLOURS = ("#d7191c", "#2c7bb6", "#1a9641", "#7b3294", "#fdae61", "#008837", "#e66101",
                "#5e3c99", "#a6611a", "#0571b0")


def team_colour(team: int) -> str:
    return TEAM_COLOURS[team % len(TEAM_COLOURS)]


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]}


def route_line(legs: list[dict | None]) -> list[list[float]]:
    """Coordinates of consecutive legs joined end to start (a leg of None stays in place)."""
    coords: list[list[float]] = []
    for leg in legs:
        if not leg:
            continue
        part = leg["coordinates"]
        coords.extend(part[1:] if coords and coords[-1] == part[0] else part)
    return coords


def feature_collection(*, stops: pd.DataFrame, solution: Solution, legs: dict, depots: dict,
                       skipped: list[dict], start_time: datetime, dwell_s: float,
                       timings: dict, params: dict) -> dict:
    """The plan as a GeoJSON FeatureCollection with a `summary` member."""
    features: list[dict] = []
    available = float(stops["value"].sum()) if len(stops) else 0.0
    visited: set[int] = set()
    totals = {"distance_m": 0.0, "value": 0.0}
    for route in solution.routes:
        path = [depots["start"]["vertex"], *stops["vertex"].iloc[route.stops].tolist(),
                depots["end"]["vertex"]]
        route_legs = [legs.get((int(a), int(b))) for a, b in zip(path, path[1:])]
        coords = route_line(route_legs)
        metres = float(sum(leg["metres"] for leg in route_legs if leg))
        colour = team_colour(route.team)
        features.append({"type": "Feature",
                         "geometry": {"type": "LineString", "coordinates": coords} if len(coords) > 1 else None,
                         "properties": {"kind": "route", "team": route.team + 1, "colour": colour,
                                        "stops": len(route.stops), "distance_m": round(metres, 1),
                                        "duration_s": round(route.finish, 1),
                                        "travel_s": round(route.travel, 1),
                                        "value": round(route.value, 3),
                                        "share": round(route.value / available, 4) if available else 0.0}})
        for order, (i, arrival) in enumerate(zip(route.stops, route.arrivals), start=1):
            stop = stops.iloc[i]
            visited.add(int(i))
            features.append({"type": "Feature", "geometry": _point(stop["lon"], stop["lat"]),
                             "properties": {"kind": "stop", "team": route.team + 1, "colour": colour,
                                            "order": order, "arrival_s": round(arrival, 1),
                                            "arrival": (start_time + timedelta(seconds=arrival)).isoformat(),
                                            "departure": (start_time + timedelta(seconds=arrival + dwell_s)).isoformat(),
                                            "value": round(float(stop["value"]), 3),
                                            "items": list(stop["items"])}})
        totals["distance_m"] += metres
        totals["value"] += route.value
    for i, stop in enumerate(stops.itertuples()):
        if i not in visited:
            features.append({"type": "Feature", "geometry": _point(stop.lon, stop.lat),
                             "properties": {"kind": "candidate", "value": round(float(stop.value), 3),
                                            "items": list(stop.items)}})
    for name in ("start", "end"):
        d = depots[name]
        features.append({"type": "Feature", "geometry": _point(d["lon"], d["lat"]),
                         "properties": {"kind": name}})
    for s in skipped:
        features.append({"type": "Feature", "geometry": _point(s["lon"], s["lat"]),
                         "properties": {"kind": "skipped", "reason": s["reason"],
                                        "value": round(float(s["value"]), 3), "items": s["items"]}})
    summary = {
        "teams": len(solution.routes), "method": solution.method, "solver": solution.stats,
        "value": round(totals["value"], 3), "available_value": round(available, 3),
        "share": round(totals["value"] / available, 4) if available else 0.0,
        "distance_m": round(totals["distance_m"], 1),
        "duration_s": round(max((r.finish for r in solution.routes), default=0.0), 1),
        "stops": sum(len(r.stops) for r in solution.routes), "candidates": len(stops),
        "skipped": [{k: s[k] for k in ("reason", "lon", "lat", "value", "items")} for s in skipped],
        "start_time": start_time.isoformat(), "timings": timings,
    }
    return {"type": "FeatureCollection", "features": features, "summary": summary, "params": params}


def candidate_collection(stops: pd.DataFrame, skipped: list[dict], depots: dict, area: str) -> dict:
    """Candidate stops (value, items) and the default start/end, before planning."""
    features = [{"type": "Feature", "geometry": _point(s.lon, s.lat),
                 "properties": {"kind": "candidate", "value": round(float(s.value), 3), "items": list(s.items)}}
                for s in stops.itertuples()]
    features += [{"type": "Feature", "geometry": _point(depots[n]["lon"], depots[n]["lat"]),
                  "properties": {"kind": n}} for n in ("start", "end")]
    return {"type": "FeatureCollection", "features": features, "area": json.loads(area),
            "summary": {"candidates": len(stops), "available_value": round(float(stops["value"].sum()), 3),
                        "skipped": skipped}}
