"""Delivery, channel-neutral: claim → send → mark, once, whatever the channel.

Every digest and reminder is first claimed in the ledger (kind, period, destination: only
the first claimant of any process gets a token), then sent through the channel's
:class:`Notifier`, then marked sent or failed, if the token still holds the claim. A crash
between claim and send leaves a visible "claimed, not sent" row that ``--retry`` takes over
once its lease has run out. What can fail after the send (the chart in the thread) is a
warning on the row, never a second send.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from digests.digest import Digest
from handlers.service.ledger import (
    claim_delivery,
    mark_delivered,
    mark_undelivered,
    reclaim_delivery,
    warn_delivery,
)
from handlers.service.writer import Writer
from store import Deliverable, Person

__all__ = [
    "Delivery",
    "DeliveryFailed",
    "Destination",
    "DigestPoster",
    "Notifier",
    "Outcome",
    "Sent",
    "deliver",
]

log = logging.getLogger("deliverabot.delivery")


@dataclass(frozen=True)
class Destination:
    """Where a delivery goes: a channel and a target within it (a Slack channel id, a list
    of addresses, a person's id); its text, ``slack:C0LEADERS``, is the ledger's key."""

    channel: str  # slack | email | outbox | person
    target: str = ""

    def __str__(self) -> str:
        return f"{self.channel}:{self.target}" if self.target else self.channel

    @classmethod
    def parse(cls, text: str) -> Destination:
        channel, _, target = text.partition(":")
        return cls(channel, target)


@dataclass(frozen=True)
class Sent:
    """What a notifier did: where it went (``slack ts …``, a Message-ID, a file) and what is
    left to do once the send is recorded (``follow_up``, e.g. the chart in the thread)."""

    reference: str
    follow_up: Callable[[], Awaitable[Any]] | None = None
    follow_up_name: str = "chart"


class DeliveryFailed(Exception):
    """A channel refused; the message is what the ledger keeps (e.g. Slack's HTTP status)."""


class DigestPoster(Protocol):
    channel: str

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        """Post the weekly digest (with its chart, when there is one) to ``target``."""
        ...


class Notifier(DigestPoster, Protocol):
    """What each channel implements for delivery: post a digest, nudge a person, send a
    direct note."""

    async def nudge(
        self, address: str, person: Person, items: Sequence[Deliverable], *, stale_weeks: int
    ) -> Sent:
        """Remind ``person`` (at their ``address`` on this channel) of their stale work."""
        ...

    async def direct(self, address: str, message: str) -> Sent:
        """A short note to one person, at their ``address`` on this channel."""
        ...


@dataclass(frozen=True)
class Delivery:
    kind: str  # digest | reminder
    period: str  # the ISO week
    destination: Destination


@dataclass(frozen=True)
class Outcome:
    destination: str
    state: str  # sent | skipped | failed
    reference: str = ""


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, DeliveryFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def deliver(
    writer: Writer,
    delivery: Delivery,
    send: Callable[[], Awaitable[Sent]],
    *,
    now: dt.datetime,
    ledger_id: int | None = None,
    on_failure: Callable[[Exception], None] | None = None,
) -> Outcome | None:
    """Claim ``delivery`` (or, with ``ledger_id``, take over its failed or expired row), run
    ``send``, and mark what happened. ``None`` when someone else holds the claim.
    ``on_failure`` hears of a failed send first (to keep what could not be sent)."""
    kind, period, where = delivery.kind, delivery.period, str(delivery.destination)
    if ledger_id is None:
        token = await writer.call(claim_delivery, kind, period, where, now=now)
    else:
        token = await writer.call(reclaim_delivery, ledger_id, now=now)
    if token is None:
        return None
    try:
        sent = await send()
    except Exception as exc:
        error = failure_text(exc)
        if on_failure is not None:
            on_failure(exc)
        await writer.call(mark_undelivered, kind, period, where, error, token=token)
        return Outcome(where, "failed", error)
    # It is out: record it before anything else can fail.
    await writer.call(mark_delivered, kind, period, where, sent.reference, token=token)
    log.info("%s %s sent to %s (%s)", kind, period, where, sent.reference)
    if sent.follow_up is not None:
        try:
            await sent.follow_up()
        except Exception as exc:  # extra: a warning, never a second send
            warning = f"{sent.follow_up_name} not attached: {type(exc).__name__}"
            log.warning("%s %s to %s: %s", kind, period, where, warning)
            await writer.call(warn_delivery, kind, period, where, warning)
    return Outcome(where, "sent", sent.reference)
