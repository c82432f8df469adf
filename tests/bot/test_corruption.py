"""A damaged database file (pages zeroed on disk) is noticed: at start and by the nightly
check, `/healthz` says 503 and why, SMTP answers 451 so senders keep their mail, pending mail
stays pending (never quarantined with database errors), and no backup is taken of it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import smtplib
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import UpdateRequest, accept_inbound, import_plan, record_update
from store import Source, StoreCorrupt, open_store

NOW = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)


def _message(i: int) -> bytes:
    return (
        f"From: priya.shah@example.org\r\nTo: correspondence@localhost\r\n"
        f"Subject: Fwd: case {i}\r\nMessage-ID: <pending-{i}@example.org>\r\n\r\n"
        f"---------- Forwarded message ---------\r\nFrom: Resident <r{i}@example.com>\r\n"
        f"Subject: Speeding {i}\r\n\r\nCars speed on Mill Road.\r\n"
    ).encode()


def build_database(db: Path, example_plan: Path, *, updates: int = 2000, pending: int = 5) -> None:
    """A real database: the example plan, a history of updates (most of the file), then a
    few messages accepted but not yet parsed."""
    store = open_store(db)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    actor = store.person_by_email("priya.shah@example.org")
    assert actor is not None
    with store.transaction():
        for i in range(updates):
            record_update(
                store,
                UpdateRequest(
                    deliverable="CF-10",
                    actor=actor,
                    source=Source.SLACK,
                    note=f"Progress note {i}. " + "Partners met again. " * 20,
                ),
            )
    for i in range(pending):
        accept_inbound(
            store,
            raw=_message(i),
            mail_from="priya.shah@example.org",
            rcpt_tos=["correspondence@localhost"],
            message_id=f"<pending-{i}@example.org>",
        )
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def zero_pages(path: Path, count: int = 8, page: int = 4096) -> None:
    first = path.stat().st_size // page // 2
    with open(path, "r+b") as f:
        for n in range(first, first + count):
            f.seek(n * page)
            f.write(b"\0" * page)


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _data_code(port: int, i: int) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("test")
        client.mail("priya.shah@example.org")
        client.rcpt("correspondence@localhost")
        client.putcmd("data")
        if client.getreply()[0] != 354:
            return 0
        client.send(_message(100 + i) + b"\r\n.\r\n")
        return client.getreply()[0]


def _process(tmp_path: Path, db: Path) -> BotProcess:
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db),
            "PORT": "0",
            "SMTP_PORT": "0",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "BACKUP_DIR": str(tmp_path / "backups"),
        },
        env_file=None,
    )
    return BotProcess(settings=settings, store=open_store(db), clock=lambda: NOW)


def _states(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM inbound GROUP BY state").fetchall())


async def test_a_damaged_database_is_noticed_at_start(
    tmp_path: Path, example_plan: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "damaged.db"
    build_database(db, example_plan)
    zero_pages(db, 8)
    process = _process(tmp_path, db)
    with caplog.at_level(logging.INFO):
        await process.start()
        try:
            status, body = await asyncio.to_thread(_health, process.http_port)
            assert status == 503, body
            assert body["status"] == "degraded" and "integrity check" in body["reason"]
            codes = [await asyncio.to_thread(_data_code, process.smtp_port, i) for i in range(3)]
            assert codes == [451, 451, 451]
            await asyncio.sleep(0.3)  # time for any background processing to run
        finally:
            await process.stop()
            process.store.close()
    # The mail accepted before the damage is still pending, for after the restore.
    assert _states(db) == {"pending": 5}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len([e for e in errors if "integrity check" in e]) == 1
    assert any("deliverabot restore" in e for e in errors)


async def test_the_nightly_check_notices_damage_and_takes_no_backup(
    tmp_path: Path, example_plan: Path
) -> None:
    db = tmp_path / "live.db"
    build_database(db, example_plan, pending=0)
    process = _process(tmp_path, db)
    await process.start()
    try:
        status, _ = await asyncio.to_thread(_health, process.http_port)
        assert status == 200
        await process.maintenance.nightly()  # sound: a nightly backup is written
        backups = list((tmp_path / "backups").glob("live-nightly-*.db"))
        assert len(backups) == 1
        assert await asyncio.to_thread(_data_code, process.smtp_port, 0) == 250
        zero_pages(db, 8)  # the disk goes bad under the running bot
        await process.maintenance.nightly()
        status, body = await asyncio.to_thread(_health, process.http_port)
        assert status == 503 and "integrity check" in body["reason"]
        assert await asyncio.to_thread(_data_code, process.smtp_port, 1) == 451
        assert list((tmp_path / "backups").glob("live-nightly-*.db")) == backups
    finally:
        await process.stop()
        process.store.close()


def test_a_write_that_meets_damage_stops_every_later_write(
    tmp_path: Path, example_plan: Path
) -> None:
    db = tmp_path / "live.db"
    build_database(db, example_plan, pending=0)
    zero_pages(db, 8)
    store = open_store(db)
    actor = store.person_by_email("priya.shah@example.org")
    assert actor is not None
    try:
        with pytest.raises(StoreCorrupt), store.transaction():
            store.db.execute("SELECT COUNT(*), SUM(LENGTH(note)) FROM updates").fetchone()
        assert store.corrupt is not None
        # Even a write that would not touch the damaged pages is refused now.
        with pytest.raises(StoreCorrupt, match="damaged"):
            accept_inbound(
                store,
                raw=_message(1),
                mail_from="priya.shah@example.org",
                rcpt_tos=["correspondence@localhost"],
                message_id="<x@example.org>",
            )
    finally:
        store.close()
