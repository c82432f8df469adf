"""`deliverabot stats --by month` at 1x and 100x an office with three years of letters (none
answered, so every letter's working days run to today), and the weekly digest at 100x with
three years of history and 85% of letters answered."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

from common import summarise
from scale_data import end_of, populate

from digests.digest import build_digest
from digests.digest_render import render_digest
from store import Office, open_store

YEARS = 3
TIMEOUT = float(os.environ.get("STATS_BENCH_TIMEOUT", "150"))
LONDON = zoneinfo.ZoneInfo("Europe/London")


def _stats_cli(db: Path) -> float:
    env = {**os.environ, "DELIVERABOT_DB": str(db)}
    exe = str(Path(sys.executable).with_name("deliverabot"))
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            [exe, "stats", "--by", "month"], env=env, capture_output=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return math.inf
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - t0


def _digest(db: Path) -> float:
    store = open_store(db)
    last = end_of(YEARS) - dt.timedelta(days=7)
    year, week, _ = last.isocalendar()
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        d = build_digest(store, year=year, week=week, office=Office(tz=LONDON))
        render_digest(d, "text")
        best = min(best, time.perf_counter() - t0)
    store.close()
    return best


def _ms(s: float) -> str:
    return f"> {TIMEOUT:.0f} s (stopped)" if math.isinf(s) else f"{s * 1000:.0f} ms"


def main() -> None:
    stats = {}
    for scale in (1, 100):
        with tempfile.TemporaryDirectory() as name:
            db = Path(name) / "stats.db"
            store = open_store(db)
            sizes = populate(store, scale, years=YEARS)
            store.close()
            stats[scale] = _stats_cli(db)
            print(f"{scale:>3}x {sizes[2]:>7} letters: stats --by month {_ms(stats[scale])}")
    with tempfile.TemporaryDirectory() as name:
        db = Path(name) / "digest.db"
        store = open_store(db)
        populate(store, 100, years=YEARS, answered=0.85)
        store.close()
        digest = _digest(db)
        print(f"100x 3 years, 85% answered: weekly digest {digest * 1000:.0f} ms")
    summarise(
        "stats --by month at 100x (3 years)",
        _ms(stats[100]),
        f"{_ms(stats[1])} at 1x",
        stats[100] / stats[1],
        "< 2 s",
    )
    summarise(
        "digest at 100x, 3 years, 85% answered",
        f"{digest * 1000:.0f} ms",
        f"{_ms(stats[1])} stats at 1x",
        digest / stats[1],
        "< 300 ms",
    )


if __name__ == "__main__":
    from common import print_summary

    main()
    print_summary()
