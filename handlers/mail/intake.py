"""The intake: the group commit that lets concurrent senders share the store's one writer,
and the queue of committed messages waiting to be parsed."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import IO, Any, Generic, TypeVar

from handlers.mail.parse import message_id_of
from handlers.service import accept_inbound_batch
from handlers.service.writer import Writer

__all__ = [
    "AHEAD",
    "BATCH",
    "BUSY_BATCH",
    "PARSE_YIELD_SECONDS",
    "PENDING_PAGE",
    "RETRY_PAUSES",
    "GroupCommit",
    "ParseQueue",
    "storage_failure",
]

log = logging.getLogger(__name__)

P = TypeVar("P")

AHEAD = 2  # batches being parsed while one commits
PARSE_YIELD_SECONDS = 0.01  # the pause before a batch's commit while senders wait
BATCH = 64  # messages parsed and committed together while no sender waits
BUSY_BATCH = 8  # ... and while one does, so its commit is not queued behind a long one
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
        self._committing: list[asyncio.Future[int]] = []  # the senders of the batch under way
        self._committer: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """A sender is waiting for its ``250`` right now (its message queued or committing)."""
        return bool(self._waiting) or (self._committer is not None and not self._committer.done())

    async def settled(self) -> None:
        """Wait until every sender waiting now has its answer (not for those who come
        later, so a steady stream of senders never keeps the caller waiting for good)."""
        waiting = [*self._committing, *(done for _, done in self._waiting)]
        if waiting:
            await asyncio.wait(waiting)

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
            self._committing = [done for _, done in batch]
            try:
                ids = await self.writer.call(accept_inbound_batch, [item for item, _ in batch])
            except Exception as exc:  # StoreUnavailable above all: every sender retries
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            finally:
                self._committing = []
            for (_, done), inbound_id in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(inbound_id)


class ParseQueue(Generic[P]):
    """Committed messages waiting to be parsed and counted, in batches, oldest first.

    ``prepare(ids)`` gets a batch ready off the store's thread (the parse pool's analyses;
    it may fail, and then gives nothing to go on: the batch is parsed on the store's
    thread); ``commit(ids, prepared)`` processes the batch in one transaction and says
    whether the store let it (``False``: the batch stays pending, first in line, and the
    queue waits 1 s, doubling up to a minute, before trying again). Up to ``ahead``
    batches are prepared while one commits, so the pool's workers always have the next
    batch to parse (a worker that finishes its part of a batch early takes the next
    batch's) and parsing keeps up with committing.

    Live senders come first: while a sender waits for its commit (``busy()``), batches are
    small (``BUSY_BATCH``), and each commit waits 10 ms and then until every sender waiting
    at that moment has its ``250`` (``settle()``), so a backlog never holds a ``250`` up for
    more than one small batch, and a steady stream of senders never stops parsing.
    """

    def __init__(
        self,
        commit: Callable[[list[int], P | None], Awaitable[bool]],
        busy: Callable[[], bool],
        *,
        prepare: Callable[[list[int]], Coroutine[Any, Any, P]] | None = None,
        settle: Callable[[], Awaitable[None]] | None = None,
        batch: int = BATCH,
        busy_batch: int = BUSY_BATCH,
        ahead: int = AHEAD,
    ):
        self._commit = commit
        self._prepare = prepare
        self._busy = busy
        self._settle = settle
        self.batch, self.busy_batch = max(1, batch), max(1, busy_batch)
        self.ahead = max(1, ahead)
        self._ids: collections.deque[int] = collections.deque()
        self._queued: set[int] = set()  # waiting or being parsed: never queued twice
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        # The batches taken from the queue and not committed yet (the first one is the
        # one committing, once it is prepared), each with its preparation.
        self._batches: collections.deque[tuple[list[int], asyncio.Task[P] | None]] = (
            collections.deque()
        )

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

    def _take(self) -> list[int]:
        size = self.busy_batch if self._busy() else self.batch
        return [self._ids.popleft() for _ in range(min(size, len(self._ids)))]

    def _start(self, ids: list[int]) -> asyncio.Task[P] | None:
        if self._prepare is None or not ids:
            return None
        return asyncio.get_running_loop().create_task(self._prepare(ids))

    def _fill(self) -> None:
        """Take batches from the queue until ``ahead`` are being prepared behind the first."""
        while self._ids and not self._closed and len(self._batches) <= self.ahead:
            batch = self._take()
            self._batches.append((batch, self._start(batch)))

    def _put_back(self) -> None:
        """Every batch taken and not committed back at the head of the queue, in order."""
        while self._batches:
            batch, task = self._batches.pop()
            if task is not None:
                task.cancel()
            self._ids.extendleft(reversed(batch))

    def _drop_taken(self) -> None:
        """Closing: the batches taken and not committed stay pending for the next start."""
        for _, task in self._batches:
            if task is not None:
                task.cancel()
        self._batches.clear()

    async def _prepared(self, task: asyncio.Task[P] | None) -> P | None:
        if task is None:
            return None
        try:
            return await task
        except Exception as exc:  # the pool failed: the store's thread parses the batch
            log.warning("parsing a batch off the loop failed: %s", type(exc).__name__)
            return None

    async def _work(self) -> None:
        failures = 0
        while self._ids or self._batches:
            self._fill()
            if not self._batches:
                break
            batch, task = self._batches[0]
            prepared = await self._prepared(task)
            self._fill()
            if self._busy():
                await asyncio.sleep(PARSE_YIELD_SECONDS)  # the sessions' turn on the loop
                if self._settle is not None:
                    await self._settle()
            try:
                done = await self._commit(batch, prepared)
            except Exception as exc:  # a store error of another kind: it stays pending
                log.warning(
                    "%d inbound message(s) left pending: %s", len(batch), type(exc).__name__
                )
                done = False
            if not done and not self._closed:
                self._put_back()  # this batch first, then the ones behind it
                failures += 1
                await self._pause(min(RETRY_PAUSES[0] * 2 ** (failures - 1), RETRY_PAUSES[1]))
                continue
            failures = 0
            if self._batches and self._batches[0][0] is batch:
                self._batches.popleft()
            self._queued.difference_update(batch)
            if self._closed:
                self._drop_taken()

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
        """Shutting down: finish the batch being committed and queue nothing more (the rest
        stay pending, committed, for the next start); returns how many were dropped."""
        self._closed = True
        # Those taken and not committed, but for the batch committing now (it finishes).
        taken = list(self._batches)[1:] if self._batches else []
        left = len(self._ids) + sum(len(ids) for ids, _ in taken)
        self._ids.clear()
        self._queued.clear()
        await self.drain()
        return left
