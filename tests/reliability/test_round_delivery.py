"""The paper round's DMs exactly once: a round opened while Slack is down, then two `serve`
processes on one database when it is back, a `kill -9` and restart, and a line returned
while both run: every owner gets one ask, and the returned line one second ask."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import zoneinfo
from collections import Counter
from pathlib import Path

from reliability_harness import Served, SlackThread, free_port

LONDON = zoneinfo.ZoneInfo("Europe/London")
OWNERS = {"U0COMMUNITY", "U0PLANLEAD", "U0PREVENT", "U0VICTIMS", "U0JUSTICE", "U0ETHICS"}


def _wait(served: Served, sql: str, expected: list[tuple], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and served.query(sql) != expected:
        time.sleep(0.2)
    assert served.query(sql) == expected


def test_round_dms_go_out_once_across_slack_down_two_servers_and_restarts(
    served: Served, tmp_path: Path
) -> None:
    slack = SlackThread()
    try:
        today = dt.datetime.now(LONDON).date()
        env = {**served.env, **slack.env(), "DELIVERABOT_AS": "alex.morgan@example.org"}
        down = {**env, "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}
        opened = subprocess.run(
            [
                served.exe,
                "round",
                "open",
                "sept-2022",
                "--from",
                "2022-03-01",
                "--to",
                "2022-09-14",
                "--panel",
                str(today + dt.timedelta(days=14)),
                "--due",
                str(today + dt.timedelta(days=7)),
            ],
            env=down,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert opened.returncode == 0, opened.stderr
        assert "6 not sent; serve (or deliverabot round send) tries again" in opened.stderr
        by_state = (
            "SELECT state, COUNT(*) FROM digest_ledger WHERE kind = 'round-ask' GROUP BY state"
        )
        assert served.query(by_state) == [("failed", 6)]  # nothing lost while Slack is down

        served.env.update(env)
        other = Served(served.exe, dict(env), tmp_path)
        served.start()
        other.start()  # Slack is back: both processes find the six asks owed at start
        _wait(served, by_state, [("sent", 6)])
        time.sleep(1.5)  # every chance for the slower process to send a second time

        posts = Counter(p["channel"] for p in slack.fake.calls_to("chat.postMessage"))
        assert posts == Counter({owner: 1 for owner in OWNERS})

        other.kill9()  # a crash, and a restart: nothing is sent again
        other.start()
        time.sleep(2)
        assert Counter(p["channel"] for p in slack.fake.calls_to("chat.postMessage")) == posts

        returned = subprocess.run(
            [
                served.exe,
                "round",
                "return",
                "sept-2022",
                "CF-3",
                "please add the funding figure",
                "--no-send",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert returned.returncode == 0, returned.stderr
        assert served.stop()[0] == 0 and other.stop()[0] == 0
        served.start()
        other.start()  # both at once, each passing at start: the second ask goes out once
        _wait(served, "SELECT state FROM digest_ledger WHERE kind = 'round-again'", [("sent",)])
        time.sleep(1.5)
        final = Counter(p["channel"] for p in slack.fake.calls_to("chat.postMessage"))
        print(f"\nround DMs by owner after Slack down, two servers, kill -9, return: {dict(final)}")
        assert final == posts + Counter({"U0COMMUNITY": 1})
        again = slack.fake.calls_to("chat.postMessage")[-1]
        assert any("please add the funding figure" in str(b) for b in again["blocks"])
        assert served.stop()[0] == 0 and other.stop()[0] == 0
    finally:
        slack.close()
