"""What parsing a stored message finds, as pure data: the part of processing that needs no
store, so it can run in another process (:mod:`handlers.mail.pool`) while the store's
thread only commits.

:func:`analyse` parses the message once and reads what every later decision needs (in the
order :func:`handlers.mail.process.process_inbound` decides): unreadable, noise, where it
goes, who sent it, whether its ``From:`` is accounted for, the original it forwards and
its dedup key. Where a decision is final without the store (unreadable, noise, none of our
mailboxes), it stops there. Any exception gives ``None``: the message is then processed
from its stored copy the step-by-step way, so bad mail is quarantined with the same reason
as always.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.mail.parse import (
    Original,
    content_key,
    extract_original,
    header,
    message_date,
    noise_reason,
    normalise_subject,
    parse_message,
    reference_ids,
    sender_address,
    text_body,
    unreadable_reason,
)
from handlers.mail.redirect import unaccounted_sender
from handlers.mail.routing import Delivery, delivery_of_route
from handlers.mail.trust import Network

__all__ = ["Analysis", "ParseJob", "analyse", "analyse_jobs", "checksum"]

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ParseJob:
    """A stored message to analyse: its raw copy and its envelope, as the row has them."""

    inbound_id: int
    raw: bytes
    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    source: str
    peer: str | None


@dataclass(frozen=True)
class Analysis:
    """What parsing found. ``checksum`` ties it to the raw copy it was read from."""

    checksum: int
    delivery: Delivery | None
    unreadable: str | None = None
    noise: str | None = None
    sender: str = ""  # the From address, else the envelope sender
    unaccounted: str | None = None  # why a From other than the envelope is not accounted for
    forwarded: Original | None = None  # the original inside a forward
    refs: tuple[str, ...] = ()
    subject: str = ""
    date: dt.datetime | None = None
    own: Original | None = None  # the message itself, as an original
    key: str = ""  # the dedup key of forwarded, else of own
    subject_key: str = ""  # the subject, normalised (what a reply is matched by)
    original_subject_key: str = ""  # ... and the counted original's
    final: bool = False  # decided without the store (unreadable, noise, none of ours)


def checksum(raw: bytes) -> int:
    return zlib.crc32(raw)


def analyse(
    job: ParseJob, mail_domain: str, hash_key: bytes, trusted_peers: Iterable[Network]
) -> Analysis | None:
    """Parse ``job``'s message and read what processing needs; ``None`` on any exception."""
    try:
        return _analyse(job, mail_domain, hash_key, tuple(trusted_peers))
    except Exception:
        return None


def analyse_jobs(
    jobs: list[ParseJob], mail_domain: str, hash_key: bytes, trusted_peers: tuple[Network, ...]
) -> list[Analysis | None]:
    """:func:`analyse` for each job, in order (what a pool worker runs)."""
    return [analyse(job, mail_domain, hash_key, trusted_peers) for job in jobs]


def _analyse(
    job: ParseJob, mail_domain: str, hash_key: bytes, trusted_peers: tuple[Network, ...]
) -> Analysis:
    raw = job.raw
    crc = checksum(raw)
    delivery = delivery_of_route(raw, job.rcpt_tos, mail_domain, hash_key)
    msg = parse_message(raw)
    unreadable = unreadable_reason(msg)
    if unreadable:
        return Analysis(crc, delivery, unreadable=unreadable, final=True)
    noise = noise_reason(msg, job.mail_from)
    if noise:
        return Analysis(crc, delivery, noise=noise, final=True)
    if delivery is None:
        return Analysis(crc, delivery, final=True)
    from_header = sender_address(msg)
    sender = from_header or (job.mail_from or "").lower()
    if delivery.mailbox in ("postmaster", "updates", "update"):
        return Analysis(crc, delivery, sender=sender)  # updates are read from the message
    envelope = (job.mail_from or "").strip("<>").lower()
    unaccounted = None
    if job.source == "smtp" and envelope and from_header and envelope != from_header:
        unaccounted = unaccounted_sender(
            msg,
            envelope=envelope,
            from_header=from_header,
            peer=job.peer,
            trusted_peers=trusted_peers,
        )
        if unaccounted:
            return Analysis(crc, delivery, sender=sender, unaccounted=unaccounted)
    forwarded = extract_original(msg)
    refs = tuple(reference_ids(msg))
    subject = header(msg, "Subject")
    date = message_date(msg)
    own_id = _MESSAGE_ID.search(header(msg, "Message-ID"))
    own = Original(
        sender=sender,
        date=date,
        subject=subject,
        body=text_body(msg),
        message_id=own_id.group(0).lower() if own_id else None,
    )
    original = forwarded or own
    key = f"mid:{original.message_id}" if original.message_id else content_key(original)
    return Analysis(
        crc,
        delivery,
        sender=sender,
        forwarded=forwarded,
        refs=refs,
        subject=subject,
        date=date,
        own=own,
        key=key,
        subject_key=normalise_subject(subject),
        original_subject_key=normalise_subject(original.subject),
    )
