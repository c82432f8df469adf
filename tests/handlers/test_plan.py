"""Plan import: whole-file validation with file/line/field errors, and safe re-imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from handlers.plan import PlanInvalid, load_plan, parse_plan
from handlers.service import import_plan
from store import Status, Store

GOOD = """\
plan: Test Plan
office: Test Office
people:
  - {name: Jane Doe, email: jane@example.org, slack: U1, role: editor}
  - {name: John Roe, email: john@example.org}
themes:
  - code: CF
    name: Putting Communities First
    aim: Listen to the public.
    deliverables:
      - ref: CF-1
        title: Business Crime Survey
        status: completed
        owner: jane@example.org
      - title: Business Community Event
        status: ongoing
        owner: john@example.org
        due: Q3 2022/23
"""


def test_every_error_names_file_line_and_field() -> None:
    bad = """\
plan: Broken
people:
  - {name: Jane Doe, email: jane@example.org}
themes:
  - code: CF
    name: Communities
    deliverables:
      - ref: CF-1
        title: One
        status: finished
      - ref: CF-1
        title: Two
        due: sometime
        owner: nobody@example.org
"""
    with pytest.raises(PlanInvalid) as err:
        parse_plan(bad, filename="plan.yaml")
    messages = [str(e) for e in err.value.errors]
    assert any(
        m.startswith("plan.yaml:10: CF.deliverables[0].status: unknown status 'finished'")
        for m in messages
    ), messages
    assert any(
        m.startswith("plan.yaml:11: CF.deliverables[1].ref: duplicate reference 'CF-1'")
        for m in messages
    ), messages
    assert any(
        m.startswith("plan.yaml:13: CF.deliverables[1].due: unparseable quarter") for m in messages
    ), messages
    assert any(
        m.startswith(
            "plan.yaml:14: CF.deliverables[1].owner: 'nobody@example.org' is not among the people"
        )
        for m in messages
    ), messages
    assert len(messages) == 4


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(PlanInvalid) as err:
        parse_plan("plan: x\nthemes: [\n", filename="p.yaml")
    assert str(err.value.errors[0]).startswith("p.yaml:3: yaml:")


def test_unknown_fields_are_reported_not_ignored() -> None:
    with pytest.raises(PlanInvalid, match=r"p.yaml:4: CF.deliverables\[0\].titel: unknown field"):
        parse_plan(
            "plan: x\nthemes:\n  - {code: CF, name: C, deliverables: [\n     {titel: oops}]}\n",
            filename="p.yaml",
        )


def test_invalid_plan_writes_nothing(fresh_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("status: ongoing", "status: nope"))
    with pytest.raises(PlanInvalid):
        import_plan(fresh_store, load_plan(path), today=dt.date(2022, 9, 1))
    assert fresh_store.deliverables() == []
    assert fresh_store.people() == []


def test_import_assigns_refs_and_records_initial_state(fresh_store: Store) -> None:
    summary = import_plan(fresh_store, parse_plan(GOOD), today=dt.date(2022, 9, 1))
    assert summary.added == 2
    event = fresh_store.deliverable_by_ref("CF-2")
    assert event is not None and event.title == "Business Community Event"
    assert event.status is Status.ONGOING and event.due == "Q3 2022/23"
    assert event.added_on == dt.date(2022, 9, 1)
    history = fresh_store.updates(deliverable_id=event.id)
    assert [(u.status_before, u.status_after) for u in history] == [(None, Status.ONGOING)]


def test_reimport_updates_adds_and_never_deletes(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(GOOD), today=dt.date(2022, 9, 1))
    changed = (
        GOOD.replace("Listen to the public.", "Listen and act.")
        .replace("title: Business Crime Survey", "title: Business Crime Survey 2022")
        .replace(
            "owner: john@example.org\n        due: Q3 2022/23",
            "owner: jane@example.org\n        due: Q4 2022/23",
        )
    )
    # Drop nothing but add a new one at the end.
    changed += "      - title: Rural Crime Action Plan\n        owner: john@example.org\n"
    summary = import_plan(fresh_store, parse_plan(changed), today=dt.date(2022, 10, 3))
    text = summary.text
    assert "~ CF-1: title 'Business Crime Survey' → 'Business Crime Survey 2022'" in text
    assert "~ CF-2: owner → jane@example.org; due Q3 2022/23 → Q4 2022/23" in text
    assert "+ CF-3 Rural Crime Action Plan (new on 2022-10-03)" in text
    assert fresh_store.theme_by_code("CF").aim == "Listen and act."
    cf2 = fresh_store.deliverable_by_ref("CF-2")
    assert cf2.due == "Q4 2022/23"
    # the due change is in the audit trail
    assert [u.due_after for u in fresh_store.updates(deliverable_id=cf2.id)] == [
        "Q3 2022/23",
        "Q4 2022/23",
    ]
    assert fresh_store.deliverable_by_ref("CF-3").added_on == dt.date(2022, 10, 3)

    # A third import without CF-3 keeps it.
    summary = import_plan(fresh_store, parse_plan(GOOD), today=dt.date(2022, 11, 1))
    assert "= CF-3 Rural Crime Action Plan: not in the file; kept with its history" in summary.text
    assert fresh_store.deliverable_by_ref("CF-3") is not None


def test_dry_run_writes_nothing(fresh_store: Store) -> None:
    summary = import_plan(fresh_store, parse_plan(GOOD), today=dt.date(2022, 9, 1), dry_run=True)
    assert summary.added == 2
    assert fresh_store.deliverables() == []
