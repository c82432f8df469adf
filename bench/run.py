"""Benchmarks: each prints a ratio against a baseline measured in the same run.

Later issues add their benchmarks here (Slack ack latency, SMTP ingest, digest build).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

from digests.report import build_report, render_report
from handlers.plan import import_plan, load_plan
from store import open_store

ROOT = Path(__file__).resolve().parent.parent


def _time(fn, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_report() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        import_plan(
            store,
            load_plan(ROOT / "examples" / "opcc-plan-2021-24.yaml"),
            today=dt.date(2022, 9, 14),
        )
        tz = zoneinfo.ZoneInfo("Europe/London")
        # Baseline: the raw query the report cannot avoid (all deliverables and updates).
        baseline = _time(lambda: (store.deliverables(), store.updates()))
        full = _time(
            lambda: render_report(
                build_report(
                    store, day_from=dt.date(2022, 3, 1), day_to=dt.date(2022, 9, 14), tz=tz
                ),
                "markdown",
            )
        )
        print(
            f"report (example plan, markdown): {full * 1000:.2f} ms; "
            f"baseline raw reads {baseline * 1000:.2f} ms; ratio {full / baseline:.1f}x"
        )
        store.close()


if __name__ == "__main__":
    bench_report()
    sys.exit(0)
