"""The paper round's service on a real SQLite file holding the example plan: opening, the
owner's answers (each an append-only event with who and when, the same answer twice one
event), the coordinator's returns and reassignments, closing."""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo

import pytest

from digests.round_lines import draft_lines
from handlers.service import NotAuthorised, ValidationError
from handlers.service.round import (
    RoundClosed,
    RoundRefused,
    approve_line,
    approve_waiting,
    edit_line,
    not_mine,
    record_asks,
)
from handlers.service.round_admin import (
    OpenRound,
    close_round,
    open_round,
    reassign_line,
    return_line,
)
from store import Office, Source, Status, Store
from store.round import EventKind, LineState

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = dt.datetime(2022, 9, 12, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2022, 9, 12)
SEPT = OpenRound(
    "sept-2022",
    dt.date(2022, 3, 1),
    dt.date(2022, 9, 14),
    panel_on=dt.date(2022, 9, 21),
    due_on=dt.date(2022, 9, 16),
)


def _open(store: Store, person, request: OpenRound = SEPT):  # type: ignore[no-untyped-def]
    lines = draft_lines(
        store, day_from=request.period_from, day_to=request.period_to, office=Office(tz=LONDON)
    )
    return open_round(
        store, request, actor=person("alex.morgan@example.org"), lines=lines, now=NOW, today=TODAY
    )


def _events(store: Store, kind: EventKind | None = None) -> list:  # type: ignore[type-arg]
    return [e for e in store.round_events("sept-2022") if kind is None or e.kind is kind]


def test_a_round_holds_every_line_of_the_paper_with_its_draft_and_owner(plan_store, person):
    _open(plan_store, person)
    book = plan_store.round_book("sept-2022")
    assert book is not None
    assert len(book.views) == 50 and all(v.state is LineState.PENDING for v in book.views)
    cf3 = book.by_ref()["CF-3"]
    assert cf3.line.section == "completed"
    assert cf3.text.startswith("Activities completed. Business Crime Survey launched.")
    assert book.owner_name(cf3) == "Priya Shah"
    sizes = {book.people[o]: len(book.owned_by(o)) for o in book.owners()}
    assert sizes == {
        "Priya Shah": 6,
        "Alex Morgan": 6,
        "Tom Fletcher": 7,
        "Grace Okafor": 13,
        "Sam Lee": 7,
        "Dan Hughes": 11,
    }


def test_opening_is_for_editors_with_a_good_name_and_dates(plan_store, person):
    lines = draft_lines(
        plan_store, day_from=SEPT.period_from, day_to=SEPT.period_to, office=Office(tz=LONDON)
    )
    priya = person("priya.shah@example.org")
    with pytest.raises(NotAuthorised, match="editor"):
        open_round(plan_store, SEPT, actor=priya, lines=lines, now=NOW, today=TODAY)
    alex = person("alex.morgan@example.org")
    bad = [
        (
            OpenRound("Sept 2022!", SEPT.period_from, SEPT.period_to, SEPT.panel_on, SEPT.due_on),
            "cannot name a round",
        ),
        (OpenRound("x", SEPT.period_to, SEPT.period_from, SEPT.panel_on, SEPT.due_on), "before"),
        (
            OpenRound("x", SEPT.period_from, SEPT.period_to, dt.date(2022, 9, 15), SEPT.due_on),
            "after the panel",
        ),
        (
            OpenRound("x", SEPT.period_from, SEPT.period_to, SEPT.panel_on, dt.date(2022, 9, 1)),
            "in the past",
        ),
    ]
    for request, message in bad:
        with pytest.raises(ValidationError, match=message):
            open_round(plan_store, request, actor=alex, lines=lines, now=NOW, today=TODAY)
    assert plan_store.rounds() == []


def test_two_rounds_at_once_are_refused_unless_opened_alongside(plan_store, person):
    _open(plan_store, person)
    with pytest.raises(ValidationError, match="A round called sept-2022 exists"):
        _open(plan_store, person)
    other = OpenRound("board-q2", SEPT.period_from, SEPT.period_to, SEPT.panel_on, SEPT.due_on)
    with pytest.raises(ValidationError, match="The round sept-2022 is open"):
        _open(plan_store, person, other)
    alongside = OpenRound(
        "board-q2", SEPT.period_from, SEPT.period_to, SEPT.panel_on, SEPT.due_on, alongside=True
    )
    _open(plan_store, person, alongside)
    assert [r.name for r in plan_store.rounds(open_only=True)] == ["sept-2022", "board-q2"]


def test_the_same_approval_twice_is_one_event_and_after_a_return_a_new_one(plan_store, person):
    _open(plan_store, person)
    priya = person("priya.shah@example.org")
    first = approve_line(plan_store, "sept-2022", ref="CF-3", actor=priya, now=NOW, source="slack")
    again = approve_line(plan_store, "sept-2022", ref="cf-3", actor=priya, now=NOW, source="slack")
    assert first.view.state is LineState.APPROVED and not first.replayed
    assert again.replayed
    approvals = _events(plan_store, EventKind.APPROVED)
    assert len(approvals) == 1
    assert approvals[0].person_id == priya.id and approvals[0].at == NOW
    assert approvals[0].text == first.view.line.draft  # the words she was shown
    # "Approve all" after approving one: the same event for that one, a new one for the rest.
    done = approve_waiting(plan_store, "sept-2022", actor=priya, now=NOW, source="slack")
    assert sorted(o.view.ref for o in done) == ["CF-1", "CF-10", "CF-2", "CF-7", "CF-9"]
    assert len(_events(plan_store, EventKind.APPROVED)) == 6

    alex = person("alex.morgan@example.org")
    returned = return_line(
        plan_store,
        "sept-2022",
        ref="CF-3",
        actor=alex,
        comment="please add the funding figure",
        now=NOW,
    )
    assert returned.view.state is LineState.PENDING and returned.view.returned is not None
    redo = approve_line(plan_store, "sept-2022", ref="CF-3", actor=priya, now=NOW, source="email")
    assert not redo.replayed and redo.view.state is LineState.APPROVED
    assert len(_events(plan_store, EventKind.APPROVED)) == 7


def test_only_the_lines_owner_answers_for_it(plan_store, person):
    _open(plan_store, person)
    tom, alex = person("tom.fletcher@example.org"), person("alex.morgan@example.org")
    for actor in (tom, alex):  # an editor too: every sentence has an owner who approved it
        with pytest.raises(NotAuthorised, match="Priya Shah's line"):
            approve_line(plan_store, "sept-2022", ref="CF-3", actor=actor, now=NOW, source="slack")
    with pytest.raises(RoundRefused, match="not in the round"):
        approve_line(plan_store, "sept-2022", ref="XX-1", actor=tom, now=NOW, source="slack")
    with pytest.raises(RoundRefused, match="no round called"):
        approve_line(plan_store, "nope", ref="CF-3", actor=tom, now=NOW, source="slack")
    assert _events(plan_store) == []


def test_an_edit_is_an_event_and_the_summary_note_with_the_status_change(plan_store, person):
    _open(plan_store, person)
    tom = person("tom.fletcher@example.org")
    words = "Bid for Safer Streets 4 funding submitted; decision expected in October."
    done = edit_line(
        plan_store,
        "sept-2022",
        ref="CP-3",
        actor=tom,
        text=words,
        now=NOW,
        source=Source.SLACK,
        key="slack:view:abc",
        status=Status.ON_HOLD,
        due="Q4 2022/23",
        dependencies=True,
    )
    assert done.view.state is LineState.EDITED and done.view.text == words
    assert done.update is not None and done.update.status_after is Status.ON_HOLD
    [edit] = _events(plan_store, EventKind.EDITED)
    assert edit.person_id == tom.id and edit.update_id == done.update.update_id
    update = plan_store.updates_by_id([edit.update_id])[0]
    assert update.note == words and update.summary and update.person_id == tom.id
    cp3 = plan_store.deliverable_by_ref("CP-3")
    assert cp3 is not None and cp3.status is Status.ON_HOLD and cp3.due == "Q4 2022/23"
    # The same form submitted again (Slack retries): one event, one update.
    again = edit_line(
        plan_store,
        "sept-2022",
        ref="CP-3",
        actor=tom,
        text=words,
        now=NOW,
        source=Source.SLACK,
        key="slack:view:abc",
    )
    assert again.replayed
    assert len(_events(plan_store, EventKind.EDITED)) == 1
    assert len(plan_store.updates(deliverable_id=cp3.id, since=NOW - dt.timedelta(hours=1))) == 1
    with pytest.raises(ValidationError, match="Write the line"):
        edit_line(
            plan_store,
            "sept-2022",
            ref="CP-4",
            actor=tom,
            text="  ",
            now=NOW,
            source=Source.SLACK,
            key=None,
        )


def test_not_mine_then_reassigned_to_someone_who_owns_it_in_the_plan_too(plan_store, person):
    _open(plan_store, person)
    priya, sam = person("priya.shah@example.org"), person("sam.lee@example.org")
    said = not_mine(
        plan_store,
        "sept-2022",
        ref="CF-9",
        actor=priya,
        now=NOW,
        source="slack",
        comment="Sam's now",
    )
    twice = not_mine(plan_store, "sept-2022", ref="CF-9", actor=priya, now=NOW, source="slack")
    assert said.view.state is LineState.NOT_MINE and twice.replayed
    assert len(_events(plan_store, EventKind.NOT_MINE)) == 1
    with pytest.raises(NotAuthorised, match="editor"):
        reassign_line(plan_store, "sept-2022", ref="CF-9", actor=priya, to=sam, now=NOW)
    moved = reassign_line(
        plan_store,
        "sept-2022",
        ref="CF-9",
        actor=person("alex.morgan@example.org"),
        to=sam,
        now=NOW,
    )
    assert moved.view.owner_id == sam.id and moved.view.state is LineState.PENDING
    assert plan_store.deliverable_by_ref("CF-9").owner_id == sam.id  # type: ignore[union-attr]
    # The new owner can now answer (and record an edit, which needs the plan's ownership).
    edited = edit_line(
        plan_store,
        "sept-2022",
        ref="CF-9",
        actor=sam,
        text="Software business case approved.",
        now=NOW,
        source=Source.EMAIL,
        key="mail:1",
    )
    assert edited.view.state is LineState.EDITED


def test_asks_are_recorded_once_and_a_closed_round_answers_clearly(plan_store, person):
    _open(plan_store, person)
    priya = person("priya.shah@example.org")
    cf3 = plan_store.deliverable_by_ref("CF-3")
    assert cf3 is not None
    for _ in range(2):  # a delivery sent again after a crash records nothing new
        record_asks(
            plan_store,
            "sept-2022",
            person_id=priya.id,
            lines=[(cf3.id, "shown words")],
            key="round-ask|sept-2022|person:2",
            now=NOW,
            source="slack",
        )
    assert [e.text for e in _events(plan_store, EventKind.ASKED)] == ["shown words"]
    assert (
        approve_line(
            plan_store, "sept-2022", ref="CF-3", actor=priya, now=NOW, source="slack"
        ).view.text
        == "shown words"
    )

    alex = person("alex.morgan@example.org")
    closed = close_round(plan_store, "sept-2022", actor=alex, snapshot={"themes": []}, now=NOW)
    assert closed.closed_at == NOW and plan_store.snapshot("sept-2022") is not None
    with pytest.raises(RoundClosed, match="closed on 12 September 2022, so nothing was changed"):
        approve_line(plan_store, "sept-2022", ref="CF-1", actor=priya, now=NOW, source="slack")
    with pytest.raises(RoundClosed):
        close_round(plan_store, "sept-2022", actor=alex, snapshot={}, now=NOW)


def test_the_rounds_record_is_append_only_in_the_database(plan_store, person):
    _open(plan_store, person)
    approve_line(
        plan_store,
        "sept-2022",
        ref="CF-3",
        actor=person("priya.shah@example.org"),
        now=NOW,
        source="slack",
    )
    conn = sqlite3.connect(plan_store.path)  # type: ignore[arg-type]
    for sql in (
        "UPDATE round_events SET text = 'other words'",
        "DELETE FROM round_events",
        "UPDATE round_lines SET draft = 'x'",
        "DELETE FROM rounds",
        "UPDATE rounds SET due_on = '2030-01-01'",
    ):
        with pytest.raises(sqlite3.DatabaseError, match=r"append-only|kept|fixed"):
            conn.execute(sql)
    conn.close()
