"""Pure figures for one grid over a period: counts by category, per 1,000 households, open/closed."""
from __future__ import annotations

from mapapp.incidents.taxonomy import Taxonomy


def per_thousand(count: int, households: int) -> float | None:
    """Incidents per 1,000 households; None when the grid has no households to divide by."""
    return round(count * 1000.0 / households, 2) if households > 0 else None


def grid_stats(grid: dict, rows: list[dict], taxonomy: Taxonomy, lang: str) -> dict:
    """Fold per-subcategory rows (category, total, open, closed) into top-level categories."""
    by_top: dict[str, dict] = {}
    for r in rows:
        top = taxonomy.get(r["category"]).top if r["category"] in taxonomy else r["category"]
        slot = by_top.setdefault(top, {"total": 0, "open": 0, "closed": 0})
        for k in ("total", "open", "closed"):
            slot[k] += int(r[k])
    categories = []
    for code, c in sorted(by_top.items(), key=lambda kv: -kv[1]["total"]):
        cat = taxonomy.categories.get(code)
        categories.append({"code": code, "label": cat.label(lang) if cat else code,
                           "color": cat.color if cat else "#777777", **c,
                           "per_1000_households": per_thousand(c["total"], grid["households"])})
    total = sum(c["total"] for c in categories)
    return {
        "total": total,
        "open": sum(c["open"] for c in categories),
        "closed": sum(c["closed"] for c in categories),
        "per_1000_households": per_thousand(total, grid["households"]),
        "by_category": categories,
    }
