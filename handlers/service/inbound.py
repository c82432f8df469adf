"""The inbound mail queue: every message is committed raw before ``250``, then settled."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from store import Store

__all__ = [
    "accept_inbound",
    "accept_inbound_batch",
    "processing",
    "purge_raw_mail",
    "requeue_inbound",
    "settle_inbound",
]


def accept_inbound(
    store: Store,
    *,
    raw: bytes,
    mail_from: str | None,
    rcpt_tos: list[str],
    message_id: str | None,
    source: str = "smtp",
    received_at: dt.datetime | None = None,
    peer: str | None = None,
) -> int:
    """Commit one raw message, pending; its id. Raises ``StoreUnavailable`` (answer 451)."""
    with store.transaction():
        return store.insert_inbound(
            raw=raw,
            mail_from=mail_from,
            rcpt_tos=rcpt_tos,
            source=source,
            message_id=message_id,
            received_at=received_at,
            peer=peer,
        )


def accept_inbound_batch(store: Store, items: list[dict[str, Any]]) -> list[int]:
    """Commit several raw messages in one transaction (SMTP's group commit); their ids, in
    order. All or none: a failure leaves none of them stored."""
    with store.transaction():
        return [
            store.insert_inbound(
                raw=item["raw"],
                mail_from=item.get("mail_from"),
                rcpt_tos=item["rcpt_tos"],
                message_id=item.get("message_id"),
                source=item.get("source", "smtp"),
                peer=item.get("peer"),
            )
            for item in items
        ]


def settle_inbound(
    store: Store,
    inbound_id: int,
    state: str,
    *,
    reason: str | None = None,
    correspondence_id: int | None = None,
    purge_after: dt.datetime | None = None,
    forget: tuple[str, bytes | None] | None = None,
    purpose: str | None = None,
    fingerprint: str | None = None,
) -> None:
    """Record what became of a message (counted, quarantined, …) and, for Message-ID
    dedup, its purpose and fingerprint, in the caller's transaction when there is one, so
    the outcome and its effects commit together. ``forget`` is its recipients and raw copy
    without the personal codes they held."""
    with store.transaction():
        store.set_inbound_state(
            inbound_id,
            state,
            reason=reason,
            correspondence_id=correspondence_id,
            purge_after=purge_after,
            purpose=purpose,
            fingerprint=fingerprint,
        )
        if forget is not None:
            store.rewrite_inbound(inbound_id, rcpt_tos=forget[0], raw=forget[1])


@contextlib.contextmanager
def processing(store: Store) -> Iterator[None]:
    """One message's processing as one transaction: what it records (a count, an answer, an
    update) and :func:`settle_inbound` commit together, or not at all."""
    with store.transaction():
        yield


def requeue_inbound(store: Store, inbound_id: int) -> None:
    """Put a message under review back in the queue, to be processed again."""
    with store.transaction():
        store.requeue_inbound(inbound_id)


def purge_raw_mail(store: Store, now: dt.datetime) -> int:
    """Drop raw copies past their retention; the metadata stays."""
    with store.transaction():
        return store.purge_raw(now)
