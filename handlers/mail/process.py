"""Processing a stored message, whatever brought it: route it by address, then count it as
correspondence, record the update it carries, match the reply it is, or quarantine it.

Parsing happens from the stored copy, so a message that cannot be parsed is kept in
quarantine and never lost. Runs on the store's thread, in one transaction per message.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from typing import Any

from handlers.mail.analysis import Analysis, ParseJob, analyse, checksum
from handlers.mail.parse import (
    Original,
    category_for,
    content_key,
    domain_of,
    extract_original,
    header,
    keyed_hash,
    message_date,
    message_id_of,
    noise_reason,
    normalise_subject,
    parse_message,
    reference_ids,
    sender_address,
    text_body,
    unreadable_reason,
)
from handlers.mail.policy import MailPolicy, ProcessResult
from handlers.mail.redirect import unaccounted_sender
from handlers.mail.routing import (
    DIFFERS,
    LOCAL_PARTS,
    Delivery,
    classify_address,
    delivery_of,
    redelivery,
)
from handlers.mail.trust import forget_codes, forgotten_copy
from handlers.mail.updates import process_update
from handlers.service import (
    CorrespondenceRequest,
    accept_inbound,
    processing,
    record_answer,
    record_correspondence,
    settle_inbound,
)
from store import Store, StoreUnavailable, is_corruption

__all__ = [
    "DONE_STATES",
    "LOCAL_PARTS",
    "REVIEW_STATES",
    "Delivery",
    "accept_message",
    "classify_address",
    "delivery_of",
    "job_of",
    "process_inbound",
    "process_inbound_batch",
    "sender_allowed",
]

log = logging.getLogger(__name__)

DONE_STATES = (
    "counted",
    "duplicate",
    "noise",
    "update",
    "update_refused",
    "reply",
    "postmaster",
    "redelivered",
)
REVIEW_STATES = ("quarantined", "unmatched_reply", DIFFERS)


def sender_allowed(address: str, staff: set[str], allowed: Iterable[str]) -> bool:
    address = address.lower()
    if address in staff:
        return True
    domain = domain_of(address) or ""
    for entry in allowed:
        if entry.startswith("@") and domain == entry[1:]:
            return True
        if entry == address:
            return True
    return False


# -- processing (sync, on the store's thread) --------------------------------------------


def _received_day(msg_date: dt.datetime | None, fallback: dt.datetime, tz: dt.tzinfo) -> dt.date:
    when = msg_date or fallback
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(tz).date()


def _process_correspondence(
    store: Store,
    inbound_id: int,
    msg: EmailMessage,
    plus: str | None,
    sender: str,
    received_at: dt.datetime,
    policy: MailPolicy,
    staff: set[str],
) -> ProcessResult:
    from_staff = sender_allowed(sender, staff, policy.allowed_senders) if sender else False
    original = extract_original(msg)
    refs = reference_ids(msg)
    subject = header(msg, "Subject")
    is_reply = bool(refs) or bool(re.match(r"^\s*re\s*:", subject, re.IGNORECASE))
    if original is None and from_staff and is_reply:
        target = store.correspondence_by_message_ids(refs) or store.correspondence_by_subject_key(
            normalise_subject(subject)
        )
        if target is None:
            return ProcessResult("unmatched_reply", "a reply that matches no correspondence")
        day = _received_day(message_date(msg), received_at, policy.office.tz)
        record_answer(store, int(target["id"]), day)
        return ProcessResult("reply", f"answered on {day}", correspondence_id=int(target["id"]))

    flags: list[str] = []
    forwarder: str | None = sender if from_staff else None
    if original is None:
        # Mail straight from a correspondent (e.g. a backfilled inbox), or a forward whose
        # original we cannot see: count the message itself, flagged.
        own_id = re.search(r"<[^<>\s]+>", header(msg, "Message-ID"))
        original = Original(
            sender=sender,
            date=message_date(msg),
            subject=subject,
            body=text_body(msg),
            message_id=own_id.group(0).lower() if own_id else None,
        )
        if from_staff:
            flags.append("no-original")
    if not (original.sender or original.subject.strip() or original.body.strip()):
        return ProcessResult("quarantined", "no sender, subject or text to count")
    key = f"mid:{original.message_id}" if original.message_id else content_key(original)
    return _count(
        store, inbound_id, original, key, plus, subject, forwarder, flags, received_at, policy
    )


def _count(
    store: Store,
    inbound_id: int,
    original: Original,
    key: str,
    plus: str | None,
    subject: str,
    forwarder: str | None,
    flags: list[str],
    received_at: dt.datetime,
    policy: MailPolicy,
    *,
    subject_key: str | None = None,
) -> ProcessResult:
    if subject_key is None:
        subject_key = normalise_subject(original.subject)
    sender_domain = domain_of(original.sender) if original.sender else None
    category = category_for(
        plus=plus,
        subject=f"{subject} {original.subject}",
        sender_domain=sender_domain,
        rules=policy.category_rules,
    )
    outcome = record_correspondence(
        store,
        CorrespondenceRequest(
            dedup_key=key,
            received_on=_received_day(original.date, received_at, policy.office.tz),
            category=category,
            forwarder=forwarder,
            sender_domain=sender_domain,
            sender_hash=keyed_hash(policy.hash_key, original.sender) if original.sender else None,
            subject=(original.subject or None) if policy.keep_subjects else None,
            subject_key=subject_key or None,
            message_id=original.message_id,
            inbound_id=inbound_id,
            flags=tuple(flags),
            recorded_at=policy.office.now(),
        ),
    )
    state = "duplicate" if outcome.duplicate else "counted"
    return ProcessResult(
        state, f"{category}; {key[:60]}", correspondence_id=outcome.correspondence_id
    )


def accept_message(
    store: Store,
    raw: bytes,
    *,
    mail_from: str | None,
    rcpt_tos: list[str],
    source: str = "smtp",
    skip_seen: MailPolicy | None = None,
) -> int | None:
    """The one way mail comes in, for SMTP and ``mail import`` alike: commit the raw
    message, pending, and return its id for :func:`process_inbound`.

    With ``skip_seen`` (a backfill run again, with its policy), a message already processed
    in the same mailbox, with the same Message-ID and content, is not stored twice: ``None``.
    """
    message_id = message_id_of(raw)
    if skip_seen is not None and message_id:
        delivery = delivery_of(raw, rcpt_tos, skip_seen)
        seen = store.delivered_fingerprints(message_id, delivery.purpose) if delivery else []
        if delivery is not None and delivery.fingerprint in seen:
            return None
    return accept_inbound(
        store,
        raw=raw,
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        message_id=message_id,
        source=source,
    )


def job_of(row: dict[str, Any]) -> ParseJob:
    """What parsing a stored message needs from its row."""
    return ParseJob(
        inbound_id=int(row["id"]),
        raw=row["raw"],
        mail_from=row["mail_from"],
        rcpt_tos=tuple(r for r in (row["rcpt_tos"] or "").split(",") if r),
        source=row["source"],
        peer=row.get("peer"),
    )


def process_inbound_batch(
    store: Store,
    items: Sequence[tuple[int, Analysis | None]],
    policy: MailPolicy,
    *,
    budget: float | None = None,
) -> list[ProcessResult]:
    """:func:`process_inbound` for each ``(id, analysis)`` in turn, in one transaction (each
    message in a savepoint of its own, so bad mail is quarantined alone). A store that
    cannot commit raises :class:`StoreUnavailable` and leaves every one of them pending.

    With a ``budget`` (seconds), the transaction ends once it has taken that long, so the
    write lock is never held long (a health probe, an import, a sender's commit wait for
    it): the results are then those of the first items only, and the caller sends the rest
    again."""
    deadline = None if budget is None else time.monotonic() + budget
    results: list[ProcessResult] = []
    staff: dict[str, set[str]] = {}  # the staff's addresses, read once a batch
    with processing(store):
        for inbound_id, found in items:
            result = process_inbound(store, inbound_id, policy, analysis=found, staff=staff)
            results.append(result)
            if result.state.startswith("update"):
                staff.clear()  # an update may change who is who: read them again
            if deadline is not None and time.monotonic() >= deadline:
                break
    return results


def _staff(store: Store, kept: dict[str, set[str]] | None) -> set[str]:
    """The staff's addresses, lower-cased (from ``kept`` once read there)."""
    if kept is None:
        return {p.email.lower() for p in store.people()}
    if "staff" not in kept:
        kept["staff"] = {p.email.lower() for p in store.people()}
    return kept["staff"]


def process_inbound(
    store: Store,
    inbound_id: int,
    policy: MailPolicy,
    *,
    now: dt.datetime | None = None,
    analysis: Analysis | None = None,
    staff: dict[str, set[str]] | None = None,
) -> ProcessResult:
    """Parse one pending message and count it, apply it, or quarantine it. Never raises for
    bad mail; a store that is unavailable raises :class:`StoreUnavailable` (retry later).
    A message already processed (queued twice) is left as it is.

    ``analysis`` is what a parse pool read from this message's stored copy; without it (or
    when it was read from another copy) the message is parsed here. ``staff`` keeps the
    staff's addresses between the messages of one batch."""
    now = now or policy.office.now()
    row: dict[str, Any] | None = None
    try:
        with processing(store):
            row = store.inbound(inbound_id)
            if row is None:
                return ProcessResult("missing", f"no inbound message {inbound_id}")
            if row["state"] != "pending":
                return ProcessResult(row["state"], "already processed")
            if row["raw"] is None:
                return ProcessResult(row["state"], "raw copy already purged")
            if analysis is None or analysis.checksum != checksum(row["raw"]):
                job = job_of(row)
                analysis = analyse(job, policy.mail_domain, policy.hash_key, policy.trusted_peers)
            if analysis is not None:
                delivery = analysis.delivery
                result = _decide(store, inbound_id, row, policy, analysis, staff)
            else:  # parsing failed somewhere: step by step, so the reason is the usual one
                recipients = [r for r in (row["rcpt_tos"] or "").split(",") if r]
                delivery = delivery_of(row["raw"], recipients, policy)
                result = _classify(store, inbound_id, row, policy, delivery)
            purge = None
            if result.state in DONE_STATES and not policy.keep_raw:
                purge = now + dt.timedelta(days=policy.retention_days)
            settle_inbound(
                store,
                inbound_id,
                result.state,
                reason=forget_codes(result.detail)[:500],
                correspondence_id=result.correspondence_id,
                purge_after=purge,
                forget=forgotten_copy(row["rcpt_tos"], row["raw"]),
                purpose=delivery.purpose if delivery else None,
                fingerprint=delivery.fingerprint if delivery else None,
            )
        return result
    except StoreUnavailable:
        raise
    except sqlite3.Error as exc:
        # Inside a batch's transaction the store's errors come as they are: "try again
        # later" is for the batch to say (StoreUnavailable), as it is for a message alone.
        if isinstance(exc, sqlite3.OperationalError) or is_corruption(exc):
            raise
        return _quarantine(store, inbound_id, row, exc)
    except Exception as exc:  # a bug or mail we cannot read: keep it for review
        return _quarantine(store, inbound_id, row, exc)


def _quarantine(
    store: Store, inbound_id: int, row: dict[str, Any] | None, exc: Exception
) -> ProcessResult:
    log.warning("quarantined inbound %s: %s", inbound_id, type(exc).__name__)
    reason = forget_codes(f"cannot process: {type(exc).__name__}: {exc}")[:500]
    forget = forgotten_copy(row["rcpt_tos"], row["raw"]) if row is not None else None
    settle_inbound(store, inbound_id, "quarantined", reason=reason, forget=forget)
    return ProcessResult("quarantined", reason)


def _classify(
    store: Store,
    inbound_id: int,
    row: dict[str, Any],
    policy: MailPolicy,
    delivery: Delivery | None,
) -> ProcessResult:
    raw: bytes = row["raw"]
    msg = parse_message(raw)
    unreadable = unreadable_reason(msg)
    if unreadable:
        return ProcessResult("quarantined", unreadable)
    mail_from = row["mail_from"]
    noise = noise_reason(msg, mail_from)
    if noise:
        return ProcessResult("noise", noise)
    if delivery is None:
        return ProcessResult("quarantined", f"no mailbox of ours among {row['rcpt_tos']}")
    again = redelivery(store, row, delivery, policy)
    if again is not None:
        return again
    mailbox, plus = delivery.mailbox, delivery.plus
    sender = sender_address(msg) or (mail_from or "").lower()
    received_at = dt.datetime.fromisoformat(row["received_at"])
    if mailbox == "postmaster":
        return ProcessResult("postmaster", "kept for the postmaster")
    if mailbox in ("updates", "update"):
        return process_update(store, msg, plus, policy, peer=row.get("peer"))
    envelope = (mail_from or "").strip("<>").lower()
    from_header = sender_address(msg)
    if row["source"] == "smtp" and envelope and from_header and envelope != from_header:
        # The allowlist is checked on the envelope; a From that names someone else could
        # borrow an allowed sender's standing. Unless it is a redirect by the envelope
        # sender or a trusted relay's forward, keep it for review rather than count it.
        unaccounted = unaccounted_sender(
            msg,
            envelope=envelope,
            from_header=from_header,
            peer=row.get("peer"),
            trusted_peers=policy.trusted_peers,
        )
        if unaccounted:
            return ProcessResult("quarantined", unaccounted)
    staff = {p.email.lower() for p in store.people()}
    return _process_correspondence(store, inbound_id, msg, plus, sender, received_at, policy, staff)


def _decide(
    store: Store,
    inbound_id: int,
    row: dict[str, Any],
    policy: MailPolicy,
    found: Analysis,
    kept: dict[str, set[str]] | None = None,
) -> ProcessResult:
    """:func:`_classify`'s decisions, in its order, from what parsing found."""
    if found.unreadable:
        return ProcessResult("quarantined", found.unreadable)
    if found.noise:
        return ProcessResult("noise", found.noise)
    delivery = found.delivery
    if delivery is None:
        return ProcessResult("quarantined", f"no mailbox of ours among {row['rcpt_tos']}")
    again = redelivery(store, row, delivery, policy)
    if again is not None:
        return again
    mailbox, plus = delivery.mailbox, delivery.plus
    if mailbox == "postmaster":
        return ProcessResult("postmaster", "kept for the postmaster")
    if mailbox in ("updates", "update"):
        return process_update(store, parse_message(row["raw"]), plus, policy, peer=row.get("peer"))
    if found.unaccounted:
        return ProcessResult("quarantined", found.unaccounted)
    assert found.own is not None
    received_at = dt.datetime.fromisoformat(row["received_at"])
    staff = _staff(store, kept)
    sender = found.sender
    from_staff = sender_allowed(sender, staff, policy.allowed_senders) if sender else False
    subject = found.subject
    is_reply = bool(found.refs) or bool(re.match(r"^\s*re\s*:", subject, re.IGNORECASE))
    if found.forwarded is None and from_staff and is_reply:
        refs = list(found.refs)
        target = store.correspondence_by_message_ids(refs) or store.correspondence_by_subject_key(
            found.subject_key
        )
        if target is None:
            return ProcessResult("unmatched_reply", "a reply that matches no correspondence")
        day = _received_day(found.date, received_at, policy.office.tz)
        record_answer(store, int(target["id"]), day)
        return ProcessResult("reply", f"answered on {day}", correspondence_id=int(target["id"]))
    flags: list[str] = []
    forwarder: str | None = sender if from_staff else None
    original = found.forwarded
    if original is None:
        original = found.own
        if from_staff:
            flags.append("no-original")
    if not (original.sender or original.subject.strip() or original.body.strip()):
        return ProcessResult("quarantined", "no sender, subject or text to count")
    return _count(
        store,
        inbound_id,
        original,
        found.key,
        plus,
        subject,
        forwarder,
        flags,
        received_at,
        policy,
        subject_key=found.original_subject_key,
    )
