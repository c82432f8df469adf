"""The intake: the group commit that lets concurrent senders share the store's one writer,
and the queue of committed messages waiting to be parsed."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import IO, Any

from handlers.mail.parse import message_id_of
from handlers.service import accept_inbound_batch
from handlers.service.writer import Writer

__all__ = [
    "PARSE_YIELD_SECONDS",
    "PENDING_PAGE",
    "RETRY_PAUSES",
    "GroupCommit",
    "ParseQueue",
    "storage_failure",
]

log = logging.getLogger(__name__)

PARSE_YIELD_SECONDS = 0.02
HEAD_BYTES = 65536  # where the Message-ID is looked for, as message_id_of does
PENDING_PAGE = 1000  # pending ids read per query when queueing a backlog
RETRY_PAUSES = (1.0, 60.0)  # first and longest pause while the store cannot commit


def storage_failure(exc: Exception) -> str:
    """``452`` when the disk is full (RFC 3463 4.3.1), else ``451``: retry later, either way."""
    if "full" in str(exc).lower():
        return "452 4.3.1 Insufficient system storage, please retry later"
    return "451 4.3.0 Temporary storage failure, please retry"


class GroupCommit:
    """Commits the raw messages of concurrent SMTP sessions together.

    Messages that arrive while a commit is under way wait for the next one, which takes them
    all in a single transaction. Each session gets its message's id, and so its ``250``,
    only once its own batch is committed; if that commit fails, every session in the batch
    gets the error (and answers ``451``). One transaction per batch instead of one per
    message is what lets twenty senders share the store's one writer.
    """

    def __init__(self, writer: Writer, *, max_batch: int = 200) -> None:
        self.writer = writer
        self.max_batch = max_batch
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._committer: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """A sender is waiting for its ``250`` right now (its message queued or committing)."""
        return bool(self._waiting) or (self._committer is not None and not self._committer.done())

    async def submit(
        self,
        *,
        raw: bytes | IO[bytes],
        mail_from: str | None,
        rcpt_tos: list[str],
        peer: str | None = None,
        source: str = "smtp",
    ) -> int:
        """Commit one message (its bytes, or a file positioned at its start, which the store
        copies in pieces); its id once committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        if isinstance(raw, bytes):
            head = raw[:HEAD_BYTES]
        else:
            head = raw.read(HEAD_BYTES)
            raw.seek(0)
        item = {
            "raw": raw,
            "mail_from": mail_from,
            "rcpt_tos": rcpt_tos,
            "peer": peer,
            "source": source,
            "message_id": message_id_of(head),
        }
        self._waiting.append((item, done))
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_batches())
        return await done

    async def _commit_batches(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            try:
                ids = await self.writer.call(accept_inbound_batch, [item for item, _ in batch])
            except Exception as exc:  # StoreUnavailable above all: every sender retries
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), inbound_id in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(inbound_id)


class ParseQueue:
    """Committed messages waiting to be parsed and counted, one at a time, oldest first.

    ``process(id)`` parses one and says whether the store let it (``False``: it stays
    pending, first in line, and the queue waits 1 s, doubling up to a minute, before
    trying again). While a sender waits for its commit (``busy()``), parsing pauses 20 ms
    before each message, never for good, so the ``250``s are not held up by a backlog.
    """

    def __init__(self, process: Callable[[int], Awaitable[bool]], busy: Callable[[], bool]):
        self._process = process
        self._busy = busy
        self._ids: collections.deque[int] = collections.deque()
        self._queued: set[int] = set()  # waiting or being parsed: never queued twice
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    def add(self, inbound_id: int) -> bool:
        """Queue a committed message; ``False`` if it is queued (or being parsed) already,
        or the queue is closed (shutting down: it stays pending for the next start)."""
        if self._closed or inbound_id in self._queued:
            return False
        self._queued.add(inbound_id)
        self._ids.append(inbound_id)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())
        return True

    async def _work(self) -> None:
        failures = 0
        while self._ids:
            if self._busy():
                await asyncio.sleep(PARSE_YIELD_SECONDS)
            inbound_id = self._ids.popleft()
            try:
                done = await self._process(inbound_id)
            except Exception as exc:  # a store error of another kind: it stays pending
                log.warning("inbound %s left pending: %s", inbound_id, type(exc).__name__)
                done = False
            if not done and not self._closed:
                self._ids.appendleft(inbound_id)
                failures += 1
                await self._pause(min(RETRY_PAUSES[0] * 2 ** (failures - 1), RETRY_PAUSES[1]))
                continue
            failures = 0
            self._queued.discard(inbound_id)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but no longer than the queue lasts (closing it empties it)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while self._ids and loop.time() < until:
            await asyncio.sleep(min(0.1, seconds))

    async def drain(self) -> None:
        """Wait until every message queued so far is parsed."""
        while self._worker is not None and not self._worker.done():
            await asyncio.gather(self._worker, return_exceptions=True)

    async def close(self) -> int:
        """Shutting down: finish the message being parsed and queue nothing more (the rest
        stay pending, committed, for the next start); returns how many were dropped."""
        self._closed = True
        left = len(self._ids)
        self._ids.clear()
        self._queued.clear()
        await self.drain()
        return left
