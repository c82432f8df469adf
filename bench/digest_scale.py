"""Digest and report build times at 1x, 10x and 100x a realistic office's data.

1x is the example plan (50 deliverables in 5 themes) with a year of history: an update per
deliverable every fortnight (1,300 updates) and 130 pieces of correspondence a month (1,560).
The growth exponent k in time ~ size^k comes from the 1x and 100x runs: 1 is linear.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
import zoneinfo
from pathlib import Path

from common import summarise
from scale_data import populate

from digests.digest import build_digest
from digests.digest_render import render_digest
from digests.report import build_report, render_docx, render_report
from handlers.slack.digest import slack_message
from store import Office, Store, open_store

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _time(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _docx(store: Store) -> float:
    def word() -> None:
        r = build_report(
            store,
            day_from=dt.date(2022, 3, 1),
            day_to=dt.date(2022, 9, 12),
            office=Office(tz=LONDON),
        )
        render_docx(r)

    return _time(word, 1)


def _measure(store: Store, repeat: int) -> tuple[float, float, float]:
    raw = _time(lambda: (store.updates(), store.correspondence_rows()), repeat)

    def digest() -> None:
        d = build_digest(store, year=2022, week=10, office=Office(tz=LONDON))
        render_digest(d, "text")
        slack_message(d)

    def report() -> None:
        r = build_report(
            store,
            day_from=dt.date(2022, 3, 1),
            day_to=dt.date(2022, 9, 12),
            office=Office(tz=LONDON),
        )
        render_report(r, "markdown")

    return raw, _time(digest, repeat), _time(report, repeat)


def main() -> None:
    results = []
    for scale in (1, 10, 100):
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / f"scale{scale}.db")
            sizes = populate(store, scale)
            raw, dig, rep = _measure(store, 5 if scale < 100 else 2)
            results.append((scale, sizes, raw, dig, rep))
            if scale == 100:
                word = _docx(store)
            store.close()
    print("digest and report build times (best of several runs)")
    for scale, (d, u, c), raw, dig, rep in results:
        print(
            f"  {scale:>3}x  {d:>5} deliverables {u:>7} updates {c:>7} letters:  "
            f"digest {dig * 1000:8.1f} ms ({dig / raw:4.1f}x raw reads)   "
            f"report {rep * 1000:8.1f} ms ({rep / raw:4.1f}x raw reads)"
        )
    (_, _, _, d1, r1), (_, _, raw100, d100, r100) = results[0], results[-1]
    k_digest, k_report = math.log(d100 / d1, 100), math.log(r100 / r1, 100)
    print(
        f"  growth exponent 1x→100x: digest {k_digest:.2f}, report {k_report:.2f} (1.00 = linear)"
    )
    print(f"  100x report as Word: {word * 1000:.0f} ms")
    raw_text = f"{raw100 * 1000:.0f} ms raw reads"
    summarise("digest at 100x", f"{d100 * 1000:.0f} ms", raw_text, d100 / raw100, "< 300 ms")
    summarise(
        "digest growth 1x->100x",
        f"k = {k_digest:.2f}",
        f"{d1 * 1000:.1f} ms at 1x",
        d100 / d1,
        "k < 0.3",
    )
    summarise(
        "report at 100x (Markdown)", f"{r100 * 1000:.0f} ms", raw_text, r100 / raw100, "< 1 s"
    )
    summarise("report at 100x (Word)", f"{word * 1000:.0f} ms", raw_text, word / raw100, "< 2 s")


if __name__ == "__main__":
    main()
