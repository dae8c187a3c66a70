"""Parameters of a hot spot request, parsed once from query arguments; a bad one raises
ParamError naming it. Pure: no SQL, no Flask."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from mapapp.errors import ParamError

CELLS = ("hex", "square", "grid", "h3")
WEIGHT_FIELDS = ("none", "count", "weight")
MIN_SIZE, MAX_SIZE = 10.0, 10000.0
MAX_K = 100
#: the incident filter's own parameters, passed through to mapapp.incidents.filters.parse
FILTER_KEYS = ("since", "until", "category", "status", "grid", "community", "overdue", "bbox")
KEYS = ("method", "cells", "size", "k", "distance", "alpha", "fdr", "optimized", "area", "plan",
        "weight", "mask", "lang", "resolution", "permutations", "seed")


@dataclass(frozen=True)
class HotspotParams:
    cells: str = "hex"
    size: float | None = None
    k: int | None = None
    distance: float | None = None
    alpha: float = 0.05
    fdr: bool = True
    optimized: bool = False
    area: str | None = None
    plan: str = "published"
    weight: str = "none"
    mask: bool = True
    resolution: int | None = None  # H3 resolution (cells=h3)
    permutations: int | None = None  # conditional-permutation p-values instead of analytic ones
    seed: int = 0


def _flag(args: Mapping[str, str], name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in ("1", "true", "0", "false"):
        raise ParamError(f"{name} must be true or false, got {raw!r}", field=name)
    return value in ("1", "true")


def _number(args: Mapping[str, str], name: str, low: float, high: float, unit: str = "") -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} must be a number, got {raw!r}", field=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ParamError(f"{name} must be between {low:g} and {high:g}{unit}, got {raw}", field=name)
    return value


def _choice(args: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    value = (args.get(name) or default).strip()
    if value not in options:
        raise ParamError(f"{name} must be one of {', '.join(options)}, got {value!r}", field=name)
    return value


def parse(args: Mapping[str, str], extra: tuple[str, ...] = ()) -> HotspotParams:
    """HotspotParams from query arguments; unknown names are refused so a typo is not ignored."""
    unknown = sorted(k for k in args if k not in KEYS + FILTER_KEYS + extra)
    if unknown:
        raise ParamError(f"{unknown[0]} is not a hotspot parameter", field=unknown[0])
    _choice(args, "method", ("gistar",), "gistar")
    cells = _choice(args, "cells", CELLS, "hex")
    size = _number(args, "size", MIN_SIZE, MAX_SIZE, " metres")
    if size is not None and cells == "grid":
        raise ParamError("size applies to hex and square cells, not to plan grids", field="size")
    resolution = _number(args, "resolution", 0, 15)
    if resolution is not None and (cells != "h3" or resolution != int(resolution)):
        raise ParamError("resolution is a whole number 0-15 for cells=h3", field="resolution")
    if resolution is not None and size is not None:
        raise ParamError("give either size or resolution for H3 cells, not both", field="size")
    permutations = _number(args, "permutations", 99, 9999)
    if permutations is not None and permutations != int(permutations):
        raise ParamError(f"permutations must be a whole number, got {args['permutations']}",
                         field="permutations")
    seed = _number(args, "seed", 0, 2 ** 32 - 1)
    if seed is not None and (seed != int(seed) or permutations is None):
        raise ParamError("seed is a whole number and goes with permutations", field="seed")
    k = _number(args, "k", 1, MAX_K)
    if k is not None and k != int(k):
        raise ParamError(f"k must be a whole number of neighbours, got {args['k']}", field="k")
    distance = _number(args, "distance", 1, 100000, " metres")
    if k is not None and distance is not None:
        raise ParamError("give either k (nearest neighbours) or distance (a band), not both", field="k")
    alpha = _number(args, "alpha", 0.0001, 0.5)
    return HotspotParams(
        cells=cells, size=size, k=None if k is None else int(k), distance=distance,
        alpha=0.05 if alpha is None else alpha, fdr=_flag(args, "fdr", True),
        optimized=_flag(args, "optimized", False), area=(args.get("area") or "").strip() or None,
        plan=(args.get("plan") or "published").strip(),
        weight=_choice(args, "weight", WEIGHT_FIELDS, "none"), mask=_flag(args, "mask", True),
        resolution=None if resolution is None else int(resolution),
        permutations=None if permutations is None else int(permutations),
        seed=0 if seed is None else int(seed))


@dataclass(frozen=True)
class ClusterParams:
    area: str | None = None
    eps: float = 100.0
    minpoints: int = 5


@dataclass(frozen=True)
class DensityParams:
    area: str | None = None
    bandwidth: float | None = None
    cell: float | None = None


def _only(args: Mapping[str, str], keys: tuple[str, ...]) -> None:
    unknown = sorted(k for k in args if k not in keys + FILTER_KEYS + ("lang",))
    if unknown:
        raise ParamError(f"{unknown[0]} is not a parameter here", field=unknown[0])


def _area(args: Mapping[str, str]) -> str | None:
    return (args.get("area") or "").strip() or None


def parse_clusters(args: Mapping[str, str]) -> ClusterParams:
    """DBSCAN parameters: eps (metres) and minpoints (incidents a core point needs)."""
    _only(args, ("area", "eps", "minpoints"))
    eps = _number(args, "eps", 1, 5000, " metres")
    minpoints = _number(args, "minpoints", 2, 1000)
    if minpoints is not None and minpoints != int(minpoints):
        raise ParamError(f"minpoints must be a whole number, got {args['minpoints']}", field="minpoints")
    return ClusterParams(area=_area(args), eps=100.0 if eps is None else eps,
                         minpoints=5 if minpoints is None else int(minpoints))


def parse_density(args: Mapping[str, str]) -> DensityParams:
    """KDE parameters: bandwidth and raster cell in metres (chosen when absent)."""
    _only(args, ("area", "bandwidth", "cell"))
    return DensityParams(area=_area(args), bandwidth=_number(args, "bandwidth", 10, 20000, " metres"),
                         cell=_number(args, "cell", 5, 5000, " metres"))


STEPS = ("day", "week", "month")


@dataclass(frozen=True)
class EmergingParams:
    hotspot: HotspotParams
    step: str = "week"


def parse_emerging(args: Mapping[str, str]) -> EmergingParams:
    """Gi* parameters (hex or square cells) plus the time step of the cube."""
    if (args.get("cells") or "hex") in ("grid", "h3"):
        raise ParamError("emerging hot spots need hex or square cells", field="cells")
    step = _choice(args, "step", STEPS, "week")
    if not args.get("since"):
        raise ParamError("since is required: the cube runs from since to until (default now)",
                         field="since")
    return EmergingParams(hotspot=parse({k: v for k, v in args.items() if k != "step"}), step=step)


@dataclass(frozen=True)
class BacktestParams:
    hotspot: HotspotParams
    split: object = None  # datetime: end of training, start of the test period


def parse_backtest(args: Mapping[str, str], split) -> BacktestParams:
    """Gi* cell parameters plus `split` (already parsed as a time); since and until are needed."""
    if (args.get("cells") or "hex") in ("grid", "h3"):
        raise ParamError("backtests need hex or square cells", field="cells")
    for name in ("since", "split", "until"):
        if not args.get(name):
            raise ParamError(f"{name} is required: train from since to split, test from split "
                             "to until", field=name)
    return BacktestParams(hotspot=parse({k: v for k, v in args.items() if k != "split"}), split=split)
