"""One frozen Settings object read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    home: Path = Path("var")
    port: int = 5000
    tiles: str | None = None
    tiles_attribution: str | None = None
    locale: str = "zh"
    secret_key: str | None = None
    public_read: bool = False
    taxonomy_path: Path | None = None
    timezone: str = "UTC"
    testing: bool = False
    secure_cookies: bool = False  # session cookie only over https (set when served behind TLS)
    proxies: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        port = env.get("MAPAPP_PORT", "5000")
        if not port.isdigit():
            raise ValueError(f"MAPAPP_PORT must be a port number, got {port!r}")
        proxies = env.get("MAPAPP_PROXIES", "0") or "0"
        if not proxies.isdigit():
            raise ValueError(f"MAPAPP_PROXIES must be the number of reverse proxies in front, got {proxies!r}")
        values = dict(
            database_url=env.get("DATABASE_URL") or None,
            home=Path(env.get("MAPAPP_HOME", "var")).resolve(),
            port=int(port),
            tiles=env.get("MAPAPP_TILES") or None,
            tiles_attribution=env.get("MAPAPP_TILES_ATTRIBUTION") or None,
            locale=env.get("MAPAPP_LOCALE", "zh"),
            secret_key=env.get("SECRET_KEY") or None,
            public_read=env.get("MAPAPP_PUBLIC_READ", "").lower() in ("1", "true", "yes", "on"),
            taxonomy_path=Path(env["MAPAPP_TAXONOMY"]) if env.get("MAPAPP_TAXONOMY") else None,
            timezone=env.get("MAPAPP_TIMEZONE", "UTC"),
            secure_cookies=env.get("MAPAPP_SECURE_COOKIES", "").lower() in ("1", "true", "yes", "on"),
            proxies=int(proxies),
        )
        values.update(overrides)
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"MAPAPP_TIMEZONE {values['timezone']!r} is not a time zone (e.g. Asia/Shanghai)") from None
        return cls(**values)
