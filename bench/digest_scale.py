"""Digest and report build times at 1x, 10x and 100x a realistic office's data.

1x is the example plan (50 deliverables in 5 themes) with a year of history: an update per
deliverable every fortnight (1,300 updates) and 130 pieces of correspondence a month (1,560).
The growth exponent k in time ~ size^k comes from the 1x and 100x runs: 1 is linear.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
import zoneinfo
from pathlib import Path

from common import EXAMPLE_PLAN, summarise

from digests.digest import build_digest
from digests.digest_render import render_digest
from digests.report import build_report, render_docx, render_report
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.slack.digest import slack_message
from store import CORRESPONDENCE_CATEGORIES, Office, Store, open_store

LONDON = zoneinfo.ZoneInfo("Europe/London")
START = dt.date(2021, 9, 13)
STATUSES = ["ongoing", "ongoing", "ongoing", "on-hold", "completed", "bau"]


def _populate(store: Store, scale: int, rng: random.Random) -> tuple[int, int, int]:
    import_plan(store, load_plan(EXAMPLE_PLAN), today=START)
    db = store.db
    with store.transaction():
        themes = [t.id for t in store.themes()]
        owners = [p.id for p in store.people()]
        extra = 50 * (scale - 1)
        db.conn.executemany(
            "INSERT INTO deliverables (ref, theme_id, title, status, owner_id, due, dependencies, "
            "added_on, position) VALUES (?, ?, ?, 'ongoing', ?, 'Q3 2022/23', 0, ?, ?)",
            [
                (
                    f"X{scale}-{i}",
                    themes[i % 5],
                    f"Synthetic deliverable {i}",
                    owners[i % 6],
                    START.isoformat(),
                    100 + i,
                )
                for i in range(extra)
            ],
        )
        ids = [row[0] for row in db.execute("SELECT id FROM deliverables")]
        updates = []
        for did in ids:
            status = "ongoing"
            for fortnight in range(26):
                day = START + dt.timedelta(days=14 * fortnight + rng.randrange(14))
                after = rng.choice(STATUSES) if rng.random() < 0.1 else status
                updates.append(
                    (
                        did,
                        owners[did % 6],
                        f"{day.isoformat()}T10:00:00+00:00",
                        "slack",
                        status,
                        after,
                        "Q3 2022/23",
                        "Q3 2022/23",
                        "Progress noted at the monthly meeting.",
                    )
                )
                status = after
        db.conn.executemany(
            "INSERT INTO updates (deliverable_id, person_id, recorded_at, source, status_before, "
            "status_after, due_before, due_after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            updates,
        )
        letters = [
            (
                f"bench-{scale}-{i}",
                (START + dt.timedelta(days=rng.randrange(365))).isoformat(),
                rng.choice(CORRESPONDENCE_CATEGORIES),
                "2021-09-13T00:00:00+00:00",
            )
            for i in range(1560 * scale)
        ]
        db.conn.executemany(
            "INSERT INTO correspondence (dedup_key, received_on, category, recorded_at) "
            "VALUES (?, ?, ?, ?)",
            letters,
        )
    return len(ids), len(updates), len(letters)


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
    rng = random.Random(7)
    results = []
    for scale in (1, 10, 100):
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / f"scale{scale}.db")
            sizes = _populate(store, scale, rng)
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
