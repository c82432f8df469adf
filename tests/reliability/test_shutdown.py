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


def test_sigterm_while_a_digest_is_in_flight_lets_it_finish_once(served: Served) -> None:
    import datetime as dt
    import zoneinfo

    from reliability_harness import SlackThread

    slack = SlackThread()
    slack.fake.fail_next("chat.postMessage", -1)  # Slack takes 3 s to answer the post
    now = dt.datetime.now(zoneinfo.ZoneInfo("Europe/London"))
    served.env.update(slack.env())
    served.env.update({"DIGEST_CHANNEL": "C0LEADERS", "DIGEST_SCHEDULE": f"{now:%a} 00:00".lower()})
    served.start()
    time.sleep(1)  # the catch-up run has claimed the digest and is posting it
    code, err = served.stop()
    ledger = served.query("SELECT state FROM digest_ledger WHERE kind = 'digest'")
    posts = [p for p in slack.fake.calls_to("chat.postMessage") if "digest" in str(p)]
    print(f"\nSIGTERM with a digest in flight: exit {code}; ledger {ledger}; posts {len(posts)}")
    slack.close()
    assert code == 0 and "Traceback" not in err
    # Shutdown waited for the post: it went out once and the ledger says sent.
    assert ledger == [("sent",)] and len(posts) == 1
