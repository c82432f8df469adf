"""Whole-file operations on the database: consistent copies, integrity checks, swapping a
file into place, and the lock that says ``serve`` has the database open.

A plain ``cp`` of a live WAL database misses whatever is still in the ``-wal`` file; SQLite's
online backup API copies a consistent snapshot (committed transactions only, the WAL's
included) while writers carry on.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CORRUPTION_CODES",
    "BackupFailed",
    "CopyInfo",
    "DatabaseLocked",
    "ServeLock",
    "check_database",
    "copy_database",
    "database_counts",
    "install_database",
    "is_corruption",
]

CORRUPTION_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
COUNTED = ("deliverables", "updates", "correspondence", "inbound")


def is_corruption(exc: BaseException) -> bool:
    """Whether a SQLite error says the file is damaged (not merely busy or read-only)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in CORRUPTION_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


@dataclass(frozen=True)
class CopyInfo:
    path: Path
    bytes: int
    seconds: float
    counts: dict[str, int]


def _connect(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def check_database(path: Path, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` (or the faster ``quick_check``) on its own connection:
    the problems found, ``[]`` when the file is sound. Never raises for a damaged file."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        return [f"cannot open: {exc}"]
    try:
        conn.execute("PRAGMA query_only = ON")
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(20)").fetchall()]
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows or ["no answer from the check"]


def database_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        t: int(conn.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0])
        for t in COUNTED
        if t in tables
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path, dest: Path) -> CopyInfo:
    """A consistent copy of ``source`` at ``dest``, through the online backup API in one
    step (one read transaction: a snapshot, while writers carry on in WAL mode), made a
    self-contained file (no ``-wal``), checked with ``integrity_check``, then renamed into
    place. On any failure nothing is left at ``dest``; the error says why."""
    started = time.perf_counter()
    if not source.is_file():
        raise BackupFailed(f"there is no database at {source}")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = _connect(source)
        try:
            src.execute("PRAGMA query_only = ON")
            out = sqlite3.connect(str(partial))
            try:
                src.backup(out)
                out.execute("PRAGMA journal_mode = DELETE")
                counts = database_counts(out)
            finally:
                out.close()
        finally:
            src.close()
        problems = check_database(partial)
        if problems:
            raise BackupFailed(_damaged(problems), damaged=True)
        _fsync(partial)
        os.replace(partial, dest)
        _fsync(dest.parent)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        if is_corruption(exc):
            raise BackupFailed(_damaged([str(exc)]), damaged=True) from exc
        raise BackupFailed(str(exc)) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return CopyInfo(dest, dest.stat().st_size, time.perf_counter() - started, counts)


class BackupFailed(Exception):
    """A copy could not be made or checked; the message says why. ``damaged``: the source
    itself is damaged (not merely unreadable or out of space)."""

    def __init__(self, message: str, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


def _damaged(problems: list[str]) -> str:
    return "the copy failed its integrity check, so the database is damaged: " + "; ".join(
        problems[:3]
    )


def install_database(new_file: Path, db_path: Path, aside: Path | None) -> None:
    """Put ``new_file`` (a checked copy in the database's own folder) in place of the
    database. The replaced database moves to ``aside`` with its ``-wal``, so it can still be
    opened; the stale ``-shm`` is removed. Only call this holding :class:`ServeLock`
    exclusively."""
    if aside is not None and db_path.exists():
        os.replace(db_path, aside)
        wal = Path(f"{db_path}-wal")
        if wal.exists():
            os.replace(wal, Path(f"{aside}-wal"))
    for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    os.replace(new_file, db_path)
    _fsync(db_path.parent)


class DatabaseLocked(Exception):
    """Another process holds the database's serve lock."""


class ServeLock:
    """``<database>.serve-lock``, locked with ``flock``: shared by every ``serve`` on the
    database for as long as it runs, exclusive for a restore. The kernel drops the lock
    when its process ends, even by ``kill -9``, so a stale file never blocks anything."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(f"{db_path}.serve-lock")
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseLocked(self.holder()) from None
        if not exclusive:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def holder(self) -> str:
        """Who holds it, for a message: ``pid N`` when the file says so."""
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.path.read_text().split()[0])
            return f"pid {pid}"
        return "another process"

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ServeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
