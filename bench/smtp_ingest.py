"""SMTP ingest throughput: messages per second from the SMTP session to the committed row,
next to aiosmtpd's Sink handler (which stores nothing) measured in the same run."""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from common import EXAMPLE_PLAN, ROOT, summarise

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import open_store

MESSAGES = 1000
CLIENTS = 20  # concurrent SMTP sessions, as the goal is stated
FIXTURE = (ROOT / "tests" / "fixtures" / "mail" / "gmail-forward.eml").read_bytes()


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client(port: int, start: int, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for i in range(start, start + count):
            # Distinct originals, so every message is a new piece of correspondence.
            raw = FIXTURE.replace(b"<CAgmail-fwd-1@mail.gmail.com>", f"<bench-{i}@x>".encode())
            raw = raw.replace(b"Mill Road every evening", f"Mill Road, case {i}".encode())
            client.sendmail("priya.shah@example.org", ["correspondence@localhost"], raw)


def _drive(port: int) -> float:
    per = MESSAGES // CLIENTS
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda k: _client(port, k * per, per), range(CLIENTS)))
    return time.perf_counter() - start


def main() -> None:
    sink = Controller(Sink(), hostname="127.0.0.1", port=_port())
    sink.start()
    try:
        base = _drive(sink.port)
    finally:
        sink.stop()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seed = open_store(db)
        import_plan(seed, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
        seed.close()
        store = open_store(db)
        handler = MailHandler(
            InboundWorker(Writer(store), MailPolicy(mail_domain="localhost", hash_key=b"k"))
        )
        ours = _Controller(handler, hostname="127.0.0.1", port=_port(), server_hostname="localhost")
        ours.start()
        try:
            committed = _drive(ours.port)
            t0 = time.perf_counter()
            asyncio.run_coroutine_threadsafe(handler.worker.drain(), ours.loop).result(300)
            parsed = committed + (time.perf_counter() - t0)
        finally:
            ours.stop()
        check = open_store(db)
        counted = check.correspondence_count()
        rows = check.db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
        check.close()
        store.close()
    assert rows == MESSAGES and counted == MESSAGES, (rows, counted)
    print(f"SMTP ingest, {MESSAGES} messages over {CLIENTS} connections")
    print(f"  aiosmtpd Sink (stores nothing)  {MESSAGES / base:8.1f} msg/s (1.00x)")
    print(
        f"  deliverabot, committed (250)    {MESSAGES / committed:8.1f} msg/s "
        f"({base / committed:4.2f}x the Sink's rate)"
    )
    print(
        f"  deliverabot, parsed and counted {MESSAGES / parsed:8.1f} msg/s "
        f"({base / parsed:4.2f}x the Sink's rate)"
    )
    summarise(
        f"SMTP ingest, 250 after commit, {CLIENTS} clients",
        f"{MESSAGES / committed:.0f} msg/s",
        f"{MESSAGES / base:.0f} msg/s Sink",
        base / committed,
        ">= 0.5x the Sink",
    )


if __name__ == "__main__":
    main()
