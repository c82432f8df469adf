"""Outgoing mail goes through SMTP_RELAY, or to the outbox when there is none or it fails."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from handlers.mail import Mailer


def _msg() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "updates@localhost"
    msg["To"] = "priya.shah@example.org"
    msg["Subject"] = "Re: done"
    msg.set_content("Recorded.")
    return msg


class Capture:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope.content)
        return "250 OK"


async def test_relay_delivers(tmp_path: Path, free_port: int) -> None:
    capture = Capture()
    relay = Controller(capture, hostname="127.0.0.1", port=free_port)
    relay.start()
    try:
        where = await Mailer(relay=f"127.0.0.1:{free_port}", outbox=tmp_path / "outbox").send(
            _msg()
        )
    finally:
        relay.stop()
    assert where == f"relay 127.0.0.1:{free_port}"
    assert b"Subject: Re: done" in capture.received[0]
    assert not (tmp_path / "outbox").exists()


async def test_unreachable_relay_falls_back_to_the_outbox(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    where = await Mailer(relay=f"127.0.0.1:{dead}", outbox=tmp_path / "outbox", timeout=2).send(
        _msg()
    )
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert where == str(files[0])
    assert b"Recorded." in files[0].read_bytes()


async def test_no_relay_writes_the_outbox(tmp_path: Path) -> None:
    where = await Mailer(relay=None, outbox=tmp_path / "o").send(_msg())
    assert where.endswith("-Re-done.eml")
