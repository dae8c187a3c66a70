"""User-visible strings: zh (default) and en. A missing key falls back to zh, then to the key."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGS = ("zh", "en")
_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    return json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def translate(key: str, lang: str, **values) -> str:
    text = catalog(lang).get(key) or catalog("zh").get(key) or key
    return text.format(**values) if values else text


def normalise(lang: str | None, default: str = "zh") -> str:
    if not lang:
        return default
    lang = lang.lower().split("-")[0].split("_")[0]
    return lang if lang in LANGS else default
