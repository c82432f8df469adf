"""The database file: WAL, busy timeout, migrations, and the append-only audit trail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store import Source, Status, Store, StoreError, StoreUnavailable, open_store
from store.schema import migrations


def test_opens_in_wal_mode_with_busy_timeout(fresh_store: Store) -> None:
    assert fresh_store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert fresh_store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert fresh_store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_create_every_table_and_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_store(path).close()
    store = open_store(path)  # second open applies nothing new
    tables = set(store.db.table_names())
    assert {
        "people",
        "themes",
        "deliverables",
        "updates",
        "correspondence",
        "digest_ledger",
        "inbound",
    } <= tables
    assert "quarantine" in store.db.view_names()
    assert [m.name for m in migrations.applied(store.db)] == [
        m.name for m in migrations._migrations
    ]
    assert migrations.pending(store.db) == []


def test_updates_are_append_only_in_the_database(plan_store: Store) -> None:
    update = plan_store.updates(limit=1)[0]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        plan_store.db.execute("UPDATE updates SET note = 'rewritten' WHERE id = ?", [update.id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        plan_store.db.execute("DELETE FROM updates WHERE id = ?", [update.id])
    assert plan_store.updates(limit=1)[0].note == update.note


def test_transaction_rolls_back_everything_on_error(plan_store: Store) -> None:
    before = len(plan_store.updates())
    d = plan_store.deliverable_by_ref("CF-6")
    assert d is not None
    with pytest.raises(RuntimeError), plan_store.transaction():
        plan_store.append_update(
            deliverable_id=d.id,
            person_id=None,
            source=Source.CLI,
            note="half done",
            status_before=d.status,
            status_after=Status.COMPLETED,
            due_before=d.due,
            due_after=d.due,
        )
        plan_store.set_deliverable_fields(d.id, status=Status.COMPLETED)
        raise RuntimeError("boom")
    assert len(plan_store.updates()) == before
    assert plan_store.deliverable_by_ref("CF-6").status is Status.ONGOING


def test_locked_database_is_a_temporary_failure(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = open_store(path)
    store.db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable), store.transaction():
            store.set_meta("x", "y")
    finally:
        other.rollback()
        other.close()


def test_unopenable_path_is_a_clear_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open database"):
        open_store(blocker / "sub" / "x.db")


def test_last_updates_picks_the_newest_per_deliverable(plan_store: Store) -> None:
    last = plan_store.last_updates()
    assert len(last) == len(plan_store.deliverables())
    d = plan_store.deliverable_by_ref("CF-3")
    assert last[d.id].note.startswith("Business Crime Survey launched")
