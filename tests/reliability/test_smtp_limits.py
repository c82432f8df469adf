"""Unfinished large DATA sessions against a real `serve` (RELIABILITY_DATA_SESSIONS of
RELIABILITY_DATA_MB each; 30 of 9 MB in make reliability): the data is spooled to disk,
so memory does not grow with it, and one session over SMTP_MAX_SESSIONS hears 421."""

from __future__ import annotations

import socket
import time
from typing import IO

from reliability_harness import Served, message, rss_mb, scale, send


def _reply(reader: IO[bytes]) -> bytes:
    while True:
        line = reader.readline()
        if line[3:4] != b"-":
            return line


def _into_data(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    reader = sock.makefile("rb")
    assert _reply(reader).startswith(b"220")
    for command in (b"EHLO big", b"MAIL FROM:<priya.shah@example.org>"):
        sock.sendall(command + b"\r\n")
        assert _reply(reader).startswith(b"250")
    sock.sendall(b"RCPT TO:<correspondence@localhost>\r\n")
    assert _reply(reader).startswith(b"250")
    sock.sendall(b"DATA\r\n")
    assert _reply(reader).startswith(b"354")
    return sock


def test_unfinished_large_data_sessions_hold_no_memory_and_the_cap_answers_421(
    served: Served,
) -> None:
    sessions = scale("RELIABILITY_DATA_SESSIONS", 10)
    megabytes = scale("RELIABILITY_DATA_MB", 2)
    served.env["SMTP_MAX_SESSIONS"] = str(sessions)
    served.start()
    assert served.proc is not None
    time.sleep(1)
    idle = rss_mb(served.proc.pid)
    lines = megabytes * 1_000_000 // 1000
    crlf, bare = b"x" * 998 + b"\r\n", b"y" * 999 + b"\n"  # half with bare LF line ends
    socks = [_into_data(served.smtp) for _ in range(sessions)]
    for n, sock in enumerate(socks):
        sock.sendall(b"Subject: big\r\n\r\n" + (crlf if n % 2 else bare) * lines)
    with socket.create_connection(("127.0.0.1", served.smtp), timeout=10) as extra:
        over_cap = extra.makefile("rb").readline()
    time.sleep(2)  # serve reads what it is sent at once
    held = rss_mb(served.proc.pid)
    for sock in socks:
        sock.close()
    time.sleep(2)
    settled = rss_mb(served.proc.pid)
    sent = sessions * megabytes
    print(
        f"\n{sessions} unfinished DATA sessions of {megabytes} MB ({sent} MB): RSS idle "
        f"{idle:.0f} MB, held {held:.0f} MB, settled {settled:.0f} MB; "
        f"session {sessions + 1}: {over_cap[:40]!r}"
    )
    assert over_cap.startswith(b"421 4.7.0")
    assert held - idle < max(8.0, sent / 4)  # before spooling: all of it, never released
    assert settled - idle < max(8.0, sent / 4)
    assert send(served.smtp, message(1, "after")) == 250  # the slots are free again
    assert served.stop()[0] == 0
