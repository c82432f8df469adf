"""The SMTP side: aiosmtpd's protocol and a thin handler in its style.

The conversation decides as early as it can (unknown mailbox and unknown sender at RCPT, a
peer that guessed too many personal codes, size at MAIL/DATA); DATA hands the bytes to the
:class:`~handlers.mail.inbound.InboundWorker` and answers ``250`` only once they are
committed. A store that cannot commit gets ``451 4.3.0`` (``452`` when the disk is full), so
the sending server retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from handlers.mail.inbound import Envelope, InboundWorker
from handlers.mail.intake import storage_failure
from handlers.mail.policy import MailPolicy
from handlers.mail.process import classify_address, sender_allowed
from handlers.mail.trust import CodeThrottle, peer_host
from store import Store, StoreError

__all__ = ["DeliverabotSMTP", "MailHandler"]

log = logging.getLogger("handlers.mail")


class DeliverabotSMTP(SMTP):
    """aiosmtpd's SMTP with RFC 3463 enhanced codes on size errors and a lenient line limit.

    aiosmtpd reads DATA up to each CRLF, so a message with bare LF line ends is one "line"
    as long as the message. Like Postfix, we accept it: the line limit is the message size
    limit, which already bounds memory (command lines keep their own 512-byte limit).
    """

    line_length_limit = 100_000

    def __init__(self, handler: Any, *args: Any, **kwargs: Any) -> None:
        limit = kwargs.get("data_size_limit")
        if limit:
            # Read before the stream reader is made in ``SMTP.__init__``.
            self.line_length_limit = max(self.line_length_limit, int(limit) + 1024)
        super().__init__(handler, *args, **kwargs)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        sessions = getattr(self.event_handler, "sessions", None)
        if sessions is not None:
            sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        sessions = getattr(self.event_handler, "sessions", None)
        if sessions is not None:
            sessions.discard(self)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            limit = self.data_size_limit or 0
            status = f"552 5.3.4 Message too big; the limit is {limit} bytes"
        await super().push(status)


class MailHandler:
    """aiosmtpd handler (duck-typed ``handle_*`` hooks): checks at RCPT, and DATA's bytes
    to the worker."""

    def __init__(self, worker: InboundWorker, *, reader: Store | None = None) -> None:
        self.worker = worker
        self.reader = reader or worker.store
        self.sessions: set[DeliverabotSMTP] = set()  # open SMTP connections
        self._committing = 0  # DATA commands waiting for their commit
        self.codes = CodeThrottle()  # wrong personal codes per peer: 450 after 10 an hour

    @property
    def policy(self) -> MailPolicy:
        """The worker's: RCPT and processing decide by the same settings."""
        return self.worker.policy

    @policy.setter
    def policy(self, policy: MailPolicy) -> None:
        self.worker.policy = policy

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        found = classify_address(address, self.policy.mail_domain)
        if found is None:
            return "550 5.1.1 No such mailbox here"
        mailbox, plus = found
        sender = (envelope.mail_from or "").strip("<>").lower()
        try:
            refused = await self.codes.screen(self.reader, peer_host(session.peer), mailbox, plus)
            if mailbox != "postmaster" and sender and not refused:
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
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self._committing += 1
        try:
            await self.worker.submit(
                raw,
                Envelope(envelope.mail_from, tuple(envelope.rcpt_tos), peer_host(session.peer)),
            )
        except StoreError as exc:
            log.warning("store unavailable (%s); asked the sender to retry", type(exc).__name__)
            return storage_failure(exc)
        finally:
            self._committing -= 1
        return "250 2.0.0 Message accepted"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", type(error).__name__)
        return "451 4.3.0 Temporary failure, please retry"

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
