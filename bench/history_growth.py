"""Read paths against the length of history at a fixed plan, and against the plan's size.

At 1x an office with 1, 3 and 10 years of history (``scale_data.populate``), times the
digest build (the last week of the history), the board's data (``board_rows`` today),
``plan show`` (``plan_rows``) and ``deliverabot stats --by month`` for the last twelve
months (``--from``/``--to``: the letters counted in SQL, then ``stats_from_counts``), each
as the median of a few runs. k is the exponent in time ~ years^k from 1 to 10 years (goal:
k < 0.2, since the output does not grow). ``stats`` over all history ("stats, all") is
timed too, as a figure, not a goal: its output (a row a month) grows with the history, so
its k is about 1. Then the same at 1x, 10x and 100x a plan with a year of history: growth
no worse than linear.

``--quick`` leaves out both ``stats`` measures. The machine is shared: figures are noisy;
compare runs made together.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import tempfile
import zoneinfo
from collections.abc import Callable
from pathlib import Path

from common import median_time, summarise
from scale_data import end_of, populate

from digests.board import board_rows
from digests.digest import build_digest
from digests.plan_table import plan_rows
from digests.stats import stats_from_counts
from store import Office, Reader, open_store

LONDON = zoneinfo.ZoneInfo("Europe/London")
MEASURES = ("digest", "board", "plan show", "stats", "stats, all")
if "--quick" in sys.argv:  # leave out stats
    MEASURES = MEASURES[:3]
GOALS = {"stats, all": "k ~ 1 (output grows)"}


def _office(day: dt.date) -> Office:
    now = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    return Office(tz=LONDON, clock=lambda: now)


def _jobs(store: Reader, day: dt.date) -> dict[str, Callable[[], object]]:
    office = _office(day)
    year, week, _ = day.isocalendar()
    year_ago = day - dt.timedelta(days=365)
    return {
        "digest": lambda: build_digest(store, year=year, week=week, office=office),
        "board": lambda: board_rows(store, office=office),
        "plan show": lambda: plan_rows(store, LONDON),
        "stats": lambda: stats_from_counts(
            store.correspondence_counts(since=year_ago, until=day),
            by="month",
            office=office,
            today=day,
        ),
        "stats, all": lambda: stats_from_counts(
            store.correspondence_counts(), by="month", office=office, today=day
        ),
    }


def _measure(scale: int, years: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / f"h{scale}-{years}.db")
        populate(store, scale, years=years)
        jobs = _jobs(store, end_of(years))
        times = {}
        for name in MEASURES:
            times[name] = median_time(jobs[name], repeat)
        store.close()
        return times


def _k(a: float, b: float, ratio: float) -> float:
    return math.log(b / a) / math.log(ratio)


def main() -> None:
    by_years = {y: _measure(1, y, 5) for y in (1, 3, 10)}
    print("history at 1x (ms)   " + "  ".join(f"{m:>10}" for m in MEASURES))
    for y, t in by_years.items():
        print(f"  {y:>2} years           " + "  ".join(f"{t[m] * 1000:>10.1f}" for m in MEASURES))
    for m in MEASURES:
        k = _k(by_years[1][m], by_years[10][m], 10)
        print(f"  k({m}) = {k:.2f}")
        summarise(
            f"{m}: growth with history, 1 to 10 years (k)",
            f"{by_years[10][m] * 1000:.1f} ms",
            f"{by_years[1][m] * 1000:.1f} ms",
            by_years[10][m] / by_years[1][m],
            GOALS.get(m, "k < 0.2"),
        )
    by_scale = {s: (by_years[1] if s == 1 else _measure(s, 1, 3)) for s in (1, 10, 100)}
    print("plan size, 1 year (ms)" + "  ".join(f"{m:>10}" for m in MEASURES))
    for s, t in by_scale.items():
        print(f"  {s:>3}x               " + "  ".join(f"{t[m] * 1000:>10.1f}" for m in MEASURES))
    for m in MEASURES:
        k = _k(by_scale[1][m], by_scale[100][m], 100)
        print(f"  k({m}, plan size) = {k:.2f}")
        summarise(
            f"{m}: growth with plan size, 1x to 100x (k)",
            f"{by_scale[100][m] * 1000:.1f} ms",
            f"{by_scale[1][m] * 1000:.1f} ms",
            by_scale[100][m] / by_scale[1][m],
            "k <= 1",
        )


if __name__ == "__main__":
    main()
    from common import print_summary

    print_summary()
