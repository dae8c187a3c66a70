"""A patrol plan request: read from plain JSON, every bad value named by its field."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mapapp.errors import ParamError
from mapapp.patrol.candidates import SOURCES
from mapapp.patrol.network import MODES

MAX_TEAMS = 20
MAX_TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class PlanRequest:
    area: dict
    start: tuple[float, float] | None = None
    end: tuple[float, float] | None = None
    teams: int = 1
    mode: str = "foot"
    shift_minutes: float = 240.0
    dwell_minutes: float = 15.0
    revisit_minutes: float | None = None
    time_limit: float | None = None  # seconds for the solver; None: chosen from the instance's size
    sources: tuple[str, ...] = ("places", "incidents")
    max_candidates: int = 300
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def as_json(self) -> dict:
        return {"area": self.area, "start": self.start, "end": self.end, "teams": self.teams,
                "mode": self.mode, "shift_minutes": self.shift_minutes,
                "dwell_minutes": self.dwell_minutes, "revisit_minutes": self.revisit_minutes,
                "time_limit": self.time_limit, "sources": list(self.sources),
                "max_candidates": self.max_candidates, "start_time": self.start_time.isoformat()}


def _number(body: dict, key: str, default, low: float, high: float, integer: bool = False):
    value = body.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(f"{key} must be a number", field=key)
    if integer and value != int(value):
        raise ParamError(f"{key} must be a whole number", field=key)
    if not low <= value <= high:
        raise ParamError(f"{key} must be between {low:g} and {high:g}", field=key)
    return int(value) if integer else float(value)


def _point(body: dict, key: str) -> tuple[float, float] | None:
    value = body.get(key)
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ParamError(f"{key} must be [lon, lat]", field=key)
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ParamError(f"{key} is not a lon/lat position: [{lon}, {lat}]", field=key)
    return lon, lat


def _area(body: dict) -> dict:
    area = body.get("area")
    if not isinstance(area, dict) or len(area) != 1:
        raise ParamError("area must be one of {\"grids\": [codes]}, {\"community\": code} "
                         "or {\"polygon\": GeoJSON geometry}", field="area")
    (kind, value), = area.items()
    if kind == "grids":
        if (not isinstance(value, list) or not value or len(value) > 500
                or not all(isinstance(c, str) and c for c in value)):
            raise ParamError("area.grids must be a list of grid codes", field="area.grids")
    elif kind == "community":
        if not isinstance(value, str) or not value:
            raise ParamError("area.community must be an admin area code", field="area.community")
    elif kind == "polygon":
        if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ParamError("area.polygon must be a GeoJSON Polygon or MultiPolygon",
                             field="area.polygon")
        value = json.loads(json.dumps(value))
    else:
        raise ParamError(f"unknown area kind {kind!r}; use grids, community or polygon", field="area")
    return {kind: value}


def parse_request(body: object) -> PlanRequest:
    """A PlanRequest from a JSON body; ParamError naming the field otherwise."""
    if not isinstance(body, dict):
        raise ParamError("send a JSON object", field="body")
    mode = body.get("mode", "foot")
    if mode not in MODES:
        raise ParamError(f"mode must be one of {', '.join(MODES)}", field="mode")
    sources = body.get("sources", ["places", "incidents"])
    if (not isinstance(sources, list) or not sources or any(s not in SOURCES for s in sources)):
        raise ParamError(f"sources must be a list drawn from {', '.join(SOURCES)}", field="sources")
    start_time = body.get("start_time")
    if start_time is not None:
        try:
            start_time = datetime.fromisoformat(str(start_time))
        except ValueError:
            raise ParamError("start_time must be an ISO 8601 time", field="start_time") from None
        if start_time.tzinfo is None:
            start_time = start_time.replace(tzinfo=UTC)
    shift = _number(body, "shift_minutes", 240, 10, 24 * 60)
    revisit = _number(body, "revisit_minutes", None, 15, 24 * 60)
    start = _point(body, "start")
    extra = {"start_time": start_time} if start_time else {}
    return PlanRequest(
        area=_area(body), start=start, end=_point(body, "end") or start,
        teams=_number(body, "teams", 1, 1, MAX_TEAMS, integer=True), mode=mode,
        shift_minutes=shift, dwell_minutes=_number(body, "dwell_minutes", 15, 0, shift),
        revisit_minutes=revisit,
        time_limit=_number(body, "time_limit", None, 0.1, MAX_TIME_LIMIT_S),
        sources=tuple(dict.fromkeys(sources)),
        max_candidates=_number(body, "max_candidates", 300, 1, 1000, integer=True), **extra)
