"""Settings the database keeps for itself, report snapshots, and housekeeping."""

from __future__ import annotations

import secrets
from typing import Any

from store import Store

__all__ = ["checkpoint", "freeze_report", "stored_hash_key"]


def stored_hash_key(store: Store) -> str:
    """The key for hashing correspondents' addresses, made once and kept in the database
    (used only when ``CORRESPONDENCE_HASH_KEY`` is not set)."""
    with store.transaction():
        key = store.get_meta("correspondence_hash_key")
        if key is None:
            key = secrets.token_hex(32)
            store.set_meta("correspondence_hash_key", key)
    return key


def freeze_report(store: Store, name: str, data: dict[str, Any]) -> None:
    """Keep the exact data behind a panel paper under ``name``."""
    with store.transaction():
        store.save_snapshot(name, data)


def checkpoint(store: Store) -> None:
    """Fold the write-ahead log back into the database file (nightly)."""
    store.checkpoint()
