"""A real aiosmtpd server (DeliverabotSMTP + MailHandler and its InboundWorker) on 127.0.0.1 over a temporary
SQLite file holding the example plan; smtplib is the client.

``tests/handlers/mail/test_flow.py`` uses it; the Rig in ``mail/test_smtp.py`` is the same
shape and could move here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import smtplib
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.plan import load_plan
from handlers.service import import_plan, mail_token
from handlers.service.writer import Writer
from store import Store, open_store


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


class MailRig:
    """Start with :meth:`start`, stop with :meth:`stop`; ``send`` drains the parser after."""

    def __init__(self, db_path: Path, plan: Path, port: int, **smtp: Any) -> None:
        seed = open_store(db_path)
        import_plan(seed, load_plan(plan), today=dt.date(2022, 9, 14))
        seed.close()
        self.db_path = db_path
        self.store = open_store(db_path)
        self.replies: list[EmailMessage] = []

        async def capture(msg: EmailMessage) -> str:
            self.replies.append(msg)
            return "captured"

        extra = {"max_sessions": smtp.pop("max_sessions")} if "max_sessions" in smtp else {}
        self.worker = InboundWorker(
            Writer(self.store),
            MailPolicy(mail_domain="localhost", hash_key=b"test-key"),
            send_mail=capture,
        )
        self.handler = MailHandler(self.worker, **extra)
        smtp.setdefault("data_size_limit", 64 * 1024)
        self.controller = _Controller(
            self.handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname="localhost",
            **smtp,
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> MailRig:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.drain()
        self.controller.stop()
        self.store.close()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's own loop (where the handler lives)."""
        return asyncio.run_coroutine_threadsafe(coro, self.controller.loop).result(timeout)

    def drain(self) -> None:
        self.run(self.worker.drain())

    def send(
        self,
        raw: bytes,
        *,
        sender: str = "priya.shah@example.org",
        to: str = "correspondence@localhost",
    ) -> tuple[int, bytes]:
        raw = re.sub(rb"\r?\n", b"\r\n", raw)  # as a sending MTA puts them on the wire
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.ehlo("test")
            code, resp = client.mail(sender)
            if code == 250:
                code, resp = client.rcpt(to)
            if code == 250:
                code, resp = client.data(raw)
        self.drain()
        return code, resp

    def token(self, email: str) -> str:
        store = open_store(self.db_path)
        try:
            person = store.person_by_email(email)
            assert person is not None
            return mail_token(store, person=person)
        finally:
            store.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()

    def states(self) -> list[str]:
        return [r[0] for r in self.query("SELECT state FROM inbound ORDER BY id")]

    def open_reader(self) -> Store:
        return open_store(self.db_path)
