"""Issue 16, item 1: "New" means new. The deliverables of a plan's first import are the
plan's own and never New, whatever ``start:`` says; a deliverable is New in a period when it
was added in it (``added:`` after the plan's start, a later import, ``/deliverable add``).
The import's summary and dry run say the same thing the report will."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests.digest import build_digest
from digests.report import build_report
from handlers.plan import parse_plan
from handlers.service import add_deliverable, import_plan
from store import Office, Source, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")
START = dt.date(2022, 3, 1)

PLAN = """\
plan: P
start: 2022-03-01
people: [{name: Jane Doe, email: jane@example.org, role: editor}]
themes:
  - code: CF
    name: Communities
    deliverables:
      - {title: Survey, status: ongoing, owner: jane@example.org}
      - {title: Strategy, status: completed, owner: jane@example.org}
      - {title: Event, status: not-started, owner: jane@example.org, added: 2022-07-01}
"""


def _lists(store: Store, start: str = "2022-03-01", end: str = "2022-09-14") -> dict[str, str]:
    report = build_report(
        store,
        day_from=dt.date.fromisoformat(start),
        day_to=dt.date.fromisoformat(end),
        office=Office(tz=LONDON),
    )
    return {
        i.ref: key
        for t in report.themes
        for key in ("completed", "current", "new")
        for i in getattr(t, key)
    }


def test_start_on_the_periods_first_day_keeps_the_plans_own_out_of_new(
    fresh_store: Store,
) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=START)
    # Survey is current (not New, although it was "added" on the period's first day); the
    # completed one counts as completed on the plan's start (it has no updated: date); only
    # Event, added in July, is New.
    assert _lists(fresh_store) == {"CF-1": "current", "CF-2": "completed", "CF-3": "new"}
    assert _lists(fresh_store, "2022-08-01") == {"CF-1": "current", "CF-3": "current"}


def test_the_import_says_what_the_report_will(fresh_store: Store) -> None:
    dry = import_plan(fresh_store, parse_plan(PLAN), today=START, dry_run=True)
    assert fresh_store.get_meta("plan") is None  # nothing written
    assert "+ CF-1 Survey (the plan's own)" in dry.text
    assert "+ CF-3 Event (new on 2022-07-01)" in dry.text
    assert (
        "In reports: 2 are the plan's own from 2022-03-01 (completed or current, never New); "
        "1 are New in the period that holds their date"
    ) in dry.text
    assert dry.text.splitlines()[-1] == "3 added, 0 changed, 0 unchanged"
    done = import_plan(fresh_store, parse_plan(PLAN), today=START)
    assert done.text == dry.text


def test_a_later_import_and_deliverable_add_are_new(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=START)
    later = PLAN + "      - {title: Rural Plan, status: not-started, owner: jane@example.org}\n"
    summary = import_plan(fresh_store, parse_plan(later), today=dt.date(2022, 6, 1))
    assert "+ CF-4 Rural Plan (new on 2022-06-01)" in summary.text
    jane = fresh_store.person_by_email("jane@example.org")
    add_deliverable(
        fresh_store,
        theme="CF",
        title="Youth Forum",
        actor=jane,
        source=Source.SLACK,
        today=START,  # added on the plan's start day, but after the first import
    )
    lists = _lists(fresh_store)
    assert lists["CF-4"] == "new" and lists["CF-5"] == "new"
    assert lists["CF-1"] == "current"


def test_a_database_imported_before_the_first_import_was_recorded(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=START)
    with fresh_store.transaction():
        fresh_store.set_meta("origin_last_id", "")  # as an older version left it
    assert _lists(fresh_store) == {"CF-1": "current", "CF-2": "completed", "CF-3": "new"}


def test_the_digest_of_the_first_week_lists_nothing_as_new(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=START)
    first = build_digest(
        fresh_store, year=2022, week=9, office=Office(tz=LONDON)
    )  # 28 Feb - 6 Mar 2022
    assert first.new == []
    july = build_digest(
        fresh_store, year=2022, week=26, office=Office(tz=LONDON)
    )  # 27 Jun - 3 Jul 2022
    assert [c.ref for c in july.new] == ["CF-3"]
