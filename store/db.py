"""SQLite access through sqlite-utils: opening, transactions, and the two faces of it.

The queries live beside this file by concern (``plan_db``, ``mail_db``, ``ledger_db``),
each in a class of reads and a class of writes. :class:`Reader` is every read on one
connection: what Slack's listeners, the digests, the board and the jobs are given.
:class:`Store` adds the writes and the transaction; the wiring opens it and hands it to
``handlers.service`` (through its ``Writer``), the only code that writes. The type checker
holds that line: a ``Reader`` has no method that writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from store.backup import is_corruption
from store.base import utc_now
from store.ledger_db import CLAIM_LEASE, LedgerReads, LedgerWrites
from store.lists_db import ListReads
from store.mail_db import MailReads, MailWrites
from store.mailbox_db import MailboxReads, MailboxWrites
from store.plan_db import PlanReads, PlanWrites
from store.round_db import RoundReads, RoundWrites
from store.schema import migrations

__all__ = [
    "CLAIM_LEASE",
    "Reader",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "open_store",
    "probe_commit",
]

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class StoreError(Exception):
    """The database could not be opened or used."""


class StoreUnavailable(StoreError):
    """A temporary failure (locked, read-only, full): the caller should retry later."""


class StoreCorrupt(StoreUnavailable):
    """The database file is damaged: writes stop (SMTP answers ``451``, so senders keep
    their mail) until it is restored from a backup."""


def probe_commit(path: str | Path, *, timeout: float = 0.05) -> str | None:
    """Whether a write could start now, on a connection of its own: ``None`` when it could,
    else the reason (locked, read-only, unreadable). Writes nothing."""
    try:
        conn = sqlite3.connect(str(path), timeout=timeout)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return None
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def open_store(path: str | Path, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the database at ``path`` in WAL mode with a busy timeout."""
    path = Path(path)
    try:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        db = Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            migrations.apply(db)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return Store(db, path=path)


class Reader(PlanReads, ListReads, MailReads, MailboxReads, LedgerReads, RoundReads):
    """Every read, on one connection, with its own thread (:meth:`call`)."""

    def __init__(self, db: Database, *, path: Path | None = None) -> None:
        self._db = db
        self.path = path
        self._executor: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._db.close()

    def data_version(self) -> int:
        """A number that changes whenever another connection commits (``PRAGMA
        data_version``): the cheap check that something read earlier is still current."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the connection's own thread, off the event loop.

        All async code uses this, so a slow or locked database never delays an HTTP ack
        or an SMTP reply, and one connection is never used by two threads at once.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))


class Store(Reader, PlanWrites, MailWrites, MailboxWrites, LedgerWrites, RoundWrites):
    """The reads and the writes; use :meth:`transaction` for writes."""

    def __init__(self, db: Database, *, path: Path | None = None) -> None:
        super().__init__(db, path=path)
        # The last write that could not commit, until one commits again: (when, why).
        self.last_failure: tuple[dt.datetime, str] | None = None
        # Why the file is damaged (an integrity check, or SQLite said so); writes stop.
        self.corrupt: str | None = None

    @property
    def db(self) -> Database:
        """The connection (for the wiring's own checks, and tests)."""
        return self._db

    def mark_corrupt(self, reason: str) -> StoreCorrupt:
        """Stop writes for good (until a restart after a restore); the error to raise."""
        if self.corrupt is None:
            self.corrupt = reason
        return StoreCorrupt(f"the database is damaged, so nothing is written: {self.corrupt}")

    def open_reader(self) -> Reader:
        """A second, read-only connection with its own thread.

        Reads through it never queue behind a write that is waiting for the lock, so forms
        and lists stay fast while the database is busy (WAL lets readers run beside a writer).
        """
        if self.path is None or str(self.path) == ":memory:":
            return self
        conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        db = Database(conn, execute_plugins=False)
        db.execute("PRAGMA query_only = ON")
        return Reader(db, path=self.path)

    # -- transactions ---------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing.

        SQLite errors that mean "try again later" become :class:`StoreUnavailable`; an
        error that says the file is damaged becomes :class:`StoreCorrupt`, and every later
        write is refused at once.
        """
        conn = self._db.conn
        if self.corrupt is not None:
            raise self.mark_corrupt(self.corrupt)
        if conn.in_transaction:
            with self._db.atomic():
                yield self
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc
        try:
            yield self
        except sqlite3.DatabaseError as exc:
            # Locked, read-only, disk full: a temporary failure the caller can retry.
            self._rollback()
            if isinstance(exc, sqlite3.OperationalError) or is_corruption(exc):
                raise self._unavailable(exc) from exc
            raise
        except BaseException:
            self._rollback()
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._unavailable(exc) from exc
        self.last_failure = None

    def _rollback(self) -> None:
        if self._db.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.conn.execute("ROLLBACK")

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        if is_corruption(exc):
            return self.mark_corrupt(str(exc))
        self.last_failure = (utc_now(), str(exc))
        return StoreUnavailable(str(exc))
