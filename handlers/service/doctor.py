"""Repairing what the database derives from its history (``deliverabot doctor --repair``)."""

from __future__ import annotations

from store import Store

__all__ = ["repair_current_state"]


def repair_current_state(store: Store) -> int:
    """Rebuild the maintained current state from the append-only history, in one
    transaction; returns how many deliverables it holds."""
    with store.transaction():
        return store.rebuild_current_state()
