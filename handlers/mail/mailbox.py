"""Mail from the office's own mailbox: an IMAP source beside the SMTP port.

Each folder gets one connection on a thread of its own (``imapclient`` is blocking), driven
from the event loop. A message is handed to ``submit(raw, envelope)``, which commits it
exactly once (the folder's UIDVALIDITY and the UID are part of the commit) and queues it
for the same processing as SMTP and ``mail import``; only then is it moved to the
Processed folder or flagged ``\\Seen``. Nothing is ever deleted.

The interface is small on purpose: :meth:`MailboxSource.run` takes only ``submit``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from handlers.mail.inbound import Envelope
from handlers.mail.mailbox_auth import Login, SignInError, server_text
from handlers.mail.mailbox_imap import (
    ImapServer,
    ImapSession,
    MailboxDropped,
    MailboxRefused,
    throttle_seconds,
)
from handlers.mail.trust import MAILBOX_PEER
from handlers.service import (
    MailboxKey,
    mailbox_marked,
    start_mailbox_folder,
)
from handlers.service.writer import Writer
from store import utc_now

__all__ = [
    "Envelope",
    "FolderRoute",
    "MailboxConfig",
    "MailboxSource",
    "Progress",
    "SourceBase",
    "Submit",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

FETCH_CHUNK = 50  # messages fetched, committed and then marked together
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds: reconnecting after a drop
SIGN_IN_RETRY = 300.0  # seconds: a refused sign-in needs a person; try again now and then


@dataclass(frozen=True)
class FolderRoute:
    """A folder and the address its mail is treated as sent to (``correspondence@``,
    ``correspondence+complaint@``, ``updates@``)."""

    folder: str
    rcpt: str


@dataclass(frozen=True)
class MailboxConfig:
    server: ImapServer
    account: str  # who signs in, e.g. bot@opcc.example.org (also the store's key)
    folders: tuple[FolderRoute, ...]
    since: dt.date | None = None  # only mail the server received on or after this day
    after: str = "move"  # move | seen
    processed: str = "Processed"
    idle_seconds: float = 10 * 60.0  # IDLE is re-issued after this (servers drop at 30 min)
    poll_seconds: float = 60.0  # without IDLE: a NOOP and a look this often
    stale_after: dt.timedelta = dt.timedelta(minutes=30)
    # A message committed but not marked is another poller's to mark for this long (it is
    # about to); after that, or at this source's start, the taker is taken to have died.
    leftover_after: dt.timedelta = dt.timedelta(seconds=30)


# Commit one message and queue it for processing; ``(taken, inbound id)`` as
# :func:`handlers.service.take_mailbox_message` gives them.
Submit = Callable[[bytes, Envelope], Awaitable[tuple[bool, int | None]]]


class Progress(Protocol):
    """What the first sync reports to (a ``tqdm`` bar, as ``mail import`` shows)."""

    total: float | None

    def update(self, n: int = 1) -> Any: ...

    def refresh(self) -> Any: ...


@dataclass
class FolderHealth:
    started: dt.datetime
    contact: dt.datetime | None = None
    error: str | None = None
    sign_in: bool = False  # the error is a refused sign-in (no use waiting)

    def problem(self, now: dt.datetime, stale_after: dt.timedelta) -> str | None:
        if self.sign_in and self.error:
            return self.error
        since = self.contact or self.started
        if now - since <= stale_after:
            return None
        minutes = int((now - since).total_seconds() // 60)
        why = f": {self.error}" if self.error else ""
        return f"not reached for {minutes} minutes{why}"


class _Thread:
    """One thread for one IMAP connection: every call on it runs there, in order."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SourceBase:
    """What every mailbox source shares: its folders' health, and stopping."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        writer: Writer,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.config = config
        self.writer = writer  # what it records through: where it has got to in each folder
        self.reader = writer.reader
        self.clock = clock
        self._stop = threading.Event()
        now = clock()
        self.health = {r.folder: FolderHealth(started=now) for r in config.folders}
        self.started = now
        # Taken by this source and not yet marked (a mark that failed): ours to mark next.
        self._mine: set[tuple[str, int, int]] = set()

    def _leftovers_before(self, folder: str) -> dt.datetime:
        """Which unmarked messages are left over, to be marked by us: those taken before this
        source started (whoever took them stopped), or longer ago than ``leftover_after``.
        A younger one is another running poller's, which is about to mark it: two MOVEs of
        one message would leave two copies in Processed."""
        return max(self.started, self.clock() - self.config.leftover_after)

    # -- health -----------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the mailbox is not being read, or ``None`` (for ``/healthz``)."""
        now = self.clock()
        for folder, health in self.health.items():
            why = health.problem(now, self.config.stale_after)
            if why:
                return f"mailbox {self.config.account} {folder}: {why}"
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "account": self.config.account,
            "folders": {
                folder: {
                    "last_contact": h.contact.isoformat() if h.contact else None,
                    "error": h.error,
                }
                for folder, h in self.health.items()
            },
        }

    def _contact(self, folder: str) -> None:
        health = self.health[folder]
        health.contact, health.error, health.sign_in = self.clock(), None, False

    def stop(self) -> None:
        """Wake every connection that is idling or waiting, so that it ends within a second."""
        self._stop.set()

    async def run(self, submit: Submit) -> None:
        """Read every folder until cancelled (or :meth:`stop`)."""
        raise NotImplementedError

    async def sync_once(self, submit: Submit, *, progress: Progress | None = None) -> int:
        """Read every folder once; how many messages were handed to ``submit``."""
        raise NotImplementedError


class MailboxSource(SourceBase):
    """Reads the configured IMAP folders and hands each message to ``submit``."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        writer: Writer,
        login: Login,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        super().__init__(config, writer=writer, clock=clock)
        self.login = login

    async def run(self, submit: Submit) -> None:
        """Read every folder until cancelled (or :meth:`stop`): IDLE, reconnect, repeat."""
        self._stop.clear()
        await asyncio.gather(*(self._watch(route, submit) for route in self.config.folders))

    async def sync_once(self, submit: Submit, *, progress: Progress | None = None) -> int:
        """Read every folder once (the first run: ``deliverabot mail sync``); how many
        messages were handed to ``submit``. Raises on any failure."""
        total = 0
        for route in self.config.folders:
            thread, session = _Thread(), ImapSession(self.config.server, self.login)
            try:
                await thread.run(self._open, session)
                total += await self._sync(thread, session, route, submit, progress)
                self._contact(route.folder)
            finally:
                await thread.run(session.close)
                thread.close()
        return total

    def _open(self, session: ImapSession) -> None:
        session.connect()
        if self.config.after == "move":
            session.ensure_folder(self.config.processed)

    async def _watch(self, route: FolderRoute, submit: Submit) -> None:
        backoff = BACKOFF_FIRST
        health = self.health[route.folder]
        while not self._stop.is_set():
            thread, session = _Thread(), ImapSession(self.config.server, self.login)
            try:
                await thread.run(self._open, session)
                backoff = BACKOFF_FIRST
                await self._follow(thread, session, route, submit)
                delay = 0.0
            except SignInError as exc:
                health.error, health.sign_in = str(exc), True
                log.error("mailbox %s: %s", self.config.account, exc)
                delay = SIGN_IN_RETRY
            except (MailboxRefused, MailboxDropped, OSError, Exception) as exc:
                why = server_text(exc) if str(exc) else type(exc).__name__
                health.error = why
                throttled = throttle_seconds(why)
                delay = throttled or backoff
                backoff = min(backoff * 2, BACKOFF_MAX)
                log.warning(
                    "mailbox %s %s: %s; connecting again in %.0f s",
                    self.config.account,
                    route.folder,
                    why,
                    delay,
                )
            finally:
                await thread.run(session.close)
                thread.close()
            if delay:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _follow(
        self, thread: _Thread, session: ImapSession, route: FolderRoute, submit: Submit
    ) -> None:
        """Sync, wait for news (IDLE, or NOOP and poll), sync again: until stopped."""
        c = self.config
        wait = c.idle_seconds if session.can_idle else c.poll_seconds
        while not self._stop.is_set():
            found = await self._sync(thread, session, route, submit, None)
            self._contact(route.folder)
            if found:
                # Mail that came during the sync was announced in its answers, not in the
                # IDLE to come: look again, and wait only after a look that finds nothing.
                continue
            await thread.run(session.wait, wait, self._stop, lambda: self._contact(route.folder))

    async def _sync(
        self,
        thread: _Thread,
        session: ImapSession,
        route: FolderRoute,
        submit: Submit,
        progress: Progress | None,
    ) -> int:
        """Take what is new in one folder: commit each message, then mark the chunk."""
        c, reader, folder = self.config, self.reader, route.folder
        uidvalidity = await thread.run(session.select, folder)
        state = await reader.call(reader.mailbox_folder, c.account, folder)
        last_uid = 0
        if state is None or state["uidvalidity"] != uidvalidity:
            if state is not None:
                log.warning(
                    "mailbox %s %s: UIDVALIDITY changed (%s -> %s); reading the folder "
                    "again, and messages already counted are known by their Message-ID",
                    c.account,
                    folder,
                    state["uidvalidity"],
                    uidvalidity,
                )
            now = self.clock()
            await self.writer.call(start_mailbox_folder, c.account, folder, uidvalidity, now)
        else:
            last_uid = int(state["last_uid"])
        # Committed by a run that stopped before marking them: mark them now, never again.
        before = self._leftovers_before(folder)
        left = await reader.call(
            reader.mailbox_unmarked, c.account, folder, uidvalidity, before=before
        )
        left = sorted({*left, *(u for f, v, u in self._mine if (f, v) == (folder, uidvalidity))})
        if left:
            await self._mark(thread, session, folder, uidvalidity, left)
        uids = await thread.run(session.new_uids, last_uid, c.since)
        if progress is not None and uids:
            progress.total = (progress.total or 0) + len(uids)
            progress.refresh()
        for chunk in _chunks(uids, FETCH_CHUNK):
            fetched = await thread.run(session.fetch, chunk)
            mine: list[int] = []  # taken by this run: this run marks them
            for uid in chunk:
                if uid not in fetched:
                    continue  # gone meanwhile (moved by another poller)
                raw, when = fetched[uid]
                key = MailboxKey(c.account, folder, uidvalidity, uid)
                envelope = Envelope(
                    None, (route.rcpt,), MAILBOX_PEER, "mailbox", key=key, received_at=when
                )
                taken, _ = await submit(raw, envelope)
                if taken:
                    mine.append(uid)
                    self._mine.add((folder, uidvalidity, uid))
                if progress is not None:
                    progress.update(1)
            await self._mark(thread, session, folder, uidvalidity, mine)
        return len(uids)

    async def _mark(
        self, thread: _Thread, session: ImapSession, folder: str, uidvalidity: int, uids: list[int]
    ) -> None:
        if not uids:
            return
        c = self.config
        await thread.run(lambda: session.mark(uids, after=c.after, processed=c.processed))
        await self.writer.call(mailbox_marked, c.account, folder, uidvalidity, uids, self.clock())
        self._mine -= {(folder, uidvalidity, uid) for uid in uids}
