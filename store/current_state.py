"""The maintained current state: one row per deliverable, kept by SQLite triggers in the
same transaction as each appended update (and each added or removed deliverable).

``current_state`` holds what the read paths used to rebuild from the whole history on every
read: the newest update (id and time), the status, due quarter and dependencies as the
history leaves them, the last moves into "completed" (with and without the creating row),
when it was last put on hold, and the newest note and summary note. :func:`replay_rows`
works the same out from the history (the check ``deliverabot doctor`` runs), and
:func:`rebuild` writes it afresh (the migration, and ``doctor --repair``).
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

__all__ = [
    "COLUMNS",
    "STATES_BEFORE",
    "create",
    "differences",
    "rebuild",
    "renew_triggers",
    "replay_rows",
    "stored_rows",
]

COLUMNS = (
    "deliverable_id",
    "last_update_id",
    "last_at",
    "status",
    "due",
    "dependencies",
    "completed_at",
    "completed_after_creation",
    "held_at",
    "last_note_id",
    "summary_id",
)

# What one update contributes, as the columns of its deliverable's row (``NEW`` is the row).
# A move into "completed" is judged against the status the history has built up so far (the
# row's ``status`` before this update), as ``store.replay`` judges it, never against the
# ``status_before`` the writer recorded: a history whose rows are recorded out of sequence,
# or an import row, must give the same answer both ways.
_DONE = "CASE WHEN NEW.status_after = 'completed' THEN NEW.recorded_at END"
_DONE_NC = (
    "CASE WHEN NEW.status_after = 'completed' AND NEW.status_before IS NOT NULL "
    "THEN NEW.recorded_at END"
)
_HELD = "NEW.status_after = 'on-hold' AND COALESCE(NEW.status_before, '') != 'on-hold'"
_WAS_DONE = "COALESCE(status, '') = 'completed'"

_ON_UPDATE = f"""
CREATE TRIGGER current_state_on_update AFTER INSERT ON updates BEGIN
  INSERT INTO current_state ({", ".join(COLUMNS)}) VALUES (
    NEW.deliverable_id, NEW.id, NEW.recorded_at, NEW.status_after, NEW.due_after,
    NEW.dependencies,
    {_DONE},
    {_DONE_NC},
    CASE WHEN {_HELD} THEN NEW.recorded_at END,
    CASE WHEN NEW.note != '' THEN NEW.id END,
    CASE WHEN NEW.summary = 1 AND NEW.note != '' THEN NEW.id END
  ) ON CONFLICT (deliverable_id) DO UPDATE SET
    last_update_id = excluded.last_update_id,
    last_at = excluded.last_at,
    status = COALESCE(excluded.status, status),
    due = excluded.due,
    dependencies = COALESCE(excluded.dependencies, dependencies),
    completed_at = CASE WHEN {_WAS_DONE} THEN completed_at
                        ELSE COALESCE(excluded.completed_at, completed_at) END,
    completed_after_creation = CASE WHEN {_WAS_DONE} THEN completed_after_creation
                        ELSE COALESCE(excluded.completed_after_creation,
                                      completed_after_creation) END,
    held_at = CASE WHEN held_at IS NULL OR excluded.held_at > held_at
                   THEN COALESCE(excluded.held_at, held_at) ELSE held_at END,
    last_note_id = COALESCE(excluded.last_note_id, last_note_id),
    summary_id = COALESCE(excluded.summary_id, summary_id);
END
"""

_ON_ADD = (
    "CREATE TRIGGER current_state_on_add AFTER INSERT ON deliverables BEGIN "
    "INSERT OR IGNORE INTO current_state (deliverable_id) VALUES (NEW.id); END"
)
_ON_REMOVE = (
    "CREATE TRIGGER current_state_on_remove AFTER DELETE ON deliverables BEGIN "
    "DELETE FROM current_state WHERE deliverable_id = OLD.id; END"
)


def _completions(bound: str) -> str:
    """Per deliverable, its last move into "completed" (``done_id``) and the same not
    counting a creating row (``done_nc_id``), among the status rows that ``bound`` keeps:
    each judged against the status row before it in sequence order (``LAG``), as
    ``store.replay`` folds them."""
    return (
        "SELECT deliverable_id,"
        " MAX(id) AS done_id,"
        " MAX(CASE WHEN status_before IS NOT NULL THEN id END) AS done_nc_id"
        " FROM (SELECT deliverable_id, id, status_before, status_after,"
        "  LAG(status_after) OVER (PARTITION BY deliverable_id ORDER BY id) AS prev"
        f"  FROM updates {bound} status_after IS NOT NULL)"
        " WHERE status_after = 'completed' AND COALESCE(prev, '') != 'completed'"
        " GROUP BY deliverable_id"
    )


# The same, from the history: one pass over the updates, grouped by deliverable (ids only
# grow, so "the newest" is the largest id), one over its status rows for the completions,
# then one lookup per picked row.
_REPLAY = f"""
SELECT d.id AS deliverable_id, m.last_id AS last_update_id, l.recorded_at AS last_at,
  st.status_after AS status, l.due_after AS due, dp.dependencies AS dependencies,
  c.recorded_at AS completed_at, cn.recorded_at AS completed_after_creation,
  m.held_at AS held_at, m.note_id AS last_note_id, m.summary_id AS summary_id
FROM deliverables d LEFT JOIN (
  SELECT deliverable_id, MAX(id) AS last_id,
   MAX(CASE WHEN status_after IS NOT NULL THEN id END) AS st_id,
   MAX(CASE WHEN dependencies IS NOT NULL THEN id END) AS dep_id,
   MAX(CASE WHEN status_after = 'on-hold'
        AND COALESCE(status_before, '') != 'on-hold' THEN recorded_at END) AS held_at,
   MAX(CASE WHEN note != '' THEN id END) AS note_id,
   MAX(CASE WHEN summary = 1 AND note != '' THEN id END) AS summary_id
  FROM updates GROUP BY deliverable_id
) m ON m.deliverable_id = d.id
LEFT JOIN ({_completions("WHERE")}) k ON k.deliverable_id = d.id
LEFT JOIN updates l ON l.id = m.last_id
LEFT JOIN updates st ON st.id = m.st_id
LEFT JOIN updates dp ON dp.id = m.dep_id
LEFT JOIN updates c ON c.id = k.done_id
LEFT JOIN updates cn ON cn.id = k.done_nc_id
"""


# Every deliverable's state from the rows recorded before a moment (``states_at`` for a past
# one; its one parameter, ``?1``, is the moment): only those rows are read, from the
# ``updates_replay`` index.
STATES_BEFORE = (
    "SELECT m.deliverable_id, st.status_after, l.due_after, l.recorded_at, "
    "dp.dependencies, c.recorded_at, cn.recorded_at FROM ("
    "  SELECT deliverable_id, MAX(id) AS last_id,"
    "   MAX(CASE WHEN status_after IS NOT NULL THEN id END) AS st_id,"
    "   MAX(CASE WHEN dependencies IS NOT NULL THEN id END) AS dep_id"
    "  FROM updates INDEXED BY updates_replay WHERE recorded_at < ?1"
    "  GROUP BY deliverable_id"
    f") m LEFT JOIN ({_completions('INDEXED BY updates_replay WHERE recorded_at < ?1 AND')})"
    " k ON k.deliverable_id = m.deliverable_id"
    " JOIN updates l ON l.id = m.last_id"
    " LEFT JOIN updates st ON st.id = m.st_id"
    " LEFT JOIN updates dp ON dp.id = m.dep_id"
    " LEFT JOIN updates c ON c.id = k.done_id"
    " LEFT JOIN updates cn ON cn.id = k.done_nc_id"
)


def create(db: Database) -> None:
    """The table, its triggers, and the index that bounds a replay to a past moment."""
    db.execute(
        "CREATE TABLE current_state ("
        " deliverable_id INTEGER PRIMARY KEY,"
        " last_update_id INTEGER, last_at TEXT, status TEXT, due TEXT, dependencies INTEGER,"
        " completed_at TEXT, completed_after_creation TEXT, held_at TEXT,"
        " last_note_id INTEGER, summary_id INTEGER)"
    )
    db.execute(_ON_UPDATE)
    db.execute(_ON_ADD)
    db.execute(_ON_REMOVE)
    # A replay up to a past moment (``states_at``, an ``as_of`` board) reads only the rows
    # before it, from the index alone: its cost is what it returns, not the whole history.
    db.execute(
        "CREATE INDEX IF NOT EXISTS updates_replay ON updates "
        "(recorded_at, deliverable_id, id, status_before, status_after, dependencies)"
    )


def renew_triggers(db: Database) -> None:
    """Replace the update trigger with the one this module defines (a migration that
    changes what it computes), leaving the table's rows to :func:`rebuild`."""
    db.execute("DROP TRIGGER IF EXISTS current_state_on_update")
    db.execute(_ON_UPDATE)


def replay_rows(db: Database) -> dict[int, dict[str, Any]]:
    """Every deliverable's row as the history says it should be."""
    cur = db.execute(_REPLAY)
    names = [c[0] for c in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def stored_rows(db: Database) -> dict[int, dict[str, Any]]:
    """Every row of ``current_state`` as it is."""
    cur = db.execute(f"SELECT {', '.join(COLUMNS)} FROM current_state")
    names = [c[0] for c in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def rebuild(db: Database) -> int:
    """Write ``current_state`` afresh from the history (inside the caller's transaction);
    returns how many rows it holds."""
    db.execute("DELETE FROM current_state")
    db.execute(f"INSERT INTO current_state ({', '.join(COLUMNS)}) {_REPLAY}")
    return int(db.execute("SELECT COUNT(*) FROM current_state").fetchone()[0])


def differences(db: Database) -> list[str]:
    """Where ``current_state`` differs from :func:`replay_rows`, one line each."""
    stored, replayed = stored_rows(db), replay_rows(db)
    refs = {r[0]: r[1] for r in db.execute("SELECT id, ref FROM deliverables")}
    found: list[str] = []
    for did in sorted(set(stored) | set(replayed)):
        name = refs.get(did, f"deliverable {did}")
        have, want = stored.get(did), replayed.get(did)
        if have is None:
            found.append(f"{name}: no row in the current state")
        elif want is None:
            found.append(f"{name}: a row in the current state for no deliverable")
        else:
            found += [
                f"{name}: {column} is {have[column]!r}, the history says {want[column]!r}"
                for column in COLUMNS[1:]
                if have[column] != want[column]
            ]
    return found
