"""The inbound worker: mail from any source goes in through :meth:`InboundWorker.submit`.

``submit(raw, envelope)`` commits the raw message (with other senders', in one group commit)
and returns its id only once it is stored: SMTP answers ``250`` then, and a mailbox source
may delete the message then. Parsing comes afterwards, from the stored copy, one message at
a time, so the store's thread is never queued up with parsing while a sender waits.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

from handlers.mail.intake import PARSE_YIELD_SECONDS, GroupCommit
from handlers.mail.policy import MailPolicy, ProcessResult
from handlers.mail.process import process_inbound
from store import Store, StoreUnavailable

__all__ = ["Envelope", "InboundWorker", "SendMail"]

log = logging.getLogger("handlers.mail")

SendMail = Callable[[EmailMessage], Awaitable[str]]


@dataclass(frozen=True)
class Envelope:
    """Who a message came from and to, as its transport says (not its headers)."""

    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    peer: str | None = None  # the SMTP client's address, when there was one
    source: str = "smtp"  # how it came: smtp, import, a mailbox


class InboundWorker:
    """Commits what a source hands over, then parses, counts and answers it."""

    def __init__(
        self, store: Store, policy: MailPolicy, *, send_mail: SendMail | None = None
    ) -> None:
        self.store = store
        self.policy = policy
        self.send_mail = send_mail
        self.intake = GroupCommit(store)
        # Accepted messages wait here to be parsed and counted, one at a time.
        self._backlog: collections.deque[int] = collections.deque()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, raw: bytes, envelope: Envelope) -> int:
        """Store ``raw``; its id once committed. Raises ``StoreError`` when the store cannot
        commit (the source keeps the message and tries again later)."""
        inbound_id = await self.intake.submit(
            raw=raw,
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            peer=envelope.peer,
            source=envelope.source,
        )
        self._spawn(inbound_id)
        return inbound_id

    def _spawn(self, inbound_id: int) -> None:
        self._backlog.append(inbound_id)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while self._backlog:
            if self.intake.busy:
                # Senders first: while a session waits for its commit, parsing pauses 20 ms
                # before each message (never for good), so the 250s are not held up by it.
                await asyncio.sleep(PARSE_YIELD_SECONDS)
            await self.process(self._backlog.popleft())

    async def process(self, inbound_id: int) -> ProcessResult | None:
        try:
            result = await self.store.call(process_inbound, self.store, inbound_id, self.policy)
        except StoreUnavailable:
            log.warning("inbound %s left pending: store unavailable", inbound_id)
            return None
        if result.reply is not None and self.send_mail is not None:
            try:
                where = await self.send_mail(result.reply)
                log.info("replied to inbound %s via %s", inbound_id, where)
            except Exception as exc:  # pragma: no cover - send_mail falls back itself
                log.warning("reply to inbound %s failed: %s", inbound_id, type(exc).__name__)
        return result

    async def process_pending(self) -> int:
        """Process messages left pending (a crash, or a busy store). Returns how many."""
        rows = await self.store.call(self.store.inbound_list, ("pending",))
        for row in rows:
            await self.process(int(row["id"]))
        return len(rows)

    async def finish(self) -> int:
        """Shutting down: finish the message being parsed and leave the rest pending (they
        are committed; the next start processes them). Returns how many were left."""
        left = len(self._backlog)
        self._backlog.clear()
        await self.drain()
        return left

    async def drain(self) -> None:
        """Wait for every message accepted so far to be processed."""
        while self._worker is not None and not self._worker.done():
            await asyncio.gather(self._worker, return_exceptions=True)
