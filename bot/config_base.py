"""What reading settings needs everywhere: the error that names the variable, and the
small readers of one value (the environment itself is read in :mod:`bot.config`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """A setting has a value that cannot be used; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: must be a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: must be between {lo} and {hi}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false")


def _opt(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw.strip() if raw and raw.strip() else None


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = _opt(env, name)
    if raw is None:
        return None
    if not Path(raw).is_file():
        raise ConfigError(f"{name}={raw!r}: no such file")
    return Path(raw)
