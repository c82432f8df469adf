"""Correspondence: each piece counted once, whoever forwards it, and when it was answered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from handlers.service.errors import ValidationError
from store import CORRESPONDENCE_CATEGORIES, Store, utc_now

__all__ = [
    "CorrespondenceOutcome",
    "CorrespondenceRequest",
    "record_answer",
    "record_correspondence",
]


@dataclass(frozen=True)
class CorrespondenceRequest:
    dedup_key: str
    received_on: dt.date
    category: str = "public"
    forwarder: str | None = None  # the address that forwarded it
    sender_domain: str | None = None
    sender_hash: str | None = None
    subject: str | None = None
    message_id: str | None = None
    subject_key: str | None = None
    inbound_id: int | None = None
    flags: tuple[str, ...] = field(default=())
    recorded_at: dt.datetime | None = None


@dataclass(frozen=True)
class CorrespondenceOutcome:
    correspondence_id: int
    duplicate: bool
    forwarders: list[str]


def record_correspondence(store: Store, request: CorrespondenceRequest) -> CorrespondenceOutcome:
    """Count one piece of correspondence once; a repeat only adds its forwarder."""
    if request.category not in CORRESPONDENCE_CATEGORIES:
        raise ValidationError(
            f"Unknown category {request.category!r}; use one of "
            f"{', '.join(CORRESPONDENCE_CATEGORIES)}.",
            field="category",
        )
    if not request.dedup_key:
        raise ValidationError("A correspondence item needs a dedup key.", field="dedup_key")
    now = request.recorded_at or utc_now()
    with store.transaction():
        existing = store.find_correspondence(request.dedup_key)
        if existing is not None:
            cid = int(existing["id"])
            duplicate = True
        else:
            forwarder_person = (
                store.person_by_email(request.forwarder) if request.forwarder else None
            )
            cid = store.insert_correspondence(
                {
                    "dedup_key": request.dedup_key,
                    "received_on": request.received_on.isoformat(),
                    "category": request.category,
                    "forwarder_id": forwarder_person.id if forwarder_person else None,
                    "sender_domain": request.sender_domain,
                    "sender_hash": request.sender_hash,
                    "subject": request.subject,
                    "flags": ",".join(request.flags) or None,
                    "message_id": request.message_id,
                    "subject_key": request.subject_key,
                    "inbound_id": request.inbound_id,
                    "recorded_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
                }
            )
            duplicate = False
        if request.forwarder:
            store.add_forward(cid, request.forwarder.lower(), now)
        forwarders = store.forwarders(cid)
    return CorrespondenceOutcome(correspondence_id=cid, duplicate=duplicate, forwarders=forwarders)


def record_answer(store: Store, correspondence_id: int, day: dt.date) -> bool:
    """Record the day a piece of correspondence was answered (the earliest reply wins)."""
    with store.transaction():
        return store.mark_answered(correspondence_id, day)
