"""Plan import in short transactions: others write between batches, an interrupted import
finishes when run again, a dry run takes no lock, and a reference moves theme only with
``move``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from big_plan import big_plan_yaml

from handlers.plan import PlanInvalid, parse_plan
from handlers.service import import_plan
from store import Store, StoreUnavailable, open_store

TWO_THEMES = """\
plan: Test Plan
people:
  - {name: Jane Doe, email: jane@example.org}
themes:
  - code: CF
    name: Communities
    deliverables:
      - {ref: CF-1, title: Business Crime Survey, owner: jane@example.org}
      - {ref: CF-2, title: Business Community Event}
  - code: VW
    name: Victims
    deliverables:
      - {ref: VW-1, title: Victims Hub}
"""


def _state(store: Store) -> list[tuple]:
    """What a user sees of the plan: every deliverable and its history."""
    return [
        (
            d.ref,
            d.title,
            d.theme_id,
            d.added_on,
            [(u.status_after, u.due_after, u.note) for u in store.updates(deliverable_id=d.id)],
        )
        for d in store.deliverables()
    ]


def test_a_reference_under_another_theme_is_refused_unless_moved(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(TWO_THEMES), today=dt.date(2022, 9, 1))
    moved = TWO_THEMES.replace(
        "      - {ref: CF-2, title: Business Community Event}\n", ""
    ).replace(
        "      - {ref: VW-1, title: Victims Hub}\n",
        "      - {ref: VW-1, title: Victims Hub}\n      - {ref: CF-2, title: Business Community Event}\n",
    )
    spec = parse_plan(moved, filename="p.yaml")
    with pytest.raises(PlanInvalid) as err:
        import_plan(fresh_store, spec, today=dt.date(2022, 10, 1))
    assert [str(e) for e in err.value.errors] == [
        "p.yaml:13: ref: CF-2 is under theme CF in the database and under VW in the file; "
        "to move it, import with --move"
    ]
    cf2 = fresh_store.deliverable_by_ref("CF-2")
    assert cf2 is not None and cf2.theme_id == fresh_store.theme_by_code("CF").id
    summary = import_plan(fresh_store, spec, today=dt.date(2022, 10, 1), move=True)
    assert "~ CF-2: theme → VW" in summary.text
    assert fresh_store.deliverable_by_ref("CF-2").theme_id == fresh_store.theme_by_code("VW").id
    # A new deliverable in CF is numbered past every reference in use, CF-2 included.
    again = moved.replace(
        "      - {ref: CF-1, title: Business Crime Survey, owner: jane@example.org}\n",
        "      - {ref: CF-1, title: Business Crime Survey, owner: jane@example.org}\n"
        "      - {title: Rural Crime Plan}\n",
    )
    summary = import_plan(fresh_store, parse_plan(again), today=dt.date(2022, 11, 1))
    assert "+ CF-3 Rural Crime Plan (new on 2022-11-01)" in summary.text


def test_other_writers_commit_between_batches(fresh_store: Store, tmp_path: Path) -> None:
    path = fresh_store.path
    assert path is not None
    committed: list[int] = []

    def between_batches() -> None:
        # Another process's writer, not willing to wait: the lock must be free right now.
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute(
                "INSERT INTO meta (key, value) VALUES (?, 'x')", [f"other{len(committed)}"]
            )
            other.execute("COMMIT")
            committed.append(len(fresh_store.deliverables()))
        finally:
            other.close()

    summary = import_plan(
        fresh_store,
        parse_plan(big_plan_yaml(100)),
        today=dt.date(2022, 9, 1),
        batch_rows=30,
        pause=between_batches,
    )
    assert summary.added == 100
    assert len(committed) >= 3, committed  # 20 people, 5 themes, 100 deliverables in 30s
    assert committed == sorted(committed) and committed[-1] < 100  # seen part-way through
    assert fresh_store.get_meta("other0") == "x"


def test_batches_give_the_same_plan_as_one_transaction(tmp_path: Path) -> None:
    spec = parse_plan(big_plan_yaml(60))
    stores = [open_store(tmp_path / f"{n}.db") for n in (1, 2)]
    for store, rows in zip(stores, (7, 10_000), strict=True):
        import_plan(store, spec, today=dt.date(2022, 9, 1), batch_rows=rows, pause=lambda: None)
    assert _state(stores[0]) == _state(stores[1])
    assert len(_state(stores[0])) == 60
    for store in stores:
        store.close()


def test_an_interrupted_first_import_finishes_when_run_again(tmp_path: Path) -> None:
    spec = parse_plan(big_plan_yaml(60).replace("start: 2021-11-29\n", ""))  # a baseline
    clean = open_store(tmp_path / "clean.db")
    import_plan(clean, spec, today=dt.date(2022, 9, 1), batch_rows=10_000)
    broken = open_store(tmp_path / "broken.db")
    batches = 0

    def fail_after_two() -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise KeyboardInterrupt  # the office closes the terminal

    with pytest.raises(KeyboardInterrupt):
        import_plan(broken, spec, today=dt.date(2022, 9, 1), batch_rows=20, pause=fail_after_two)
    assert 0 < len(broken.deliverables()) < 60
    assert broken.get_meta("plan") is None  # not imported yet: still a first import
    summary = import_plan(broken, spec, today=dt.date(2022, 9, 1), batch_rows=20)
    assert summary.added + summary.unchanged == 60 and summary.changed == 0
    assert _state(broken) == _state(clean)
    assert broken.baseline() == clean.baseline()
    clean.close()
    broken.close()


def test_a_dry_run_takes_no_write_lock(fresh_store: Store) -> None:
    path = fresh_store.path
    assert path is not None
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")  # someone else is writing, for a long time
    try:
        summary = import_plan(
            fresh_store, parse_plan(TWO_THEMES), today=dt.date(2022, 9, 1), dry_run=True
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert summary.added == 3
    assert fresh_store.deliverables() == []


def test_a_store_failure_part_way_says_what_was_written_and_a_rerun_finishes(
    fresh_store: Store, tmp_path: Path
) -> None:
    path = fresh_store.path
    assert path is not None
    spec = parse_plan(big_plan_yaml(60))
    clean = open_store(tmp_path / "clean.db")
    import_plan(clean, spec, today=dt.date(2022, 9, 1))
    fresh_store.db.execute("PRAGMA busy_timeout = 50")
    holder = sqlite3.connect(path)
    batches = 0

    def lock_after_two() -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            holder.execute("BEGIN IMMEDIATE")  # a writer that does not let go

    with pytest.raises(StoreUnavailable) as err:
        import_plan(
            fresh_store, spec, today=dt.date(2022, 9, 1), batch_rows=20, pause=lock_after_two
        )
    holder.execute("ROLLBACK")
    holder.close()
    written = len(fresh_store.deliverables())
    assert str(err.value).startswith("database is locked; the import stopped after writing ")
    assert str(err.value).endswith(" of 85 rows. Run it again to finish: nothing is added twice")
    assert 0 < written < 60
    import_plan(fresh_store, spec, today=dt.date(2022, 9, 1))
    assert _state(fresh_store) == _state(clean)
    clean.close()
