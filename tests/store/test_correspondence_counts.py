"""Letters counted in SQL by (day received, category, day answered): the m020 index makes it
an index-only scan, and the counts are the rows counted one by one."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path

from store import Store, open_store

INDEX = "idx_correspondence_received_on_category_answered_on"
OLD_INDEX = "idx_correspondence_received_on_category"
COUNTS = (
    "SELECT received_on, category, answered_on, COUNT(*) FROM correspondence "
    "{where} GROUP BY received_on, category, answered_on"
)


def _letters(store: Store) -> None:
    day = dt.date(2022, 3, 28)
    with store.transaction():
        for n in range(60):
            received = day + dt.timedelta(days=n % 17)
            answered = None if n % 3 == 0 else received + dt.timedelta(days=n % 5)
            store.insert_correspondence(
                {
                    "dedup_key": f"k{n}",
                    "received_on": received.isoformat(),
                    "category": ("mp", "public", "complaint")[n % 3 if n % 4 else 1],
                    "answered_on": answered.isoformat() if answered else None,
                    "recorded_at": "2022-04-20T09:00:00+00:00",
                }
            )


def _order(group: tuple[str, str, str | None, int]) -> tuple[str, str, str]:
    """SQL's order: NULL (not answered) first."""
    return group[0], group[1], group[2] or ""


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'correspondence'"
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def test_counts_are_the_letters_counted_one_by_one(fresh_store: Store) -> None:
    _letters(fresh_store)
    rows = fresh_store.correspondence_rows()
    every = Counter((r["received_on"], r["category"], r["answered_on"]) for r in rows)
    assert sorted(fresh_store.correspondence_counts(), key=_order) == sorted(
        ((r, c, a, n) for (r, c, a), n in every.items()), key=_order
    )
    since, until = dt.date(2022, 4, 1), dt.date(2022, 4, 7)
    period = Counter(
        (r["received_on"], r["category"], r["answered_on"])
        for r in fresh_store.correspondence_rows(since=since, until=until)
    )
    assert fresh_store.correspondence_counts(since=since, until=until) == sorted(
        ((r, c, a, n) for (r, c, a), n in period.items()), key=_order
    )
    assert fresh_store.correspondence_counts(since=dt.date(2030, 1, 1)) == []


def test_counting_is_an_index_only_scan(fresh_store: Store) -> None:
    for where in ("", "WHERE received_on >= '2022-04-01' AND received_on <= '2022-04-07'"):
        plan = fresh_store.db.execute("EXPLAIN QUERY PLAN " + COUNTS.format(where=where))
        details = " ".join(str(r[3]) for r in plan.fetchall())
        assert f"COVERING INDEX {INDEX}" in details
        assert "TEMP B-TREE" not in details  # grouped in the index's order


def test_the_migration_replaces_the_m006_index(tmp_path: Path) -> None:
    path = tmp_path / "m020.db"
    store = open_store(path)
    _letters(store)
    before = store.correspondence_counts()
    store.close()
    assert INDEX in _indexes(path) and OLD_INDEX not in _indexes(path)
    # As a database from before m020: the m006 index, no record of the migration.
    conn = sqlite3.connect(str(path))
    conn.execute(f"DROP INDEX {INDEX}")
    conn.execute(f"CREATE INDEX {OLD_INDEX} ON correspondence (received_on, category)")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm020_correspondence_answers'")
    conn.commit()
    conn.close()
    assert OLD_INDEX in _indexes(path) and INDEX not in _indexes(path)
    again = open_store(path)
    try:
        assert again.correspondence_counts() == before
    finally:
        again.close()
    assert INDEX in _indexes(path) and OLD_INDEX not in _indexes(path)
