"""SIGTERM with SMTP sessions open: a clean exit, and each open session hears 421."""

from __future__ import annotations

import smtplib
import time

from reliability_harness import Served, message, send


def test_sigterm_tells_open_sessions_421_and_exits_cleanly(served: Served) -> None:
    served.start()
    assert send(served.smtp, message(1, "before")) == 250
    idle = smtplib.SMTP("127.0.0.1", served.smtp, timeout=10)
    idle.ehlo("idle")
    half = smtplib.SMTP("127.0.0.1", served.smtp, timeout=10)
    half.ehlo("half")
    half.mail("priya.shah@example.org")
    half.rcpt("correspondence@localhost")
    started = time.monotonic()
    code, err = served.stop()
    took = time.monotonic() - started
    replies = []
    for client in (idle, half):
        try:
            replies.append(client.getreply()[0])
        except smtplib.SMTPServerDisconnected:
            replies.append(0)
        client.close()
    print(f"\nSIGTERM with 2 open sessions: exit {code} in {took:.2f} s, replies {replies}")
    assert code == 0 and "Traceback" not in err
    assert replies == [421, 421]
    assert served.query("SELECT state FROM inbound") == [("counted",)]
