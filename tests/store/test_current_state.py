"""The maintained current state always equals a replay of the history.

Random histories (creating rows and imports, out-of-order ``recorded_at``, status changes,
completions, holds, due and dependency changes, notes and summary notes, deliverables added
part-way) are written through the store; after every one the triggers' ``current_state``
must equal the history replayed in SQL and folded by ``store.replay``, and every read that
uses it must answer as a replay up to any moment does.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from store import Source, Status, Store, open_store, replay
from store import current_state as cs
from store.model import Update

T0 = dt.datetime(2022, 4, 1, 9, tzinfo=dt.UTC)
DUES = [None, "Q1 2022/23", "Q3 2022/23", "Q4 2022/23"]

_event = st.tuples(
    st.integers(0, 3),  # which deliverable (of those added so far)
    st.sampled_from([None, *Status]),  # status after (None: a note only)
    st.sampled_from(DUES),
    st.sampled_from([None, True, False]),  # dependencies
    st.sampled_from(["", "Progress.", "Moves to Q4."]),
    st.booleans(),  # summary
    st.integers(-30, 400),  # days after T0: not in sequence order
    st.booleans(),  # an import row (status before not recorded) instead of an update
)


def _store(tmp: str) -> Store:
    store = open_store(Path(tmp) / "cs.db")
    with store.transaction():
        store.save_theme(code="CF", name="Communities", aim="", position=1)
    return store


def _add(store: Store, n: int) -> int:
    theme = store.themes()[0].id
    return store.insert_deliverable(
        ref=f"D-{n}",
        theme_id=theme,
        title=f"Deliverable {n}",
        status=Status.NOT_STARTED,
        owner_id=None,
        due=None,
        dependencies=False,
        added_on=dt.date(2022, 4, 1),
        position=n,
    )


def _fold(history: list[Update], until: dt.datetime | None = None) -> dict[int, list[Update]]:
    by: dict[int, list[Update]] = {}
    for u in history:
        if until is None or u.recorded_at < until:
            by.setdefault(u.deliverable_id, []).append(u)
    return by


def _check(store: Store, moment: dt.datetime) -> None:
    db = store.db
    assert cs.differences(db) == []
    assert cs.stored_rows(db) == cs.replay_rows(db)
    history = store.updates()
    far = T0 + dt.timedelta(days=10_000)
    for until in (far, moment):
        states = store.states_at(until)
        folded = _fold(history, until)
        assert set(states) == set(folded)
        for did, rows in folded.items():
            # Histories here record the status each row changed from, as the service does,
            # so the SQL and the Python fold agree (the creating row aside).
            assert states[did].state() == replay(rows)
            assert states[did].state(baseline=True) == replay(rows, baseline=True)
        last = store.last_updates(until=until)
        assert {d: u.id for d, u in last.items()} == {d: r[-1].id for d, r in folded.items()}
        held = store.held_since(list(folded), until)
        want = {
            d: max(
                u.recorded_at
                for u in r
                if u.status_after is Status.ON_HOLD and u.status_before is not Status.ON_HOLD
            )
            for d, r in folded.items()
            if any(
                u.status_after is Status.ON_HOLD and u.status_before is not Status.ON_HOLD
                for u in r
            )
        }
        assert held == want
    assert {d: u.id for d, u in store.last_updates().items()} == {
        d: r[-1].id for d, r in _fold(history).items()
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(_event, min_size=0, max_size=30),
    adds=st.lists(st.integers(0, 30), max_size=3),
    moment=st.integers(-30, 400),
)
def test_current_state_is_always_the_replay(
    events: list[tuple[int, Status | None, str | None, bool | None, str, bool, int, bool]],
    adds: list[int],
    moment: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(tmp)
        ids: list[int] = []
        status: dict[int, Status] = {}
        with store.transaction():
            ids.append(_add(store, 0))
        for n, (which, after, due, deps, note, summary, days, imported) in enumerate(events):
            with store.transaction():
                if n in adds:
                    ids.append(_add(store, len(ids)))
                did = ids[which % len(ids)]
                created = did not in status
                before = None if created or (imported and after is None) else status[did]
                store.append_update(
                    deliverable_id=did,
                    person_id=None,
                    source=Source.CLI,
                    note=note,
                    status_before=before,
                    status_after=after if after or not created else Status.NOT_STARTED,
                    due_before=None,
                    due_after=due,
                    dependencies=deps,
                    recorded_at=T0 + dt.timedelta(days=days, hours=n % 7),
                    summary=summary,
                )
                if after is not None or created:
                    status[did] = after or Status.NOT_STARTED
        _check(store, T0 + dt.timedelta(days=moment))
        # Every deliverable has its row, with or without history.
        assert set(cs.stored_rows(store.db)) == set(ids)
        store.close()


def test_a_failed_update_leaves_the_current_state_as_it_was(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 1)
    before = cs.stored_rows(store.db)
    try:
        with store.transaction():
            store.append_update(
                deliverable_id=did,
                person_id=None,
                source=Source.CLI,
                note="Done.",
                status_before=Status.NOT_STARTED,
                status_after=Status.COMPLETED,
                due_before=None,
                due_after=None,
            )
            raise RuntimeError("the request failed after the update")
    except RuntimeError:
        pass
    assert cs.stored_rows(store.db) == before
    assert store.states_at(T0 + dt.timedelta(days=10_000)) == {}


def test_the_migration_builds_it_from_history_and_doctor_sees_a_drift(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 1)
        store.append_update(
            deliverable_id=did,
            person_id=None,
            source=Source.CLI,
            note="On hold for the budget.",
            status_before=Status.NOT_STARTED,
            status_after=Status.ON_HOLD,
            due_before=None,
            due_after="Q3 2022/23",
            recorded_at=T0,
        )
    db = store.db
    assert cs.stored_rows(db)[did]["status"] == "on-hold"
    # Drift it behind the triggers' back, as a bug or a hand edit would.
    db.execute("UPDATE current_state SET status = 'ongoing', held_at = NULL")
    assert store.current_state_differences() == [
        "D-1: status is 'ongoing', the history says 'on-hold'",
        "D-1: held_at is None, the history says '2022-04-01T09:00:00+00:00'",
    ]
    with store.transaction():
        assert store.rebuild_current_state() == 1
    assert store.current_state_differences() == []


def test_a_past_moment_reads_only_the_rows_before_it(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    with store.transaction():
        _add(store, 1)
    plan = " ".join(
        str(r[-1])
        for r in store.db.execute(
            "EXPLAIN QUERY PLAN " + cs.STATES_BEFORE, ["2022-05-01T00:00:00+00:00"]
        ).fetchall()
    )
    assert "USING COVERING INDEX updates_replay (recorded_at<?)" in plan
    assert "SCAN updates" not in plan.replace("SCAN updates USING COVERING", "")


def test_the_migration_fills_an_old_database(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 1)
        store.append_update(
            deliverable_id=did,
            person_id=None,
            source=Source.CLI,
            note="Done.",
            status_before=Status.NOT_STARTED,
            status_after=Status.COMPLETED,
            due_before=None,
            due_after=None,
            recorded_at=T0,
        )
    store.close()
    # As a database from before m018: no table, no triggers, no record of the migration.
    conn = sqlite3.connect(str(tmp_path / "cs.db"))
    for trigger in ("current_state_on_update", "current_state_on_add", "current_state_on_remove"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE current_state")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm018_current_state'")
    conn.commit()
    conn.close()
    again = open_store(tmp_path / "cs.db")
    row = cs.stored_rows(Database(again.db.conn))[did]
    assert row["status"] == "completed" and row["completed_at"] == "2022-04-01T09:00:00+00:00"
    assert again.current_state_differences() == []


def _record(
    store: Store,
    did: int,
    before: Status | None,
    after: Status | None,
    at: dt.datetime,
) -> None:
    with store.transaction():
        store.append_update(
            deliverable_id=did,
            person_id=None,
            source=Source.CLI,
            note="",
            status_before=before,
            status_after=after,
            due_before=None,
            due_after=None,
            recorded_at=at,
        )


def test_a_completion_is_judged_against_the_history_before_it_not_the_recorded_status(
    tmp_path: Path,
) -> None:
    # Rows recorded out of sequence (a backdated entry): the third row completes it on
    # 2 April; the fourth, appended after it but dated 1 April 12:00, says "completed,
    # was completed". As of 2 April 09:00 only rows 1, 2 and 4 were recorded, so the
    # deliverable became completed at 12:00 on 1 April, which is what replay says.
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 0)
    _record(store, did, None, Status.NOT_STARTED, T0)
    _record(store, did, Status.NOT_STARTED, None, T0 + dt.timedelta(hours=1))
    _record(store, did, Status.NOT_STARTED, Status.COMPLETED, T0 + dt.timedelta(days=1, hours=2))
    _record(store, did, Status.COMPLETED, Status.COMPLETED, T0 + dt.timedelta(hours=3))
    moment = T0 + dt.timedelta(days=1)
    state = store.states_at(moment)[did].state()
    assert state.status is Status.COMPLETED
    assert state.completed_at == T0 + dt.timedelta(hours=3)
    assert state == replay(_fold(store.updates(), moment)[did])
    # Now, with every row: completed once, on 2 April (the fourth row changes nothing).
    now = store.states_at(T0 + dt.timedelta(days=10_000))[did].state()
    assert now.completed_at == T0 + dt.timedelta(days=1, hours=2)
    assert now == replay(store.updates())
    assert store.current_state_differences() == []


def test_a_recorded_status_that_disagrees_with_the_history_does_not_fake_a_completion(
    tmp_path: Path,
) -> None:
    # A writer that recorded a stale status_before ("ongoing" when the history says it was
    # already completed) must not move the completion date: the trigger, the replay in SQL
    # and store.replay all judge by the history.
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 0)
    _record(store, did, None, Status.ONGOING, T0)
    _record(store, did, Status.ONGOING, Status.COMPLETED, T0 + dt.timedelta(days=1))
    _record(store, did, Status.ONGOING, Status.COMPLETED, T0 + dt.timedelta(days=2))
    row = cs.stored_rows(store.db)[did]
    assert row["completed_at"] == "2022-04-02T09:00:00+00:00"
    assert row["completed_after_creation"] == "2022-04-02T09:00:00+00:00"
    assert cs.stored_rows(store.db) == cs.replay_rows(store.db)
    assert replay(store.updates()).completed_at == T0 + dt.timedelta(days=1)


def test_m019_replaces_the_trigger_and_rebuilds_a_drifted_state(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    with store.transaction():
        did = _add(store, 1)
    _record(store, did, None, Status.ONGOING, T0)
    _record(store, did, Status.ONGOING, Status.COMPLETED, T0 + dt.timedelta(days=1))
    store.close()
    # As a database from before m019: m018's trigger, which trusted status_before, and the
    # completion it would have recorded for a stale status_before.
    conn = sqlite3.connect(str(tmp_path / "cs.db"))
    conn.execute("DROP TRIGGER current_state_on_update")
    conn.execute(
        "CREATE TRIGGER current_state_on_update AFTER INSERT ON updates BEGIN "
        "UPDATE current_state SET last_update_id = NEW.id WHERE deliverable_id = -1; END"
    )
    conn.execute("UPDATE current_state SET completed_at = '2022-04-03T09:00:00+00:00'")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm019_current_state_completions'")
    conn.commit()
    conn.close()
    again = open_store(tmp_path / "cs.db")
    assert cs.stored_rows(again.db)[did]["completed_at"] == "2022-04-02T09:00:00+00:00"
    _record(again, did, Status.ONGOING, Status.COMPLETED, T0 + dt.timedelta(days=2))
    assert cs.stored_rows(again.db)[did]["last_update_id"] == again.updates()[-1].id
    assert again.current_state_differences() == []
