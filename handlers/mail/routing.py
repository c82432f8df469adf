"""Where a stored message goes, and whether it came before: our mailboxes, the purpose of
each (correspondence, updates, postmaster), and Message-ID dedup within a purpose.

A message whose Message-ID was processed before in the same purpose is a redelivery when
its fingerprint (the mailbox, the message's own headers and its text) is the same, and
changes nothing; with other content it is kept for review, never dropped. A Message-ID
seen in another purpose (a letter, then an update) means nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from handlers.mail.policy import MailPolicy, ProcessResult
from handlers.mail.trust import forget_codes_in, split_update_address
from store import Reader

__all__ = [
    "DIFFERS",
    "LOCAL_PARTS",
    "Delivery",
    "classify_address",
    "delivery_of",
    "delivery_of_route",
    "fingerprint",
    "redelivery",
]

LOCAL_PARTS = ("correspondence", "updates", "update", "postmaster")
# A message with the Message-ID of an earlier one in the same purpose but other content.
DIFFERS = "redelivery_differs"


def classify_address(address: str, mail_domain: str) -> tuple[str, str | None] | None:
    """``(mailbox, plus)`` for one of our addresses, e.g. ``("correspondence", "mp")``."""
    m = re.fullmatch(r"\s*<?([^@<>\s]+)@([^@<>\s]+?)>?\s*", address or "")
    if not m or m.group(2).lower() != mail_domain.lower():
        return None
    local, _, plus = m.group(1).partition("+")
    local = local.lower()
    if local not in LOCAL_PARTS:
        return None
    if local == "update" and not plus:
        local = "updates"
    return local, (plus or None)


@dataclasses.dataclass(frozen=True)
class Delivery:
    """Where a stored message goes (the first of our mailboxes among its recipients) and
    the fingerprint that Message-ID dedup compares, within a purpose."""

    mailbox: str
    plus: str | None
    fingerprint: str

    @property
    def purpose(self) -> str:
        """``correspondence``, ``updates`` or ``postmaster``: dedup never crosses them."""
        return "updates" if self.mailbox in ("updates", "update") else self.mailbox


def delivery_of(raw: bytes, recipients: Iterable[str], policy: MailPolicy) -> Delivery | None:
    """The first of our mailboxes among ``recipients``, with the message's fingerprint;
    ``None`` if there is none of ours."""
    return delivery_of_route(raw, recipients, policy.mail_domain, policy.hash_key)


def delivery_of_route(
    raw: bytes, recipients: Iterable[str], mail_domain: str, hash_key: bytes
) -> Delivery | None:
    """:func:`delivery_of` from the two settings it reads (for a parse pool's worker)."""
    for address in recipients:
        found = classify_address(address, mail_domain)
        if found is None:
            continue
        mailbox, plus = found
        if mailbox in ("updates", "update"):
            route = f"updates+{split_update_address(plus)[0] or ''}"  # the ref, not the code
        else:
            route = f"{mailbox}+{plus or ''}"
        return Delivery(mailbox, plus, fingerprint(raw, route, hash_key))
    return None


# What a redelivery repeats: who, to whom, what and when, and the text. Trace headers
# (Received, Authentication-Results, DKIM-Signature, ...) may differ between two deliveries.
_FINGERPRINT_HEADERS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "x-forwarded-message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


def fingerprint(raw: bytes, route: str, key: bytes) -> str:
    """A keyed hash (HMAC, like the correspondents' addresses) of what was delivered: the
    mailbox it went to (``route``, never a personal code), the message's own headers and its
    text, line ends and trailing space aside. Without the key it tells nothing about them.
    Personal codes are left out, so the copy kept after processing (codes removed) has the
    fingerprint of the message as it came."""
    raw = forget_codes_in(raw)
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    cut = min(ends) if ends else len(raw)
    head, body = raw[:cut], raw[cut:]
    fields: list[str] = []
    for field in re.split(r"\r?\n(?![ \t])", head.decode("latin-1")):
        name, colon, value = field.partition(":")
        if colon and name.strip().lower() in _FINGERPRINT_HEADERS:
            fields.append(f"{name.strip().lower()}:{' '.join(value.split())}")
    digest = hmac.new(key, route.lower().encode() + b"\0", hashlib.sha256)
    for item in sorted(fields):
        digest.update(item.encode("latin-1") + b"\n")
    digest.update(b"\0" + _trimmed_lines(body).strip())
    return "hmac:" + digest.hexdigest()


def _trimmed_lines(body: bytes) -> bytes:
    """``body`` with LF line ends and no spaces or tabs at the end of a line: what
    ``re.sub(rb"[ \\t]*\\r?\\n", b"\\n", body)`` gives, but for the last line's trailing
    blanks, which the caller strips anyway (8x faster than the regex)."""
    lines = body.replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join([line.rstrip(b" \t") for line in lines])


def redelivery(
    store: Reader, row: dict[str, Any], delivery: Delivery, policy: MailPolicy
) -> ProcessResult | None:
    """An earlier message in the same mailbox with this Message-ID: a redelivery changes
    nothing; other content under the same Message-ID is kept for review, never dropped."""
    message_id = (row["message_id"] or "").lower()
    if not message_id or row.get("retried_from") == DIFFERS:
        return None  # retried from review: the reviewer said it is a message of its own
    earlier = store.earlier_delivery(int(row["id"]), message_id, delivery.purpose)
    if earlier is None:
        return None
    theirs = earlier["fingerprint"]
    if theirs is None:  # processed before fingerprints were kept
        old = store.inbound(int(earlier["id"]))
        raw = old["raw"] if old else None
        recipients = [r for r in ((old or {}).get("rcpt_tos") or "").split(",") if r]
        then = delivery_of(raw, recipients, policy) if raw is not None else None
        theirs = then.fingerprint if then else None
    if theirs == delivery.fingerprint:
        return ProcessResult("redelivered", f"same Message-ID as inbound {earlier['id']}")
    why = "different content" if theirs else "the earlier copy is purged, so cannot compare"
    return ProcessResult(
        DIFFERS,
        f"same Message-ID as inbound {earlier['id']} ({delivery.purpose}) but {why}; "
        f"--retry {row['id']} processes it as a message of its own",
    )
