"""Plan import and the history it leaves: same-day updates, a baseline, imported notes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests.digest import build_digest
from digests.report import build_report, render_report
from handlers.plan import load_plan, parse_plan
from handlers.service import UpdateRequest, import_plan, record_update
from store import Office, Source, Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")

PLAN = """\
plan: Police and Crime Plan 2021-24
office: OPCC
people:
  - {name: Jane Doe, email: jane@example.org, role: editor}
themes:
  - code: CF
    name: Putting Communities First
    aim: Listen to the public.
    deliverables:
      - {title: Business Crime Survey, status: ongoing, owner: jane@example.org, due: Q3 2022/23}
      - {title: Engagement Strategy, status: completed, owner: jane@example.org}
      - {title: Community Event, status: not-started, owner: jane@example.org}
"""


def test_an_update_made_on_the_import_day_is_not_hidden(fresh_store: Store) -> None:
    day = dt.date(2022, 9, 14)
    # The plan is imported at 08:00; Jane records an update at 09:00 the same day.
    import_plan(
        fresh_store,
        parse_plan(PLAN),
        today=day,
        now=dt.datetime(2022, 9, 14, 8, tzinfo=dt.UTC),
    )
    jane = fresh_store.person_by_email("jane@example.org")
    record_update(
        fresh_store,
        UpdateRequest(
            deliverable="CF-1",
            actor=jane,
            source=Source.SLACK,
            due="Q4 2022/23",
            note="Survey closes in January.",
            recorded_at=dt.datetime(2022, 9, 14, 9, tzinfo=dt.UTC),
        ),
    )
    last = fresh_store.last_updates()[fresh_store.deliverable_by_ref("CF-1").id]
    assert last.note == "Survey closes in January."
    assert last.due_after == "Q4 2022/23"
    report = build_report(fresh_store, day_from=day, day_to=day, office=Office(tz=LONDON))
    item = report.themes[0].current[0] if report.themes[0].current else report.themes[0].new[0]
    assert item.due == "Q4 2022/23" and item.notes == ("Survey closes in January.",)
    digest = build_digest(fresh_store, year=2022, week=37, office=Office(tz=LONDON))
    assert any("Survey closes" in note for _, _, note in digest.week_notes)


def test_history_is_ordered_by_sequence_even_when_clocks_disagree(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=dt.date(2022, 9, 14))
    jane = fresh_store.person_by_email("jane@example.org")
    for when, note in (
        (dt.datetime(2022, 9, 14, 15, tzinfo=dt.UTC), "first"),
        (dt.datetime(2022, 9, 14, 11, tzinfo=dt.UTC), "second"),
    ):
        record_update(
            fresh_store,
            UpdateRequest(
                deliverable="CF-1", actor=jane, source=Source.SLACK, note=note, recorded_at=when
            ),
        )
    assert [u.note for u in fresh_store.updates(deliverable_id=1)][-2:] == ["first", "second"]
    assert fresh_store.last_updates()[1].note == "second"


def test_a_first_import_without_start_is_the_baseline(fresh_store: Store) -> None:
    import_plan(
        fresh_store,
        parse_plan(PLAN),
        today=dt.date(2022, 11, 1),
        now=dt.datetime(2022, 11, 1, 10, tzinfo=dt.UTC),
    )
    # Last half-year, before the bot was adopted: the imported state, not an empty report.
    report = build_report(
        fresh_store,
        day_from=dt.date(2022, 4, 1),
        day_to=dt.date(2022, 9, 30),
        office=Office(tz=LONDON),
    )
    cf = report.themes[0]
    assert cf.new == []
    assert [i.title for i in cf.current] == ["Business Crime Survey", "Community Event"]
    assert "The record starts on 1 November 2022, when the plan was first imported" in (
        report.history_note
    )
    text = render_report(report, "markdown")
    assert "No deliverables to report" not in text
    assert "start: in the plan file" in text
    # The period that includes the import day: still nothing new, nothing "completed" by it.
    around = build_report(
        fresh_store,
        day_from=dt.date(2022, 10, 1),
        day_to=dt.date(2022, 11, 30),
        office=Office(tz=LONDON),
    )
    assert around.themes[0].new == [] and around.themes[0].completed == []
    digest = build_digest(fresh_store, year=2022, week=44, office=Office(tz=LONDON))
    assert digest.new == []
    # A deliverable added after the baseline is new.
    spec = parse_plan(
        PLAN.replace(
            "      - {title: Community Event",
            "      - {title: Youth Forum, status: not-started}\n      - {title: Community Event",
        )
    )
    import_plan(fresh_store, spec, today=dt.date(2022, 11, 20))
    later = build_report(
        fresh_store,
        day_from=dt.date(2022, 11, 1),
        day_to=dt.date(2022, 11, 30),
        office=Office(tz=LONDON),
    )
    assert [i.title for i in later.themes[0].new] == ["Youth Forum"]
    assert later.history_note == ""


def test_a_plan_with_start_has_no_baseline_note(fresh_store: Store, example_plan) -> None:
    import_plan(fresh_store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    report = build_report(
        fresh_store,
        day_from=dt.date(2022, 3, 1),
        day_to=dt.date(2022, 9, 14),
        office=Office(tz=LONDON),
    )
    assert report.history_note == ""
    assert fresh_store.baseline() is None


def test_imported_notes_count_as_the_weeks_updates(plan_store: Store) -> None:
    # 27 notes in the example plan are dated 31 August 2022 (week 35).
    digest = build_digest(plan_store, year=2022, week=35, office=Office(tz=LONDON))
    assert not digest.quiet
    notes = digest.week_notes
    assert len(notes) == 27
    assert len(digest.updates) == 27  # one line each, in "Other updates"
    # Imported rows have no author: the line names the deliverable's owner.
    owners = {d.ref: plan_store.person(d.owner_id).name for d in plan_store.deliverables()}
    assert all(who == owners[ref] for ref, who, _ in notes)


def test_stale_and_overdue_deliverable_needs_attention_once(fresh_store: Store) -> None:
    import_plan(
        fresh_store,
        parse_plan(PLAN.replace("due: Q3 2022/23", "due: Q1 2022/23")),
        today=dt.date(2022, 4, 1),
    )
    digest = build_digest(fresh_store, year=2022, week=50, office=Office(tz=LONDON))
    refs = [r for g in digest.owners for r in (*g.overdue, *g.stale, *g.due_soon)]
    assert refs.count("CF-1") == 1  # both stale and overdue: named once, as overdue
    assert any("CF-1" in g.overdue for g in digest.owners)
    assert digest.attention == len(refs) == len(set(refs))
    assert digest.quiet_line.endswith(f"; {len(refs)} need attention.")
    assert Status.ONGOING  # the deliverable stays ongoing
