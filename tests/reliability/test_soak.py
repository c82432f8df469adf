"""Memory at rest, and a soak under mixed load (RELIABILITY_SOAK_SECONDS; 600 in make
reliability, skipped otherwise): no error, and memory growth under 10%."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from reliability_harness import Served, SlackThread, health, message, scale, send


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_idle_serve_stays_under_150_mb(served: Served) -> None:
    served.start()
    time.sleep(1)
    assert served.proc is not None
    rss = _rss_mb(served.proc.pid)
    print(f"\nidle RSS of serve: {rss:.0f} MB")
    assert rss < 150
    assert served.stop()[0] == 0


@pytest.mark.skipif(
    not scale("RELIABILITY_SOAK_SECONDS", 0), reason="the soak runs in make reliability"
)
def test_soak_mixed_load_no_errors_and_memory_flat(served: Served) -> None:
    slack = SlackThread(users={"U0COMMUNITY": "priya.shah@example.org"})
    served.env.update(slack.env())
    served.start()
    assert served.proc is not None
    seconds = scale("RELIABILITY_SOAK_SECONDS", 0)
    acks: list[float] = []
    errors: list[str] = []
    sent = [0]
    stop = threading.Event()

    def mail(worker: int) -> None:
        i = 0
        while not stop.is_set():
            code = send(served.smtp, message(i, f"soak{worker}"))
            if code != 250:
                errors.append(f"smtp {code}")
            sent[0] += 1
            i += 1
            time.sleep(0.05)

    def probe() -> None:
        while not stop.is_set():
            status, _, took = health(served.http)
            if status != 200 or took > 0.1:
                errors.append(f"healthz {status} {took * 1000:.0f} ms")
            time.sleep(0.5)

    def commands() -> None:
        i = 0
        while not stop.is_set():
            text = ["list", "help", f"update CF-10: soak {i}", "show CF-10"][i % 4]
            started = time.monotonic()
            status = slack.command(served.http, text, "U0COMMUNITY", f"s{i}")
            acks.append(time.monotonic() - started)
            if status != 200:
                errors.append(f"slack {status}")
            i += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=mail, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=probe), threading.Thread(target=commands)]
    for t in threads:
        t.start()
    time.sleep(min(30, seconds / 10))  # warm up before the baseline
    first = _rss_mb(served.proc.pid)
    time.sleep(seconds)
    last = _rss_mb(served.proc.pid)
    stop.set()
    for t in threads:
        t.join(30)
    growth = (last - first) / first
    p99 = sorted(acks)[int(0.99 * (len(acks) - 1))] if acks else 0.0
    print(
        f"\nsoak {seconds} s: {sent[0]} messages, {len(acks)} commands (ack p99 "
        f"{p99 * 1000:.0f} ms), {len(errors)} errors; RSS {first:.0f} -> {last:.0f} MB "
        f"({growth:+.1%})"
    )
    assert errors == [] and growth < 0.10 and p99 < 0.150
    assert served.stop()[0] == 0
    slack.close()
