"""One data builder for the scale benchmarks: N times a real office, over Y years of history.

1x is the example plan (50 deliverables in 5 themes); each year adds an update per deliverable
every fortnight (26 a year) and 1,560 pieces of correspondence (130 a month). `answered` is the
share of letters given an `answered_on` day a few days after they came in. Rows go in with
`executemany` (a bench needs millions of them); the store's own triggers and indexes still run.
"""

from __future__ import annotations

import datetime as dt
import random

from common import EXAMPLE_PLAN

from handlers.plan import load_plan
from handlers.service import import_plan
from store import CORRESPONDENCE_CATEGORIES, Store

START = dt.date(2021, 9, 13)
STATUSES = ["ongoing", "ongoing", "ongoing", "on-hold", "completed", "bau"]
NOTES = [
    "Progress noted at the monthly meeting.",
    "chased CFO re biz case. still waiting",
    "mtg w/ partners booked for next wk",
    "no change, see tactical plan",
]


def end_of(years: int) -> dt.date:
    """The last day of the history a `populate(..., years=years)` builds."""
    return START + dt.timedelta(days=365 * years - 1)


def populate(
    store: Store, scale: int, *, years: int = 1, answered: float = 0.0, seed: int = 7
) -> tuple[int, int, int]:
    """Fill a fresh store; returns (deliverables, updates, letters)."""
    rng = random.Random(seed)
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
                    owners[i % len(owners)],
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
            for fortnight in range(26 * years):
                day = START + dt.timedelta(days=14 * fortnight + rng.randrange(14))
                after = rng.choice(STATUSES) if rng.random() < 0.1 else status
                updates.append(
                    (
                        did,
                        owners[did % len(owners)],
                        f"{day.isoformat()}T10:00:00+00:00",
                        "slack",
                        status,
                        after,
                        "Q3 2022/23",
                        "Q3 2022/23",
                        NOTES[rng.randrange(len(NOTES))],
                    )
                )
                status = after
        updates.sort(key=lambda u: u[2])
        db.conn.executemany(
            "INSERT INTO updates (deliverable_id, person_id, recorded_at, source, status_before, "
            "status_after, due_before, due_after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            updates,
        )
        letters = []
        for i in range(1560 * scale * years):
            day = START + dt.timedelta(days=rng.randrange(365 * years))
            reply = (
                (day + dt.timedelta(days=rng.randrange(1, 15))).isoformat()
                if rng.random() < answered
                else None
            )
            letters.append(
                (
                    f"bench-{scale}-{years}-{i}",
                    day.isoformat(),
                    rng.choice(CORRESPONDENCE_CATEGORIES),
                    reply,
                    f"{day.isoformat()}T09:00:00+00:00",
                )
            )
        db.conn.executemany(
            "INSERT INTO correspondence (dedup_key, received_on, category, answered_on, "
            "recorded_at) VALUES (?, ?, ?, ?, ?)",
            letters,
        )
    return len(ids), len(updates), len(letters)
