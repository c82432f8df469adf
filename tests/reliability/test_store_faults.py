"""Store faults: locked past the busy timeout, read-only, full. SMTP answers 451/452, the
health check stays fast and says why, and once the fault is gone the sender's retry is
accepted and counted once."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from reliability_harness import Served, health, message, send

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import Store, open_store


def test_locked_database_gets_451_health_stays_fast_then_the_retry_counts_once(
    served: Served,
) -> None:
    served.start()
    locker = sqlite3.connect(served.db, timeout=1)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        code = send(served.smtp, message(1, "locked"))
        waited = time.monotonic() - started
        status, body, took = health(served.http)
    finally:
        locker.rollback()
        locker.close()
    print(f"\nlocked: SMTP {code} after {waited:.1f} s; /healthz {status} in {took * 1000:.0f} ms")
    assert code == 451
    assert status == 503 and body["status"] == "degraded" and took < 1.0
    assert send(served.smtp, message(1, "locked")) == 250  # the sender's retry
    deadline = time.monotonic() + 20
    while served.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'")[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert served.query("SELECT COUNT(*) FROM inbound") == [(1,)]
    assert served.query("SELECT COUNT(*) FROM correspondence") == [(1,)]
    assert served.stop()[0] == 0


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def smtp_on_store(
    tmp_path: Path, example_plan: Path, free_port: int
) -> Iterator[tuple[int, Store]]:
    db = tmp_path / "faults.db"
    seed = open_store(db)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    store = open_store(db)
    handler = MailHandler(
        InboundWorker(Writer(store), MailPolicy(mail_domain="localhost", hash_key=b"k"))
    )
    controller = _Controller(
        handler, hostname="127.0.0.1", port=free_port, server_hostname="localhost"
    )
    controller.start()
    try:
        yield free_port, store
    finally:
        asyncio.run_coroutine_threadsafe(handler.worker.drain(), controller.loop).result(30)
        controller.stop()
        store.close()


def _on_store_thread(store: Store, fn: Callable[[], object]) -> None:
    """Change the store's own connection from its own thread (it is not shared)."""

    async def run() -> None:
        await store.call(fn)

    asyncio.run(run())


@pytest.mark.parametrize(
    ("fault", "heal", "expected"),
    [
        # read-only: the connection may not write (as when the file or disk is read-only)
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF", 451),
        # full: no page may be added
        ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823", 452),
    ],
)
def test_read_only_and_full_answer_temporary_failures_then_recover(
    smtp_on_store: tuple[int, Store], fault: str, heal: str, expected: int
) -> None:
    port, store = smtp_on_store
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    big = message(1, "fault").replace(b"Cars speed", b"x" * 98 + b"\r\n") * 1 + (
        b"more text for the page count\r\n" * 8000
    )
    _on_store_thread(store, lambda: store.db.execute(fault.format(pages=pages)))
    code = send(port, big)
    _on_store_thread(store, lambda: store.db.execute(heal))
    again = send(port, big)
    time.sleep(0.5)
    rows = store.db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
    print(f"\n{fault.split('=')[0].strip()}: SMTP {code}, then {again}; stored {rows}")
    assert code == expected and again == 250 and rows == 1
