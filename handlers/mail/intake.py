"""The intake: the group commit that lets concurrent senders share the store's one writer."""

from __future__ import annotations

import asyncio
from typing import Any

from handlers.mail.parse import message_id_of
from handlers.service import accept_inbound_batch
from store import Store

__all__ = ["PARSE_YIELD_SECONDS", "GroupCommit", "storage_failure"]

PARSE_YIELD_SECONDS = 0.02


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

    def __init__(self, store: Store, *, max_batch: int = 200) -> None:
        self.store = store
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
        raw: bytes,
        mail_from: str | None,
        rcpt_tos: list[str],
        peer: str | None = None,
        source: str = "smtp",
    ) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        item = {
            "raw": raw,
            "mail_from": mail_from,
            "rcpt_tos": rcpt_tos,
            "peer": peer,
            "source": source,
            "message_id": message_id_of(raw),
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
                ids = await self.store.call(
                    accept_inbound_batch, self.store, [item for item, _ in batch]
                )
            except Exception as exc:  # StoreUnavailable above all: every sender retries
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), inbound_id in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(inbound_id)
