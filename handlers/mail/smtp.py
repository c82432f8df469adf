"""The SMTP side: aiosmtpd's protocol, and a thin handler in its style.

The protocol is aiosmtpd's SMTP with a cap on open sessions, a command budget per session,
DATA spooled to disk, and RFC 3463 enhanced codes on size errors. Read beside aiosmtpd
1.4's ``smtp.py``: :meth:`DeliverabotSMTP.smtp_DATA` keeps its checks, its replies and its
dot handling, and differs only in where the data goes.

The handler decides as early as it can (unknown mailbox and unknown sender at RCPT, a peer
that guessed too many personal codes, size at MAIL/DATA); DATA hands the spooled bytes to
the :class:`~handlers.mail.inbound.InboundWorker` and answers ``250`` only once they are
committed. A store that cannot commit gets ``451 4.3.0`` (``452`` when the disk is full),
so the sending server retries.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import IO, Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax

from handlers.mail import inbound
from handlers.mail.intake import storage_failure
from handlers.mail.policy import MailPolicy
from handlers.mail.process import sender_allowed
from handlers.mail.routing import classify_address
from handlers.mail.trust import CodeThrottle, peer_host, peer_trusted
from store import Reader, StoreError

__all__ = [
    "COMMANDS_PER_SESSION",
    "SPOOL_IN_MEMORY",
    "DeliverabotSMTP",
    "MailHandler",
    "SessionCap",
    "SpooledEnvelope",
]

log = logging.getLogger(__name__)

COMMANDS_PER_SESSION = 100  # the 101st command of a session, whatever its verb, gets 421
SPOOL_IN_MEMORY = 128 * 1024  # DATA beyond this goes to a temporary file, not memory
READ_LIMIT = 64 * 1024  # the most a session reads ahead of what it has handled
SMALL_WRITE = 16 * 1024  # DATA pieces shorter than this are gathered before the spool
REFUSAL_LOG_SECONDS = 60.0  # one log line a minute, however many connections are refused


class SessionCap:
    """The open SMTP sessions, and how many may be open at once (``None``: no cap)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._open: set[DeliverabotSMTP] = set()
        self._refused = 0
        self._logged_at = float("-inf")

    def admit(self, session: DeliverabotSMTP) -> bool:
        if self.limit is not None and len(self._open) >= self.limit:
            self._refused += 1
            now = time.monotonic()
            if now - self._logged_at >= REFUSAL_LOG_SECONDS:
                log.warning(
                    "SMTP: refused %d connection(s) with 421: %d sessions open "
                    "(SMTP_MAX_SESSIONS=%d)",
                    self._refused,
                    len(self._open),
                    self.limit,
                )
                self._refused, self._logged_at = 0, now
            return False
        self._open.add(session)
        return True

    def discard(self, session: DeliverabotSMTP) -> None:
        self._open.discard(session)

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[DeliverabotSMTP]:
        return iter(list(self._open))


class SpooledEnvelope(Envelope):
    """aiosmtpd's envelope; during the DATA hook, ``spool`` holds the message (read it from
    the start; ``content`` stays ``None``). It is closed once the hook has answered."""

    def __init__(self) -> None:
        super().__init__()
        self.spool: IO[bytes] | None = None


class DeliverabotSMTP(SMTP):
    """One SMTP session. ``command_limit`` commands in all (the per-verb limits of
    aiosmtpd's ``command_call_limit`` still apply if given); the handler's ``sessions``
    (a :class:`SessionCap`) decides at connect whether there is room for it.

    DATA goes to a :class:`tempfile.SpooledTemporaryFile` that moves to disk past
    ``SPOOL_IN_MEMORY`` bytes, so a session in the middle of a large message holds about
    ``READ_LIMIT`` of memory, not the message; the handler gets the spool
    (:class:`SpooledEnvelope`) and the store copies it in pieces. Lines end at CRLF only:
    a message with bare LF line ends is accepted like any other (as Postfix does), its
    "lines" read in pieces; the message size limit is the only limit, answered
    ``552 5.3.4`` after the final dot.
    """

    line_length_limit = READ_LIMIT  # aiosmtpd's stream limit; command lines keep their 512

    def __init__(
        self, handler: Any, *args: Any, command_limit: int | None = COMMANDS_PER_SESSION, **kw: Any
    ) -> None:
        super().__init__(handler, *args, **kw)
        self.command_limit = command_limit
        self._commands = 0
        if command_limit is not None:
            self._smtp_methods = {
                verb: self._counted(method) for verb, method in self._smtp_methods.items()
            }

    # -- sessions ------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        first = self.transport is None  # not the second call after STARTTLS
        super().connection_made(transport)
        cap = getattr(self.event_handler, "sessions", None)
        if not first or not isinstance(cap, SessionCap) or cap.admit(self):
            return
        # No room: the session never starts (its task is cancelled before it greets).
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()
        transport.write(b"421 4.7.0 Too many connections, please try again later\r\n")
        transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        cap = getattr(self.event_handler, "sessions", None)
        if isinstance(cap, SessionCap):
            cap.discard(self)
        super().connection_lost(error)

    # -- the command budget --------------------------------------------------------
    def _counted(self, method: Callable[[str], Awaitable[None]]) -> Callable[..., Any]:
        @functools.wraps(method)  # HELP reads the verb's syntax from it
        async def counted(arg: str) -> None:
            self._commands += 1
            if self.command_limit is not None and self._commands > self.command_limit:
                log.warning("SMTP: %r sent more than %d commands", self.peer, self.command_limit)
                await self.push("421 4.7.0 Too many commands in one session, goodbye")
                if self.transport is not None:
                    self.transport.close()
                return
            await method(arg)

        return counted

    @property
    def peer(self) -> Any:
        return self.session.peer if self.session is not None else None

    def _create_envelope(self) -> SpooledEnvelope:
        return SpooledEnvelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4's address parsing for MAIL and RCPT, the same checks, without the
        ``typing.Protocol`` class it defines on every call (creating it was a tenth of the
        event loop's time in a burst of mail)."""
        if not arg:
            return "", ""
        try:
            parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
            address, rest = parse(arg)
        except HeaderParseError:
            return None, None
        addr = str(address.addr_spec)
        localpart = addr.rpartition("@")[0]
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    # -- replies ---------------------------------------------------------------------
    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            limit = self.data_size_limit or 0
            status = f"552 5.3.4 Message too big; the limit is {limit} bytes"
        await super().push(status)

    # -- DATA ----------------------------------------------------------------------
    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        envelope = self.envelope
        assert isinstance(envelope, SpooledEnvelope)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            if not await self._read_data(spool):
                await self.push("552 Error: Too much mail data")
                self._data_done()
                return
            spool.seek(0)
            envelope.spool = spool
            try:
                status = await self._call_handler_hook("DATA")
            finally:
                envelope.spool = None
        self._data_done()
        await self.push("250 OK" if status is MISSING else status)

    def _data_done(self) -> None:
        """aiosmtpd's own reset after DATA (it has no type hints)."""
        self._set_post_data_state()  # type: ignore[no-untyped-call]

    async def _read_data(self, spool: IO[bytes]) -> bool:
        """Read up to the lone dot into ``spool``, unstuffing dots; ``False`` when the data
        passed ``data_size_limit`` (read to the end all the same, and not kept).

        The stream is read up to each ``.<CRLF>`` (a line that ends with a dot, or the end
        of the data when that dot is alone on its line), not line by line: a message is a
        few reads, not one per line. A piece never passes ``READ_LIMIT`` (nor splits a
        CRLF); ``tail``, the last two bytes read, says where a line starts."""
        limit = self.data_size_limit
        size = 0
        kept = True
        tail = start = b"\r\n"  # the 354 reply ended a line: the data starts a line
        pending = bytearray()
        while True:
            if self.transport is None:  # closed under us: there is no message
                raise asyncio.CancelledError
            try:
                piece = await self._reader.readuntil(b".\r\n")
            except asyncio.CancelledError:
                log.info("%r connection lost during DATA", self.peer)
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as exc:
                # No ".CRLF" within READ_LIMIT: take what is there; what is left in the
                # buffer (a few bytes) may still begin one.
                piece = await self._reader.read(min(max(1, exc.consumed), READ_LIMIT))
            end = piece.endswith(b".\r\n") and (tail + piece[-5:-3])[-2:] == b"\r\n"
            tail = (tail + piece[-2:])[-2:]
            if end:
                piece = piece[:-3]  # the lone dot's line is not data
            size += len(piece)
            if limit and size > limit:
                kept = False
                pending.clear()
            if kept and piece:
                data = _unstuffed(piece, start)
                if len(pending) + len(data) < SMALL_WRITE:
                    pending += data  # short pieces are written together
                else:
                    spool.write(pending)
                    pending.clear()
                    spool.write(data)
                del data
            if end:
                break
            start = tail
            del piece  # not held while the next piece is awaited
        spool.write(pending)
        return kept


def _unstuffed(piece: bytes, before: bytes) -> bytes:
    """``piece`` without the dot that stuffs a line beginning with one (RFC 5321 4.5.2):
    "<CRLF>." is "<CRLF>", the CRLF possibly the last bytes before the piece (``before``)."""
    if piece[:1] == b"." and before == b"\r\n":
        piece = piece[1:]
    elif piece[:2] == b"\n." and before[-1:] == b"\r":
        piece = b"\n" + piece[2:]
    return piece.replace(b"\r\n.", b"\r\n")


class MailHandler:
    """aiosmtpd handler (duck-typed ``handle_*`` hooks): checks at RCPT, and DATA's bytes
    to the worker."""

    def __init__(
        self,
        worker: inbound.InboundWorker,
        *,
        reader: Reader | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.worker = worker
        self.reader = reader or worker.reader
        self.sessions = SessionCap(max_sessions)  # open SMTP connections, and their cap
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
            await self.worker.submit(
                raw,
                inbound.Envelope(
                    envelope.mail_from, tuple(envelope.rcpt_tos), peer_host(session.peer)
                ),
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
