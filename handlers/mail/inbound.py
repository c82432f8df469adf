"""The inbound worker: mail from any source goes in through :meth:`InboundWorker.submit`.

``submit(raw, envelope)`` commits the raw message (with other senders', in one group commit)
and returns its id only once it is stored: SMTP answers ``250`` then, and a mailbox source
may delete the message then. Parsing comes afterwards, from the stored copy, in batches:
with a :class:`~handlers.mail.pool.ParsePool`, the MIME parsing runs in its worker
processes and the store's thread only commits each batch, in one transaction; without one,
the store's thread parses too. Either way a sender waiting for its commit comes first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import IO

from handlers.mail.analysis import Analysis
from handlers.mail.intake import PENDING_PAGE, GroupCommit, ParseQueue
from handlers.mail.parse import message_id_of
from handlers.mail.policy import MailPolicy, ProcessResult
from handlers.mail.pool import ParsePool
from handlers.mail.process import job_of, process_inbound, process_inbound_batch
from handlers.mail.routing import delivery_of
from handlers.service import MailboxKey, take_mailbox_message
from handlers.service.writer import Writer
from store import StoreError

__all__ = ["Envelope", "InboundWorker", "SendMail"]

log = logging.getLogger("handlers.mail")

# How long one batch's transaction may hold the write lock: past it, the rest of the batch
# commits in another, after whatever else waits for the store.
COMMIT_BUDGET = 0.025

SendMail = Callable[[EmailMessage], Awaitable[str]]


@dataclass(frozen=True)
class Envelope:
    """Who a message came from and to, as its transport says (not its headers)."""

    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    peer: str | None = None  # the SMTP client's address, or MAILBOX_PEER
    source: str = "smtp"  # how it came: smtp, import, mailbox
    key: MailboxKey | None = None  # read from a mailbox folder: where, so it is taken once
    received_at: dt.datetime | None = None  # when the mailbox's server received it


class InboundWorker:
    """Commits what a source hands over, then parses, counts and answers it."""

    def __init__(
        self,
        writer: Writer,
        policy: MailPolicy,
        *,
        send_mail: SendMail | None = None,
        pool: ParsePool | None = None,
    ) -> None:
        self.writer = writer
        self.reader = writer.reader
        self.policy = policy
        self.send_mail = send_mail
        self.pool = pool  # where MIME parsing runs; None: on the store's thread
        self.intake = GroupCommit(writer)
        # Accepted messages wait here to be parsed and counted, in batches (smaller while a
        # sender waits for its commit, and committed after the senders waiting then).
        self._backlog: ParseQueue[dict[int, Analysis | None]] = ParseQueue(
            self._commit_batch,
            lambda: self.intake.busy,
            prepare=self._analyse,
            settle=self.intake.settled,
        )

    async def submit(self, raw: bytes | IO[bytes], envelope: Envelope) -> int:
        """Store ``raw`` (its bytes, or a file at its start, copied in pieces); its id once
        committed. Raises ``StoreError`` when the store cannot commit (the source keeps the
        message and tries again later)."""
        inbound_id = await self.intake.submit(
            raw=raw,
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            peer=envelope.peer,
            source=envelope.source,
        )
        self._backlog.add(inbound_id)
        return inbound_id

    async def take(self, raw: bytes, envelope: Envelope) -> tuple[bool, int | None]:
        """A message read from a mailbox folder (``envelope.key``): committed pending with
        its place in the folder, once (:func:`handlers.service.take_mailbox_message`), then
        processed from the stored copy like SMTP's and ``mail import``'s (the same dedup,
        categories, noise rules, quarantine, privacy and retention). ``(taken, inbound id)``:
        not taken when another poller (or an earlier run) took this UID."""
        if envelope.key is None:
            raise ValueError("a message from a mailbox needs its folder and UID")
        delivery = delivery_of(raw, list(envelope.rcpt_tos), self.policy)
        taken, inbound_id = await self.writer.call(
            take_mailbox_message,
            envelope.key,
            raw=raw,
            message_id=message_id_of(raw),
            rcpt_tos=list(envelope.rcpt_tos),
            mail_from=envelope.mail_from,
            peer=envelope.peer,
            received_at=envelope.received_at,
            delivered_as=(delivery.purpose, delivery.fingerprint) if delivery else None,
            now=self.policy.office.now(),
        )
        if inbound_id is not None:
            await self.process(inbound_id)
        return taken, inbound_id

    async def _analyse(self, ids: list[int]) -> dict[int, Analysis | None]:
        """The pool's analyses of a batch (read from the stored copies); without a pool,
        none (the store's thread parses)."""
        if self.pool is None:
            return {}
        rows = await self.reader.call(self.reader.pending_inbound_rows, ids)
        jobs = [job_of(row) for row in rows]
        found = await self.pool.analyse(jobs, self.policy)
        return {job.inbound_id: a for job, a in zip(jobs, found, strict=True)}

    async def _commit_batch(self, ids: list[int], found: dict[int, Analysis | None] | None) -> bool:
        """Process a batch in one transaction and send its replies; ``False`` when the store
        cannot (the batch stays pending)."""
        analyses = found or {}
        items = [(i, analyses.get(i)) for i in ids]
        while items:
            try:
                results = await self.writer.call(
                    process_inbound_batch, items, self.policy, budget=COMMIT_BUDGET
                )
            except StoreError as exc:
                # What committed stays committed (the queue finds it processed next time).
                log.warning(
                    "%d inbound message(s) left pending: %s", len(items), type(exc).__name__
                )
                return False
            for (inbound_id, _), result in zip(items, results, strict=False):
                await self._reply(inbound_id, result)
            items = items[len(results) :]
        return True

    async def process(self, inbound_id: int) -> ProcessResult | None:
        """Process one message and send its reply; ``None`` when the store cannot (the
        message stays pending)."""
        try:
            result = await self.writer.call(process_inbound, inbound_id, self.policy)
        except StoreError as exc:
            log.warning("inbound %s left pending: %s", inbound_id, type(exc).__name__)
            return None
        await self._reply(inbound_id, result)
        return result

    async def _reply(self, inbound_id: int, result: ProcessResult) -> None:
        if result.reply is not None and self.send_mail is not None:
            try:
                where = await self.send_mail(result.reply)
                log.info("replied to inbound %s via %s", inbound_id, where)
            except Exception as exc:  # pragma: no cover - send_mail falls back itself
                log.warning("reply to inbound %s failed: %s", inbound_id, type(exc).__name__)

    async def process_pending(self) -> int:
        """Queue every message left pending (by a crash, or a store that could not commit),
        oldest first; the queue parses them all, continuously, pausing while a live sender
        waits for its commit. Returns how many were queued."""
        queued, after = 0, 0
        while True:
            ids = await self.reader.call(
                self.reader.pending_inbound_ids, after=after, limit=PENDING_PAGE
            )
            if not ids:
                return queued
            queued += sum(self._backlog.add(i) for i in ids)
            after = ids[-1]

    async def finish(self) -> int:
        """Shutting down: finish the message being parsed and leave the rest pending (they
        are committed; the next start processes them). Returns how many were left."""
        return await self._backlog.close()

    async def drain(self) -> None:
        """Wait for every message accepted so far to be processed."""
        await self._backlog.drain()
