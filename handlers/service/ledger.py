"""The delivery ledger: each digest or reminder claimed once, with a token and a lease."""

from __future__ import annotations

import datetime as dt

from store import Store

__all__ = [
    "claim_delivery",
    "mark_delivered",
    "mark_undelivered",
    "reclaim_delivery",
    "warn_delivery",
]


def claim_delivery(
    store: Store, kind: str, period: str, destination: str, *, now: dt.datetime
) -> str | None:
    """The claim's token, or ``None`` when someone (any process) claimed it first."""
    with store.transaction():
        return store.claim(kind, period, destination, now=now)


def reclaim_delivery(store: Store, ledger_id: int, *, now: dt.datetime) -> str | None:
    """Take over a failed delivery or an expired claim; ``None`` for one still in flight."""
    with store.transaction():
        return store.reclaim(ledger_id, now=now)


def mark_delivered(
    store: Store, kind: str, period: str, destination: str, reference: str, *, token: str
) -> bool:
    with store.transaction():
        return store.mark_sent(kind, period, destination, reference, token=token)


def mark_undelivered(
    store: Store, kind: str, period: str, destination: str, error: str, *, token: str
) -> bool:
    with store.transaction():
        return store.mark_failed(kind, period, destination, error, token=token)


def warn_delivery(store: Store, kind: str, period: str, destination: str, warning: str) -> None:
    """Something extra failed after the delivery itself succeeded (the chart, say)."""
    with store.transaction():
        store.add_ledger_warning(kind, period, destination, warning)
