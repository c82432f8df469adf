"""Two `serve` processes on one database at digest time, and two concurrent
`digest --retry` runs: one post per period."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import zoneinfo
from pathlib import Path

from reliability_harness import Served

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _posts(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.glob("*digest-*.md") if "undelivered" not in p.name)


def test_two_servers_at_digest_time_post_once_and_two_retries_post_once(
    served: Served, tmp_path: Path
) -> None:
    now = dt.datetime.now(LONDON)
    # The schedule's moment has just passed: both processes find the digest due at start.
    served.env["DIGEST_SCHEDULE"] = f"{now:%a}".lower() + " 00:00"
    other = Served(served.exe, dict(served.env), tmp_path)
    served.start()
    other.start()
    outbox = Path(served.env["OUTBOX_DIR"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not served.query(
        "SELECT 1 FROM digest_ledger WHERE state = 'sent'"
    ):
        time.sleep(0.2)
    time.sleep(1)  # give the slower process every chance to post a second time
    ledger = served.query("SELECT period, state FROM digest_ledger WHERE kind = 'digest'")
    posted = _posts(outbox)
    print(f"\ntwo serve processes: ledger {ledger}, {len(posted)} post(s)")
    assert len(ledger) == 1 and ledger[0][1] == "sent" and len(posted) == 1
    assert served.stop()[0] == 0 and other.stop()[0] == 0

    # The post is then found to have failed: two operators run --retry at once.
    served.query("UPDATE digest_ledger SET state = 'failed'")
    runs = [
        subprocess.Popen(
            [served.exe, "digest", "--retry"],
            env=served.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=60)[0] for r in runs]
    sent = sum(o.count(": sent") for o in outputs)
    print(f"two concurrent --retry: {sent} sent; outputs {[o.strip() for o in outputs]}")
    assert sent == 1 and len(_posts(outbox)) == 2
    assert served.query("SELECT state FROM digest_ledger") == [("sent",)]
