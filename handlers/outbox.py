"""The outbox folder: what could not be delivered, or had nowhere to go, kept as files.

Every channel falls back to it (a digest Slack could not take, mail the relay refused), so
nothing is lost and ``deliverabot digest --retry`` can send it again.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

__all__ = ["write_outbox"]


def write_outbox(outbox: Path, name: str, data: bytes | str, suffix: str) -> Path:
    """Write one undeliverable item to the outbox folder; returns its path."""
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60] or "item"
    path = outbox / f"{stamp}-{slug}{suffix}"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path
