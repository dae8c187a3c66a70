"""The one incident filter: parsed once from request parameters, used by every endpoint that
filters incidents (list API, grid stats, and later tiles and hotspots). Pure: no SQL, no Flask."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Mapping

from mapapp.db.models import INCIDENT_STATUSES
from mapapp.errors import ParamError
from mapapp.incidents.taxonomy import Taxonomy

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
OPEN_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled")
_RELATIVE = {"h": "hours", "d": "days"}


@dataclass(frozen=True)
class IncidentFilter:
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    until: datetime | None = None
    categories: tuple[str, ...] = ()
    groups: tuple[str, ...] | None = None  # top-level codes, when categories are exactly whole groups
    statuses: tuple[str, ...] = ()
    grid: str | None = None
    community: str | None = None
    overdue: bool = False
    limit: int = DEFAULT_LIMIT
    after_id: int | None = None

    def next_page(self, last_id: int) -> "IncidentFilter":
        return replace(self, after_id=last_id)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if not raw.startswith("id:"):
            raise ValueError
        return int(raw[3:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ParamError("cursor is not a cursor returned by this API", field="cursor") from None


def parse_time(value: str, field: str, now: datetime | None = None) -> datetime:
    """ISO 8601 date or datetime (naive = UTC), or a relative span like 24h / 7d (before now)."""
    value = value.strip()
    if value and value[-1] in _RELATIVE and value[:-1].isdigit():
        now = now or datetime.now(timezone.utc)
        return now - timedelta(**{_RELATIVE[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(f"{field} must be an ISO 8601 date/time (e.g. 2026-11-01 or "
                         f"2026-11-01T08:00:00Z) or a span like 24h or 7d, got {value!r}",
                         field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    parts = value.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise ParamError("bbox must be four numbers minx,miny,maxx,maxy (lon/lat)",
                         field="bbox") from None
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise ParamError("bbox is out of lon/lat range (lon -180..180, lat -90..90)", field="bbox")
    if minx >= maxx or miny >= maxy:
        raise ParamError("bbox must have minx < maxx and miny < maxy", field="bbox")
    return minx, miny, maxx, maxy


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def parse(args: Mapping[str, str], taxonomy: Taxonomy, *, now: datetime | None = None,
          allowed: frozenset[str] | None = None) -> IncidentFilter:
    """Build a filter from query parameters; a bad one raises ParamError naming it."""
    known = {"bbox", "since", "until", "category", "status", "grid", "community", "overdue", "limit",
             "cursor"}
    if allowed is not None:
        unsupported = sorted(k for k in args if k in known and k not in allowed)
        if unsupported:
            raise ParamError(f"{unsupported[0]} is not supported here", field=unsupported[0])
    kw: dict = {}  # gathered, then one IncidentFilter: every tile request parses a filter
    if args.get("bbox"):
        kw["bbox"] = parse_bbox(args["bbox"])
    if args.get("since"):
        kw["since"] = parse_time(args["since"], "since", now)
    if args.get("until"):
        kw["until"] = parse_time(args["until"], "until", now)
    if kw.get("since") and kw.get("until") and kw["since"] >= kw["until"]:
        raise ParamError("since must be before until", field="since")
    cats = _csv(args.get("category"))
    for c in cats:
        if c not in taxonomy:
            raise ParamError(f"unknown category {c!r}", field="category")
    if cats:
        kw["categories"] = tuple(taxonomy.expand(cats))
        tops = sorted({c.split(".")[0] for c in cats})
        if taxonomy.expand(tops) == list(kw["categories"]):
            kw["groups"] = tuple(tops)
    statuses = _csv(args.get("status"))
    for s in statuses:
        if s not in INCIDENT_STATUSES and s != "open":
            raise ParamError(f"unknown status {s!r}; use one of {', '.join(INCIDENT_STATUSES)} "
                             "or open", field="status")
    if statuses:
        kw["statuses"] = tuple(sorted({x for s in statuses for x in (OPEN_STATUSES if s == "open" else (s,))}))
    if args.get("grid"):
        kw["grid"] = args["grid"].strip()
    if args.get("community"):
        kw["community"] = args["community"].strip()
    if args.get("overdue"):
        flag = args["overdue"].strip().lower()
        if flag not in ("1", "true", "0", "false"):
            raise ParamError("overdue must be true or false", field="overdue")
        kw["overdue"] = flag in ("1", "true")
    if args.get("limit"):
        raw = args["limit"]
        if not raw.isdigit() or int(raw) < 1:
            raise ParamError(f"limit must be a positive integer, got {raw!r}", field="limit")
        kw["limit"] = min(int(raw), MAX_LIMIT)
    if args.get("cursor"):
        kw["after_id"] = _decode_cursor(args["cursor"])
    return IncidentFilter(**kw)
