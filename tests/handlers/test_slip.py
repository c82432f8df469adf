"""The answer to "Move due to Q4 2022/23?" is an update like any other, and the report reads
it (issue 16): unanswered, the draft leaves "Scheduled for" out and flags the deliverable;
kept, it says the recorded quarter again; moved, the new one."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from digests.report import build_report
from handlers.service import (
    NotAuthorised,
    UpdateRequest,
    ValidationError,
    answer_slip,
    ask_about_slip,
    record_update,
)
from store import Office, Source, Store

TZ = zoneinfo.ZoneInfo("Europe/London")
NOTE = "slipping to Q4 - venue closed for works"


def _ask(store: Store, person) -> str:
    priya = person("priya.shah@example.org")
    request = UpdateRequest(
        deliverable="CF-10",
        actor=priya,
        source=Source.SLACK,
        note=NOTE,
        recorded_at=dt.datetime(2022, 9, 14, 12, tzinfo=dt.UTC),  # "Q4" is Q4 2022/23
    )
    outcome = record_update(store, request)
    question = ask_about_slip(store, outcome, actor=priya, note=NOTE, on=dt.date(2022, 9, 14))
    assert question is not None
    assert (question.named, question.recorded) == ("Q4 2022/23", "Q3 2022/23")
    return question.token


def _line(store: Store):
    today = dt.datetime.now(TZ).date()
    report = build_report(store, day_from=dt.date(2022, 3, 1), day_to=today, office=Office(tz=TZ))
    return next(i for t in report.themes for i in t.current if i.ref == "CF-10")


def test_unanswered_the_draft_states_no_quarter_and_flags_it(plan_store: Store, person) -> None:
    _ask(plan_store, person)
    item = _line(plan_store)
    assert "Scheduled for" not in item.update_line
    assert any("Q4 2022/23" in flag for flag in item.flags)


def test_kept_the_draft_says_the_recorded_quarter(plan_store: Store, person) -> None:
    token = _ask(plan_store, person)
    answer_slip(plan_store, token, actor=person("priya.shah@example.org"), move=False)
    item = _line(plan_store)
    assert "Scheduled for completion Q3, 2022/23." in item.update_line
    assert "No change" not in item.update_line and not item.flags


def test_moved_the_draft_says_the_new_quarter(plan_store: Store, person) -> None:
    token = _ask(plan_store, person)
    answer_slip(plan_store, token, actor=person("priya.shah@example.org"), move=True)
    item = _line(plan_store)
    assert item.due == "Q4 2022/23"
    assert "Q3, 2022/23" not in item.update_line and not item.flags


def test_a_question_is_answered_once_by_the_person_asked(plan_store: Store, person) -> None:
    token = _ask(plan_store, person)
    with pytest.raises(NotAuthorised):
        answer_slip(plan_store, token, actor=person("tom.fletcher@example.org"), move=True)
    answer_slip(plan_store, token, actor=person("alex.morgan@example.org"), move=False)  # editor
    with pytest.raises(ValidationError, match="answered already"):
        answer_slip(plan_store, token, actor=person("priya.shah@example.org"), move=True)
    assert plan_store.deliverable_by_ref("CF-10").due == "Q3 2022/23"
