"""The backlog a `kill -9` leaves (RELIABILITY_BACKLOG pending messages; 7,000 in make
reliability) is drained continuously after the restart, not 1,000 per 15 minutes, while
live SMTP keeps answering 250."""

from __future__ import annotations

import threading
import time

from reliability_harness import Served, message, scale, seed_pending, send


def _live(served: Served, codes: list[int], stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        codes.append(send(served.smtp, message(i, "live"), timeout=10))
        i += 1
        time.sleep(0.02)


def test_a_crash_backlog_drains_continuously_while_live_smtp_answers_250(served: Served) -> None:
    backlog = scale("RELIABILITY_BACKLOG", 1_500)  # more than the 1,000 a pass used to take
    served.start()
    assert send(served.smtp, message(0, "before")) == 250
    served.kill9()
    seed_pending(served.db, backlog, "crash")

    started = time.monotonic()
    served.start()
    codes: list[int] = []
    stop = threading.Event()
    sender = threading.Thread(target=_live, args=(served, codes, stop))
    sender.start()
    pending, last, stalled = backlog, backlog, 0.0
    last_progress = time.monotonic()
    deadline = started + max(60.0, backlog / 25)  # far less than one 15-minute housekeeping
    try:
        while pending and time.monotonic() < deadline:
            time.sleep(0.25)
            pending = served.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'")[0][0]
            now = time.monotonic()
            if pending < last:
                last, last_progress = pending, now
            stalled = max(stalled, now - last_progress)
    finally:
        took = time.monotonic() - started
        stop.set()
        sender.join(30)
    crash_done = served.query(
        "SELECT COUNT(*) FROM inbound WHERE message_id LIKE '<crash-%' AND state = 'counted'"
    )[0][0]
    print(
        f"\nbacklog of {backlog} after kill -9: {crash_done} processed in {took:.1f} s "
        f"({crash_done / took:.0f}/s), longest pause {stalled:.1f} s; live SMTP during the "
        f"drain: {codes.count(250)} of {len(codes)} answered 250"
    )
    assert crash_done == backlog and pending == 0
    assert stalled < 10  # continuous: no waiting for the next housekeeping run
    assert codes and set(codes) == {250}
    live = served.query("SELECT COUNT(*) FROM inbound WHERE message_id LIKE '<live-%'")[0][0]
    assert live == len(codes)
    letters = served.query("SELECT COUNT(*) FROM correspondence")[0][0]
    counted = served.query("SELECT COUNT(*) FROM inbound WHERE state = 'counted'")[0][0]
    assert letters == counted  # each letter once
    assert served.stop()[0] == 0
