"""Backups and restore of the whole database: timestamped, checked copies; rotation of the
nightly ones; a restore that refuses while ``serve`` runs and keeps what it replaces."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from store import (
    BackupFailed,
    CopyInfo,
    DatabaseLocked,
    ServeLock,
    copy_database,
    install_database,
    open_store,
)

__all__ = [
    "BackupResult",
    "RestoreRefused",
    "RestoreResult",
    "make_backup",
    "restore_backup",
    "rotate_backups",
]

STAMP = "%Y%m%dT%H%M%SZ"
NAME = re.compile(r"(?P<stem>.+?)-(?P<nightly>nightly-)?(?P<ts>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.db")
OURS = ("deliverables", "updates")  # tables every Deliverabot database has


class RestoreRefused(Exception):
    """The restore did not happen, and nothing was changed; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    copy: CopyInfo
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    counts: dict[str, int]
    aside: Path | None


def _backup_path(folder: Path, db_path: Path, now: dt.datetime, nightly: bool) -> Path:
    base = f"{db_path.stem}-{'nightly-' if nightly else ''}{now.astimezone(dt.UTC):{STAMP}}"
    path, n = folder / f"{base}.db", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.db"
    return path


def make_backup(
    db_path: Path,
    folder: Path,
    *,
    now: dt.datetime,
    nightly: bool = False,
    keep: int = 0,
) -> BackupResult:
    """A checked copy of the live database in ``folder``, named
    ``<db>-[nightly-]YYYYMMDDTHHMMSSZ.db``. With ``nightly`` and ``keep``, the nightly
    backups beyond the newest ``keep`` are removed, only once the new one is sound.
    Raises :class:`BackupFailed`."""
    copy = copy_database(Path(db_path), _backup_path(Path(folder), Path(db_path), now, nightly))
    removed = rotate_backups(Path(folder), Path(db_path).stem, keep) if nightly and keep else []
    return BackupResult(copy, removed)


def rotate_backups(folder: Path, stem: str, keep: int) -> list[Path]:
    """Remove the nightly backups of ``stem`` beyond the newest ``keep``; the removed."""
    nightly = []
    for path in folder.glob(f"{stem}-nightly-*.db"):
        m = NAME.fullmatch(path.name)
        if m and m["stem"] == stem and m["nightly"]:
            nightly.append(((m["ts"], int(m["n"] or 1)), path))
    nightly.sort(reverse=True)
    removed = [path for _, path in nightly[keep:]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def restore_backup(db_path: Path, backup: Path, *, now: dt.datetime) -> RestoreResult:
    """Replace the database with ``backup``: refused while any ``serve`` holds the
    database's lock, or when the file fails its integrity check or is not a Deliverabot
    database. The replaced database is kept beside it as ``<db>.before-restore-<time>``.
    Newer migrations are applied to the restored copy."""
    db_path, backup = Path(db_path), Path(backup)
    if not backup.is_file():
        raise RestoreRefused(f"there is no file at {backup}")
    if db_path.exists() and backup.resolve() == db_path.resolve():
        raise RestoreRefused(f"{backup} is the database itself")
    lock = ServeLock(db_path)
    try:
        lock.acquire(exclusive=True)
    except DatabaseLocked as exc:
        raise RestoreRefused(
            f"deliverabot serve is running on {db_path} ({exc}); stop it first, then restore"
        ) from None
    staging = db_path.with_name(db_path.name + ".restoring")
    try:
        try:
            copy = copy_database(backup, staging)
        except BackupFailed as exc:
            raise RestoreRefused(f"{backup}: {exc}; nothing was changed") from None
        if not all(table in copy.counts for table in OURS):
            staging.unlink(missing_ok=True)
            raise RestoreRefused(f"{backup} is not a Deliverabot database; nothing was changed")
        aside = None
        if db_path.exists():
            aside = db_path.with_name(
                f"{db_path.name}.before-restore-{now.astimezone(dt.UTC):{STAMP}}"
            )
        install_database(staging, db_path, aside)
        open_store(db_path).close()  # WAL mode again, and any newer migrations
        return RestoreResult(copy.counts, aside)
    finally:
        staging.unlink(missing_ok=True)
        lock.release()
