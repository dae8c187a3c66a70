"""Travel speeds per street class and mode, and the cost/reverse cost of each edge (pure, vectorised).

Costs are seconds of travel; -1 marks a direction a mode may not use (pgRouting's convention).
Foot ignores one-way signs; bicycles and cars follow them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MODES = ("foot", "bicycle", "car")
ONEWAY_MODES = frozenset({"bicycle", "car"})
DEFAULT_CLASS = "unclassified"

# km/h by OSM-style class; a class missing from a mode's table is closed to that mode.
# Urban speeds (a patrol car in a city centre, not a free-flow highway).
SPEEDS_KMH: dict[str, dict[str, float]] = {
    "foot": {c: 5.0 for c in (
        "primary", "secondary", "tertiary", "unclassified", "residential", "service", "living_street",
        "pedestrian", "footway", "path", "trail", "track", "cycleway", "road")} | {"steps": 2.5},
    "bicycle": {
        "primary": 16.0, "secondary": 16.0, "tertiary": 16.0, "unclassified": 15.0, "residential": 15.0,
        "service": 12.0, "living_street": 10.0, "road": 15.0, "cycleway": 18.0, "track": 12.0,
        "path": 10.0, "trail": 10.0, "pedestrian": 6.0, "footway": 6.0},
    "car": {
        "motorway": 80.0, "trunk": 60.0, "primary": 40.0, "secondary": 35.0, "tertiary": 30.0,
        "unclassified": 25.0, "residential": 25.0, "road": 25.0, "service": 15.0,
        "living_street": 10.0},
}


def check_mode(mode: str) -> str:
    """The mode itself when it is known; ValueError otherwise."""
    if mode not in MODES:
        raise ValueError(f"unknown travel mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def speeds_ms(classes: np.ndarray | list, mode: str) -> np.ndarray:
    """Metres per second for each street class (NaN where the mode may not go).

    `*_link` ramps take their road's speed; a missing class counts as 'unclassified'."""
    table = SPEEDS_KMH[check_mode(mode)]
    names = (pd.Series(classes, dtype=object).fillna(DEFAULT_CLASS).astype(str)
             .str.lower().str.removesuffix("_link"))
    return names.map(table).astype(float).to_numpy() / 3.6


def edge_costs(classes: np.ndarray | list, lengths_m: np.ndarray, oneway: np.ndarray,
               mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(cost, reverse_cost) in seconds for each edge drawn in its travel direction; -1 = closed."""
    speed = speeds_ms(classes, mode)
    lengths = np.asarray(lengths_m, dtype=float)
    cost = np.where(np.isnan(speed), -1.0, lengths / np.where(np.isnan(speed), 1.0, speed))
    reverse = cost.copy()
    if mode in ONEWAY_MODES:
        reverse[np.asarray(oneway, dtype=bool)] = -1.0
    return cost, reverse
