"""`kill -9` of `serve` under SMTP load: every message answered 250 is there after restart."""

from __future__ import annotations

import threading
import time

from reliability_harness import Served, SlackThread, message, scale, send


def _load(served: Served, tag: str, accepted: list[str], stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        mid = f"{tag}-{i}"
        if send(served.smtp, message(i, tag), timeout=10) == 250:
            accepted.append(f"<{mid}@example.org>")
        i += 1


def _updates(served: Served, slack: SlackThread, tag: str, stop: threading.Event) -> None:
    """Slack load: Priya records notes on her own CF-10, one after another."""
    i = 0
    while not stop.is_set():
        slack.command(served.http, f"update CF-10: note {tag}-{i}", "U0COMMUNITY", f"{tag}-{i}")
        i += 1


def test_every_250_and_every_slack_success_survives_kill_9_twice(served: Served) -> None:
    accepted: list[str] = []
    senders = scale("RELIABILITY_SENDERS", 4)
    slack = SlackThread(users={"U0COMMUNITY": "priya.shah@example.org"})
    served.env.update(slack.env())
    for round_ in (1, 2):
        served.start()
        stop = threading.Event()
        threads = [
            threading.Thread(target=_load, args=(served, f"k{round_}s{t}", accepted, stop))
            for t in range(senders)
        ] + [
            threading.Thread(target=_updates, args=(served, slack, f"u{round_}s{t}", stop))
            for t in range(2)
        ]
        for t in threads:
            t.start()
        time.sleep(scale("RELIABILITY_LOAD_SECONDS", 2))
        served.kill9()  # mid-load: sessions are cut in the middle of their conversations
        stop.set()
        for t in threads:
            t.join(30)
    served.start()  # the restart processes whatever was left pending
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not served.query("SELECT 1 FROM inbound WHERE state = 'pending' LIMIT 1"):
            break
        time.sleep(0.2)
    stored = {r[0] for r in served.query("SELECT message_id FROM inbound")}
    found = [m for m in accepted if m in stored]
    print(f"\nkill -9 twice under SMTP load: accepted {len(accepted)}, found {len(found)}")
    assert accepted and len(found) == len(accepted)
    pending = served.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'")[0][0]
    assert pending == 0
    # Each accepted letter counted once: no row processed twice after the restarts.
    counted = served.query("SELECT COUNT(*) FROM inbound WHERE state = 'counted'")[0][0]
    letters = served.query("SELECT COUNT(*) FROM correspondence")[0][0]
    assert letters == counted >= len(accepted)
    # Every update Slack was told "Recorded" is in the history.
    recorded = {name for name, reply in slack.replies() if "Recorded an update" in str(reply)}
    notes = {r[0] for r in served.query("SELECT note FROM updates WHERE note LIKE 'note u%'")}
    found_notes = {n for n in recorded if f"note {n}" in notes}
    print(f"Slack updates confirmed {len(recorded)}, found {len(found_notes)}")
    assert recorded and found_notes == recorded
    code, _ = served.stop()
    slack.close()
    assert code == 0
