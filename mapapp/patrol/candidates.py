"""Candidate stops and their value (pure): key places by category weight, open incidents by
priority, hotspot cells by their score; items snapped to the same street vertex become one stop."""
from __future__ import annotations

import numpy as np
import pandas as pd

# How much a visit to a key place is worth; places where disorder concentrates weigh most.
PLACE_WEIGHTS: dict[str, float] = {
    "bar": 3.0, "entertainment": 3.0, "internet_cafe": 3.0, "station": 3.0, "market": 2.0,
    "hotel": 2.0, "construction_site": 2.0, "school": 2.0, "bank": 2.0, "fuel": 1.5,
    "embassy": 1.5, "hospital": 1.0, "clinic": 1.0, "pharmacy": 1.0, "theatre": 1.0,
    "place_of_worship": 1.0,
}
DEFAULT_PLACE_WEIGHT = 1.0
PRIORITY_WEIGHTS: dict[str, float] = {"normal": 1.0, "high": 2.0, "urgent": 4.0}
MAX_SNAP_M = 250.0
SOURCES = ("places", "incidents", "hotspots")


def item_values(kind: pd.Series, category: pd.Series, priority: pd.Series,
                score: pd.Series) -> np.ndarray:
    """Value of each candidate item: place weight, incident priority weight, or hotspot score."""
    place = category.map(PLACE_WEIGHTS).fillna(DEFAULT_PLACE_WEIGHT)
    incident = priority.map(PRIORITY_WEIGHTS).fillna(1.0)
    hotspot = pd.to_numeric(score, errors="coerce").fillna(0.0).clip(lower=0.0)
    return np.select([kind.eq("place"), kind.eq("incident"), kind.eq("hotspot")],
                     [place, incident, hotspot], 0.0).astype(float)


def group_stops(items: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stops, far): items on the same vertex become one stop with summed value, the `limit` most
    valuable stops kept; items too far from any street come back as `far`.

    items needs kind, label, value, vertex, vertex_lon, vertex_lat, component, snap_m."""
    far = items[items["snap_m"].isna() | (items["snap_m"] > MAX_SNAP_M)]
    near = items.drop(far.index).sort_values("vertex", kind="stable")
    stops = (near.groupby("vertex", sort=True)
             .agg(value=("value", "sum"), lon=("vertex_lon", "first"), lat=("vertex_lat", "first"),
                  component=("component", "first"), snap_m=("snap_m", "max"))
             .reset_index())
    # the items of each vertex: one split of the sorted column (pandas' list aggregation runs
    # Python once per group, ~50 ms for 1,000 items)
    bounds = np.flatnonzero(np.diff(near["vertex"].to_numpy(dtype=float))) + 1
    stops["items"] = [part.tolist() for part in np.split(near["label"].to_numpy(dtype=object), bounds)]
    stops = stops[stops["value"] > 0].sort_values(["value", "vertex"], ascending=[False, True])
    return stops.head(limit).reset_index(drop=True), far


def bbox_around(lons: np.ndarray, lats: np.ndarray, margin_m: float) -> tuple[float, float, float, float]:
    """Bounding box of the points grown by margin_m metres (enough room for detours)."""
    lat0 = float(np.mean(lats))
    dy = margin_m / 111_320.0
    dx = margin_m / (111_320.0 * max(np.cos(np.radians(lat0)), 0.05))
    return (float(np.min(lons)) - dx, float(np.min(lats)) - dy,
            float(np.max(lons)) + dx, float(np.max(lats)) + dy)
