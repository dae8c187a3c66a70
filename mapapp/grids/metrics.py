"""Workload and shape metrics of grids: small pure functions registered with a key and a version
(after districtr-v2's evaluation registry), each vectorised over all grids of a plan."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely


@dataclass(frozen=True)
class GridFrame:
    """Per-grid inputs, parallel arrays; geometries in metres."""
    codes: np.ndarray
    geoms: np.ndarray
    households: np.ndarray
    population: np.ndarray
    incidents_12m: np.ndarray
    key_places: np.ndarray
    staffing: np.ndarray = field(default=None)  # workers per grid (the band scales with it); None = 1


@dataclass(frozen=True)
class Metric:
    key: str
    version: int
    unit: str
    doc: str
    fn: Callable[[GridFrame], np.ndarray]


REGISTRY: dict[str, Metric] = {}


def metric(key: str, version: int, unit: str):
    """Register a metric function under key/version; its docstring is its definition."""
    def register(fn: Callable[[GridFrame], np.ndarray]):
        REGISTRY[key] = Metric(key, version, unit, (fn.__doc__ or "").strip(), fn)
        return fn
    return register


@metric("households", 1, "households")
def households(f: GridFrame) -> np.ndarray:
    """Sum of base-unit households whose point on surface lies in the grid."""
    return np.asarray(f.households, dtype=float)


@metric("population", 1, "people")
def population(f: GridFrame) -> np.ndarray:
    """Sum of base-unit population in the grid."""
    return np.asarray(f.population, dtype=float)


@metric("incidents_12m", 1, "incidents")
def incidents_12m(f: GridFrame) -> np.ndarray:
    """Incidents reported in the grid in the last 12 months."""
    return np.asarray(f.incidents_12m, dtype=float)


@metric("key_places", 1, "places")
def key_places(f: GridFrame) -> np.ndarray:
    """Key places (重点场所) in the grid."""
    return np.asarray(f.key_places, dtype=float)


@metric("area_m2", 1, "m²")
def area_m2(f: GridFrame) -> np.ndarray:
    """Area in square metres."""
    return shapely.area(f.geoms)


@metric("polsby_popper", 1, "0-1")
def polsby_popper(f: GridFrame) -> np.ndarray:
    """4πA / P²: 1 for a circle, near 0 for a thin strip."""
    perim = shapely.length(f.geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perim > 0, 4 * np.pi * shapely.area(f.geoms) / perim ** 2, 0.0)


@metric("reock", 1, "0-1")
def reock(f: GridFrame) -> np.ndarray:
    """Area over the area of the smallest enclosing circle."""
    circle = np.pi * shapely.minimum_bounding_radius(f.geoms) ** 2  # exact, not the polygonised circle
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(circle > 0, shapely.area(f.geoms) / circle, 0.0)


@metric("contiguous", 1, "bool")
def contiguous(f: GridFrame) -> np.ndarray:
    """1 when the grid is one piece of polygon."""
    return (shapely.get_num_geometries(f.geoms) == 1).astype(float)


@metric("staffing", 1, "workers")
def staffing(f: GridFrame) -> np.ndarray:
    """Workers assigned to the grid (a grid with two workers carries twice the band)."""
    return np.ones(len(f.codes)) if f.staffing is None else np.asarray(f.staffing, dtype=float)


@dataclass(frozen=True)
class Band:
    """A workload band on one metric, e.g. households 300-500 (per worker), with a weight."""
    metric: str
    low: float
    high: float
    weight: float = 1.0


DEFAULT_BANDS = (Band("households", 300, 500, 1.0),)


def band_deviation(values: np.ndarray, band: Band, staff: np.ndarray) -> np.ndarray:
    """Signed distance outside the (staffing-scaled) band relative to its width; 0 inside."""
    low, high = band.low * staff, band.high * staff
    width = np.maximum(high - low, 1e-9)
    return np.where(values < low, (values - low) / width, np.where(values > high, (values - high) / width, 0.0))


def evaluate(f: GridFrame, bands: tuple[Band, ...] = DEFAULT_BANDS,
             keys: tuple[str, ...] | None = None) -> dict:
    """Every registered metric per grid, band deviations and flags, a weighted band score,
    and the plan figures; `provenance` lists each metric's key, version and definition."""
    chosen = [REGISTRY[k] for k in (keys or REGISTRY)]
    values = {m.key: m.fn(f) for m in chosen}
    staff = staffing(f)
    dev, flags = {}, {}
    for b in bands:
        v = values[b.metric] if b.metric in values else REGISTRY[b.metric].fn(f)
        dev[b.metric] = band_deviation(v, b, staff)
        flags[b.metric] = np.where(dev[b.metric] < 0, "under", np.where(dev[b.metric] > 0, "over", "ok"))
    weights = np.array([b.weight for b in bands], dtype=float)
    stack = np.vstack([np.abs(dev[b.metric]) for b in bands]) if bands else np.zeros((0, len(f.codes)))
    score = (weights @ stack) / weights.sum() if bands else np.zeros(len(f.codes))
    in_band = ~np.any(stack > 0, axis=0) if bands else np.ones(len(f.codes), dtype=bool)
    hh = households(f)
    plan = {
        "grids": int(len(f.codes)),
        "in_band": int(in_band.sum()),
        "band_violations": int((~in_band).sum()),
        "households": int(hh.sum()),
        "households_max_deviation": float(np.max(np.abs(hh - hh.mean())) / hh.mean()) if hh.sum() else 0.0,
        "polsby_popper_mean": float(values["polsby_popper"].mean()) if "polsby_popper" in values and len(hh) else None,
        "polsby_popper_min": float(values["polsby_popper"].min()) if "polsby_popper" in values and len(hh) else None,
        "contiguous_grids": int(values["contiguous"].sum()) if "contiguous" in values else None,
    }
    return {"values": values, "deviation": dev, "flags": flags, "score": score, "in_band": in_band,
            "plan": plan, "bands": [b.__dict__ for b in bands],
            "provenance": [{"key": m.key, "version": m.version, "unit": m.unit, "definition": m.doc}
                           for m in chosen]}
