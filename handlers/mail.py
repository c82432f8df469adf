"""Inbound mail: the aiosmtpd handler and the processing of stored messages.

The SMTP conversation decides as early as it can (unknown mailbox and unknown sender at
RCPT, size at MAIL/DATA) and answers ``250`` only once the raw message is committed; a
store that cannot commit gets ``451 4.3.0`` so the sending server retries. Parsing happens
afterwards, from the stored copy, so a message that cannot be parsed is kept in quarantine
and never lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from email.message import EmailMessage
from typing import Any

from handlers.mail_intake import PENDING_PAGE, GroupCommit, ParseQueue, storage_failure
from handlers.mail_policy import MailPolicy, ProcessResult
from handlers.mail_redirect import unaccounted_sender
from handlers.mail_routing import (
    DIFFERS,
    LOCAL_PARTS,
    Delivery,
    classify_address,
    delivery_of,
    redelivery,
)
from handlers.mail_smtp import DeliverabotSMTP, SessionCap
from handlers.mail_trust import (
    CodeThrottle,
    forget_codes,
    forgotten_copy,
    peer_host,
    peer_trusted,
)
from handlers.mail_updates import process_update
from handlers.mailparse import (
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
from handlers.service import (
    CorrespondenceRequest,
    accept_inbound,
    processing,
    record_answer,
    record_correspondence,
    settle_inbound,
)
from store import Store, StoreError, StoreUnavailable

__all__ = [
    "LOCAL_PARTS",
    "REVIEW_STATES",
    "DeliverabotSMTP",
    "Delivery",
    "GroupCommit",
    "MailHandler",
    "MailPolicy",
    "ProcessResult",
    "accept_message",
    "classify_address",
    "delivery_of",
    "process_inbound",
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
        day = _received_day(message_date(msg), received_at, policy.tz)
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
            received_on=_received_day(original.date, received_at, policy.tz),
            category=category,
            forwarder=forwarder,
            sender_domain=sender_domain,
            sender_hash=keyed_hash(policy.hash_key, original.sender) if original.sender else None,
            subject=(original.subject or None) if policy.keep_subjects else None,
            subject_key=normalise_subject(original.subject) or None,
            message_id=original.message_id,
            inbound_id=inbound_id,
            flags=tuple(flags),
            recorded_at=policy.clock(),
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


def process_inbound(
    store: Store, inbound_id: int, policy: MailPolicy, *, now: dt.datetime | None = None
) -> ProcessResult:
    """Parse one pending message and count it, apply it, or quarantine it. Never raises for
    bad mail; a store that is unavailable raises :class:`StoreUnavailable` (retry later).
    A message already processed (queued twice) is left as it is."""
    now = now or policy.clock()
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
    except Exception as exc:  # a bug or mail we cannot read: keep it for review
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


# -- the SMTP side ---------------------------------------------------------------------------


SendMail = Callable[[EmailMessage], Awaitable[str]]


class MailHandler:
    """aiosmtpd handler: duck-typed ``handle_*`` hooks."""

    def __init__(
        self,
        *,
        store: Store,
        policy: MailPolicy,
        send_mail: SendMail | None = None,
        reader: Store | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.store = store
        self.reader = reader or store
        self.policy = policy
        self.send_mail = send_mail
        self._intake = GroupCommit(store)
        # Accepted messages wait here to be parsed and counted, one at a time, so the store's
        # thread is never queued up with parsing while an SMTP session waits for its commit.
        self._backlog = ParseQueue(self._parse, lambda: self._intake.busy)
        self.sessions = SessionCap(max_sessions)  # open SMTP connections, and their cap
        self._committing = 0  # DATA commands waiting for their commit
        self.codes = CodeThrottle()  # wrong personal codes per peer: 450 after 10 an hour

    # -- SMTP hooks --------------------------------------------------------------
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        found = classify_address(address, self.policy.mail_domain)
        if found is None:
            return "550 5.1.1 No such mailbox here"
        mailbox, plus = found
        sender = (envelope.mail_from or "").strip("<>").lower()
        peer = peer_host(session.peer)
        # The office's own relay forwarding its correspondence inbox: any envelope sender.
        relayed = mailbox == "correspondence" and peer_trusted(peer, self.policy.trusted_peers)
        try:
            refused = await self.codes.screen(self.reader, peer, mailbox, plus)
            if mailbox != "postmaster" and sender and not refused and not relayed:
                staff = await self.reader.call(
                    lambda: {p.email.lower() for p in self.reader.people()}
                )
                if not sender_allowed(sender, staff, self.policy.allowed_senders):
                    refused = "550 5.7.1 Sender not allowed to use this mailbox"
        except StoreError:
            return "451 4.3.0 Temporary failure, please retry"
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = getattr(envelope, "spool", None)  # DeliverabotSMTP spools the message
        if raw is None:
            raw = envelope.original_content or b""
        self._committing += 1
        try:
            inbound_id = await self._intake.submit(
                raw=raw,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                peer=peer_host(session.peer),
            )
        except StoreError as exc:
            log.warning("store unavailable (%s); asked the sender to retry", type(exc).__name__)
            return storage_failure(exc)
        finally:
            self._committing -= 1
        self._spawn(inbound_id)
        return "250 2.0.0 Message accepted"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", type(error).__name__)
        return "451 4.3.0 Temporary failure, please retry"

    # -- after the commit --------------------------------------------------------
    def _spawn(self, inbound_id: int) -> None:
        self._backlog.add(inbound_id)

    async def _parse(self, inbound_id: int) -> bool:
        return await self.process(inbound_id) is not None

    async def process(self, inbound_id: int) -> ProcessResult | None:
        """Process one message and send its reply; ``None`` when the store cannot (the
        message stays pending)."""
        try:
            result = await self.store.call(process_inbound, self.store, inbound_id, self.policy)
        except StoreError as exc:
            log.warning("inbound %s left pending: %s", inbound_id, type(exc).__name__)
            return None
        if result.reply is not None and self.send_mail is not None:
            try:
                where = await self.send_mail(result.reply)
                log.info("replied to inbound %s via %s", inbound_id, where)
            except Exception as exc:  # pragma: no cover - send_mail falls back itself
                log.warning("reply to inbound %s failed: %s", inbound_id, type(exc).__name__)
        return result

    async def process_pending(self) -> int:
        """Queue every message left pending (by a crash, or a store that could not commit),
        oldest first; the queue parses them all, continuously, pausing while a live sender
        waits for its commit. Returns how many were queued."""
        queued, after = 0, 0
        while True:
            ids = await self.store.call(
                self.store.pending_inbound_ids, after=after, limit=PENDING_PAGE
            )
            if not ids:
                return queued
            queued += sum(self._backlog.add(i) for i in ids)
            after = ids[-1]

    async def close_sessions(self, timeout: float = 5.0) -> int:
        """Shutting down: let messages already in DATA finish their commit (and get their
        answer), then tell every open session ``421`` and close it. Returns how many."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._committing and loop.time() < deadline:
            await asyncio.sleep(0.01)
        closed = 0
        for session in list(self.sessions):
            transport = session.transport
            if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
                transport.write(b"421 4.3.2 Service shutting down, please retry later\r\n")
                transport.close()
                closed += 1
        return closed

    async def finish(self) -> int:
        """Shutting down: finish the message being parsed and leave the rest pending (they
        are committed; the next start processes them). Returns how many were left."""
        return await self._backlog.close()

    async def drain(self) -> None:
        """Wait for every message accepted so far to be processed."""
        await self._backlog.drain()
