"""The incident taxonomy: categories with subcategories, colours and default deadlines.

The default lives in taxonomy.json beside this module; MAPAPP_TAXONOMY points at a replacement
of the same shape. A subcategory inherits colour and deadline from its parent unless it sets its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("taxonomy.json")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    color: str
    deadline_hours: float
    parent: str | None

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    @property
    def top(self) -> str:
        return self.parent or self.code


@dataclass(frozen=True)
class Taxonomy:
    categories: dict[str, Category]

    def __contains__(self, code: str) -> bool:
        return code in self.categories

    def get(self, code: str) -> Category:
        try:
            return self.categories[code]
        except KeyError:
            raise KeyError(f"unknown category {code!r}") from None

    def tops(self) -> list[Category]:
        return [c for c in self.categories.values() if c.parent is None]

    def children(self, code: str) -> list[Category]:
        return [c for c in self.categories.values() if c.parent == code]

    def expand(self, codes: list[str]) -> list[str]:
        """A top-level code stands for itself and all its subcategories."""
        out: list[str] = []
        for code in codes:
            self.get(code)
            out.append(code)
            out.extend(c.code for c in self.children(code))
        return sorted(set(out))

    def as_json(self, lang: str) -> list[dict]:
        return [{"code": t.code, "label": t.label(lang), "color": t.color,
                 "deadline_hours": t.deadline_hours,
                 "children": [{"code": c.code, "label": c.label(lang), "color": c.color,
                               "deadline_hours": c.deadline_hours} for c in self.children(t.code)]}
                for t in self.tops()]


def parse(data: dict) -> Taxonomy:
    cats: dict[str, Category] = {}
    if not isinstance(data.get("categories"), list) or not data["categories"]:
        raise TaxonomyError("taxonomy needs a non-empty 'categories' list")
    for i, top in enumerate(data["categories"]):
        where = f"categories[{i}]"
        for key in ("code", "zh", "en", "color", "deadline_hours"):
            if key not in top:
                raise TaxonomyError(f"{where} is missing {key!r}")
        if not _COLOR.fullmatch(str(top["color"])):
            raise TaxonomyError(f"{where}.color must be #rrggbb, got {top['color']!r}")
        entries = [(top, None)] + [(c, top) for c in top.get("children", [])]
        for entry, parent in entries:
            code = entry.get("code")
            if not code or code in cats:
                raise TaxonomyError(f"{where}: missing or duplicate code {code!r}")
            if parent is not None and not code.startswith(parent["code"] + "."):
                raise TaxonomyError(f"{where}: subcategory {code!r} must start with "
                                    f"{parent['code'] + '.'!r}")
            hours = entry.get("deadline_hours", (parent or entry).get("deadline_hours"))
            if not isinstance(hours, (int, float)) or hours <= 0:
                raise TaxonomyError(f"{where}: {code!r} deadline_hours must be a positive number")
            cats[code] = Category(code=code, zh=entry.get("zh", code), en=entry.get("en", code),
                                  color=entry.get("color", (parent or entry)["color"]),
                                  deadline_hours=float(hours),
                                  parent=parent["code"] if parent else None)
    return Taxonomy(cats)


@lru_cache(maxsize=4)
def load(path: Path | None = None) -> Taxonomy:
    path = Path(path) if path else DEFAULT_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaxonomyError(f"cannot read taxonomy {path}: {exc}") from exc
    return parse(data)
