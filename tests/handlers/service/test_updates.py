"""The shared recording service: every input path goes through these two functions."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.service import (
    AmbiguousDeliverable,
    CorrespondenceRequest,
    NotAuthorised,
    UnknownDeliverable,
    UpdateRequest,
    ValidationError,
    record_correspondence,
    record_update,
)
from store import Source, Status, Store


def test_update_by_reference_changes_status_and_due_and_appends(plan_store: Store, person) -> None:
    before = len(plan_store.updates())
    outcome = record_update(
        plan_store,
        UpdateRequest(
            deliverable="cf-10",
            actor=person("priya.shah@example.org"),
            source=Source.SLACK,
            status=Status.COMPLETED,
            due="Q3, 2022/23",
            note="Business Community event held in Peterborough.",
        ),
    )
    assert (outcome.status_before, outcome.status_after) == (Status.ONGOING, Status.COMPLETED)
    stored = plan_store.deliverable_by_ref("CF-10")
    assert stored.status is Status.COMPLETED
    rows = plan_store.updates(deliverable_id=stored.id, newest_first=True)
    assert len(plan_store.updates()) == before + 1
    newest = rows[0]
    assert newest.source is Source.SLACK
    assert newest.status_before is Status.ONGOING and newest.status_after is Status.COMPLETED
    assert newest.note == "Business Community event held in Peterborough."
    assert newest.person_id == person("priya.shah@example.org").id


def test_update_by_unambiguous_title_words(plan_store: Store, person) -> None:
    outcome = record_update(
        plan_store,
        UpdateRequest(
            deliverable="victims provider forum",
            actor=person("grace.okafor@example.org"),
            source=Source.EMAIL,
            note="First forum held.",
        ),
    )
    assert outcome.deliverable.ref == "VW-11"


def test_ambiguous_title_never_guesses(plan_store: Store, person) -> None:
    before = len(plan_store.updates())
    with pytest.raises(AmbiguousDeliverable) as err:
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="review",
                actor=person("alex.morgan@example.org"),
                source=Source.SLACK,
                note="x",
            ),
        )
    assert len(err.value.candidates) > 1
    assert {c.ref for c in err.value.candidates} >= {"VW-6", "VW-10"}
    assert len(plan_store.updates()) == before


def test_unknown_deliverable(plan_store: Store, person) -> None:
    with pytest.raises(UnknownDeliverable, match="No deliverable matches"):
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="zebra crossing",
                actor=person("alex.morgan@example.org"),
                source=Source.CLI,
                note="x",
            ),
        )


def test_only_owner_or_editor_may_update(plan_store: Store, person) -> None:
    with pytest.raises(NotAuthorised, match="Grace Okafor"):
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="VW-4",
                actor=person("tom.fletcher@example.org"),
                source=Source.SLACK,
                note="not mine",
            ),
        )
    # Alex is an editor and may update anything.
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="VW-4",
            actor=person("alex.morgan@example.org"),
            source=Source.SLACK,
            note="Covering for Grace.",
        ),
    )


def test_on_hold_and_slippage_need_a_reason(plan_store: Store, person) -> None:
    owner = person("priya.shah@example.org")
    with pytest.raises(ValidationError, match="on hold needs a note"):
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="CF-9", actor=owner, source=Source.SLACK, status=Status.ON_HOLD
            ),
        )
    with pytest.raises(ValidationError, match="later") as err:
        record_update(
            plan_store,
            UpdateRequest(deliverable="CF-10", actor=owner, source=Source.SLACK, due="Q4 2022/23"),
        )
    assert err.value.field == "note"
    # Bringing a date forward needs no reason.
    out = record_update(
        plan_store,
        UpdateRequest(deliverable="CF-10", actor=owner, source=Source.SLACK, due="Q2 2022/23"),
    )
    assert (out.due_before, out.due_after) == ("Q3 2022/23", "Q2 2022/23")


def test_bad_due_quarter_and_long_note_are_refused(plan_store: Store, person) -> None:
    owner = person("priya.shah@example.org")
    with pytest.raises(ValidationError) as err:
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="CF-10", actor=owner, source=Source.SLACK, due="soon", note="x"
            ),
        )
    assert err.value.field == "due"
    with pytest.raises(ValidationError, match="limit"):
        record_update(
            plan_store,
            UpdateRequest(deliverable="CF-10", actor=owner, source=Source.SLACK, note="x" * 3001),
        )


def test_an_update_that_changes_nothing_needs_a_note(plan_store: Store, person) -> None:
    with pytest.raises(ValidationError, match="Add a note"):
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="CF-10", actor=person("priya.shah@example.org"), source=Source.SLACK
            ),
        )


def test_correspondence_counts_once_and_keeps_both_forwarders(plan_store: Store) -> None:
    request = CorrespondenceRequest(
        dedup_key="msgid:<abc@example.com>",
        received_on=dt.date(2022, 9, 1),
        category="mp",
        forwarder="priya.shah@example.org",
        sender_domain="parliament.uk",
    )
    first = record_correspondence(plan_store, request)
    second = record_correspondence(
        plan_store,
        CorrespondenceRequest(
            dedup_key="msgid:<abc@example.com>",
            received_on=dt.date(2022, 9, 1),
            category="mp",
            forwarder="Alex.Morgan@example.org",
        ),
    )
    assert not first.duplicate and second.duplicate
    assert first.correspondence_id == second.correspondence_id
    assert second.forwarders == ["priya.shah@example.org", "alex.morgan@example.org"]
    assert plan_store.correspondence_count() == 1
    assert plan_store.correspondence_by_category() == {"mp": 1}


def test_correspondence_category_is_validated(plan_store: Store) -> None:
    with pytest.raises(ValidationError, match="Unknown category"):
        record_correspondence(
            plan_store,
            CorrespondenceRequest(dedup_key="k", received_on=dt.date(2022, 9, 1), category="spam"),
        )
