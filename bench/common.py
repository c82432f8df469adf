"""Helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PLAN = ROOT / "examples" / "opcc-plan-2021-24.yaml"
sys.path.insert(0, str(ROOT / "tests" / "support"))


def median_time(fn: Callable[[], object], repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# One row per measure, filled by each benchmark, printed as one table by run.py:
# (measure, our figure, the baseline's figure, ratio, goal).
SUMMARY: list[tuple[str, str, str, str, str]] = []


def summarise(measure: str, ours: str, baseline: str, ratio: float, goal: str) -> None:
    SUMMARY.append((measure, ours, baseline, f"{ratio:.2f}x", goal))


def print_summary() -> None:
    head = ("measure", "deliverabot", "baseline", "ratio", "goal")
    rows = [head, *SUMMARY]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
