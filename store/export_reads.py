"""Reads for the exports and ``stats``, which cost their own size: a read-only connection of
their own, the updates as a cursor (a batch at a time, never the whole history in memory),
and correspondence counted in SQL by (day received, category, day answered)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from store.base import recorded_between
from store.db import BUSY_TIMEOUT_MS, Reader

__all__ = [
    "UPDATE_FIELDS",
    "iter_update_rows",
    "open_read_only",
    "plan_table_rows",
]

# The columns of ``iter_update_rows``, in order.
UPDATE_FIELDS = (
    "deliverable_id",
    "person_id",
    "recorded_at",
    "source",
    "status_after",
    "due_after",
    "dependencies",
    "summary",
    "of_note",
    "note",
)

_PLAN_ROWS = (
    "SELECT d.ref, d.title, t.name, t.code, d.status, d.due, p.name, p.email,"
    " d.dependencies, d.added_on, u.recorded_at, u.note"
    " FROM deliverables d JOIN themes t ON t.id = d.theme_id"
    " LEFT JOIN people p ON p.id = d.owner_id"
    " LEFT JOIN current_state c ON c.deliverable_id = d.id"
    " LEFT JOIN updates u ON u.id = c.last_update_id"
    " ORDER BY t.position, d.position, d.id"
)


def plan_table_rows(reader: Reader) -> list[tuple[Any, ...]]:
    """Every deliverable in plan order as one raw row (ref, title, theme, theme code,
    status, due, owner, owner's email, dependencies, added on, the newest update's
    ``recorded_at`` as stored, its note; NULLs where there is no owner or update): one query
    over the plan and the maintained current state, what ``Reader.overview`` gives without
    an object per deliverable, theme, person and update."""
    return list(reader._db.execute(_PLAN_ROWS).fetchall())


def open_read_only(path: str | Path) -> Reader:
    """A fresh read-only connection to the database at ``path`` (its own thread if
    :meth:`Reader.call` is used): for work that must not queue on a shared reader."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = Database(conn, execute_plugins=False)
    db.execute("PRAGMA query_only = ON")
    return Reader(db, path=Path(path))


def iter_update_rows(
    reader: Reader,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch: int = 5000,
) -> Iterator[tuple[Any, ...]]:
    """Every update recorded in [since, until), in sequence order, as raw rows of
    ``UPDATE_FIELDS`` (``recorded_at`` as stored, ISO 8601 in UTC), ``batch`` at a time."""
    where, params = recorded_between(since, until)
    sql = f"SELECT {', '.join(UPDATE_FIELDS)} FROM updates"
    if where:
        sql += " WHERE " + " AND ".join(where)
    cursor = reader._db.execute(sql + " ORDER BY id", params)
    try:
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()
