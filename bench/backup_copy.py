"""Backup and integrity-check times, against a plain file copy of the same database.

1x is a realistic office (digest_scale's year of history) plus 30 days of raw mail kept
for re-parsing (130 messages of 40 KB); 100x has 100 times the history and 10 times the mail.
`deliverabot backup` is the online backup API plus `PRAGMA integrity_check` on the copy;
the baseline is `shutil.copyfile` (what `cp` does, and gets wrong on a live database).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from common import median_time, summarise
from digest_scale import _populate

from handlers.service import accept_inbound_batch, make_backup
from store import Store, check_database, open_store

NOW = dt.datetime(2026, 1, 2, 2, 30, tzinfo=dt.UTC)


def _raw_mail(store: Store, count: int, rng: random.Random) -> None:
    for start in range(0, count, 100):
        accept_inbound_batch(
            store,
            [
                {
                    "raw": b"Subject: x\r\n\r\n" + rng.randbytes(30_000).hex().encode()[:40_000],
                    "rcpt_tos": ["correspondence@localhost"],
                    "message_id": f"<bench-{i}@example.org>",
                }
                for i in range(start, min(count, start + 100))
            ],
        )


def _measure(folder: Path, scale: int, mail: int) -> tuple[int, float, float, float]:
    db = folder / f"scale{scale}.db"
    store = open_store(db)
    rng = random.Random(7)
    _populate(store, scale, rng)
    _raw_mail(store, mail, rng)
    store.close()
    size = db.stat().st_size + (os.path.getsize(f"{db}-wal") if Path(f"{db}-wal").exists() else 0)
    n = [0]

    def backup() -> None:
        n[0] += 1
        make_backup(db, folder / "b", now=NOW + dt.timedelta(seconds=n[0]))

    ours = median_time(backup, repeat=3)
    cp = median_time(lambda: shutil.copyfile(db, folder / "cp.db"), repeat=3)
    started = time.perf_counter()
    assert check_database(db, quick=True) == []
    quick = time.perf_counter() - started
    return size, ours, cp, quick


def main() -> None:
    print("\nbackup (online backup API + integrity_check) vs a plain file copy")
    with tempfile.TemporaryDirectory() as tmp:
        for scale, mail in ((1, 130), (100, 1300)):
            size, ours, cp, quick = _measure(Path(tmp), scale, mail)
            print(
                f"  {scale:>3}x  {size / 1e6:6.1f} MB:  backup {ours * 1000:6.0f} ms, "
                f"cp {cp * 1000:5.0f} ms, quick_check {quick * 1000:5.0f} ms"
            )
            summarise(
                f"backup at {scale}x ({size / 1e6:.0f} MB)",
                f"{ours * 1000:.0f} ms",
                f"cp {cp * 1000:.0f} ms",
                ours / cp,
                "< 2 s" if scale == 1 else "< 10 s",
            )
