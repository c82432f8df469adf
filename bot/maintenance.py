"""The database's own care inside ``serve``: the integrity check at start and every night,
and the nightly backup with rotation (``BACKUP_DIR``, ``BACKUP_KEEP``).

Both run on connections of their own, in a worker thread: WAL lets them read beside the
writer, so SMTP and Slack carry on while they run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from handlers.service import BackupResult, make_backup
from store import BackupFailed, Store, check_database

__all__ = ["NIGHTLY_AT", "Maintenance"]

log = logging.getLogger("deliverabot")

NIGHTLY_AT = dt.time(2, 30)  # local time: before the 03:17 WAL checkpoint


class Maintenance:
    def __init__(
        self, *, settings: Settings, store: Store, clock: Callable[[], dt.datetime]
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.last_backup: BackupResult | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.settings.db_path)

    async def check(self) -> bool:
        """``PRAGMA quick_check``; on failure writes stop (see :class:`store.StoreCorrupt`),
        ``/healthz`` says why, and one error line tells the operator what to do."""
        if str(self.db_path) == ":memory:" or not self.db_path.exists():
            return True
        problems = await asyncio.to_thread(check_database, self.db_path, quick=True)
        if not problems:
            return True
        self._damaged("; ".join(problems[:3])[:500])
        return False

    def _damaged(self, reason: str) -> None:
        first = self.store.corrupt is None
        self.store.mark_corrupt(f"failed its integrity check: {reason}")
        if first:
            log.error(
                "the database %s failed its integrity check (%s). Nothing more is written "
                "(SMTP answers 451, so senders keep their mail); restore the latest good "
                "backup with: deliverabot restore FILE",
                self.db_path,
                reason,
            )

    async def nightly(self) -> None:
        """The daily check, then (when it passed and ``BACKUP_KEEP`` > 0) the backup and its
        rotation. A damaged database is never backed up over the good backups."""
        if not await self.check():
            return
        keep = self.settings.backup_keep
        if keep <= 0:
            return
        try:
            result = await asyncio.to_thread(
                make_backup,
                self.db_path,
                self.settings.backups,
                now=self.clock(),
                nightly=True,
                keep=keep,
            )
        except BackupFailed as exc:
            if exc.damaged:
                self._damaged(str(exc))
            else:
                log.error("nightly backup failed: %s", exc)
            return
        except OSError as exc:
            log.error("nightly backup failed: %s", exc)
            return
        self.last_backup = result
        log.info(
            "nightly backup: %s (%d bytes, %.2f s)%s",
            result.copy.path,
            result.copy.bytes,
            result.copy.seconds,
            f"; removed {len(result.removed)} older" if result.removed else "",
        )
