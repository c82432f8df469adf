"""The board's data: one row per deliverable with its marks, and the filters."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests.board import BoardFilters, board_rows, filter_rows
from store import Office, Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_rows_carry_status_latest_note_and_marks(plan_store: Store) -> None:
    now = dt.datetime(2023, 6, 20, 12, tzinfo=dt.UTC)  # Q1 2023/24: Q3 and Q4 2022/23 are past
    rows = board_rows(plan_store, office=Office(clock=lambda: now, tz=LONDON))
    assert len(rows) == 50 and rows[0].ref == "CF-1"
    by_ref = {r.ref: r for r in rows}
    survey = by_ref["CF-3"]
    assert survey.status is Status.COMPLETED and not survey.stale and not survey.overdue
    assert survey.note.startswith("Business Crime Survey launched.")
    assert survey.last_on == dt.date(2022, 7, 29)
    # Ongoing with no update since August, and due before this quarter: stale and overdue.
    marked = [r for r in rows if r.stale and r.overdue]
    assert marked and all(r.status in (Status.ONGOING, Status.ON_HOLD) for r in marked)
    assert filter_rows(rows, BoardFilters(stale=True)) == [r for r in rows if r.stale]
    assert filter_rows(rows, BoardFilters(overdue=True, theme="VW")) == [
        r for r in rows if r.overdue and r.theme_code == "VW"
    ]
    assert [r.ref for r in filter_rows(rows, BoardFilters(q="crime survey"))] == ["CF-3"]
    assert filter_rows(rows, BoardFilters(owner="priya shah")) == [
        r for r in rows if r.owner == "Priya Shah"
    ]


def test_rows_as_they_stood_at_the_end_of_a_past_day(plan_store: Store) -> None:
    from handlers.service import UpdateRequest, record_update
    from store import Source

    cf9 = plan_store.deliverable_by_ref("CF-9")
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="CF-9",
            actor=plan_store.person(cf9.owner_id),
            source=Source.SLACK,
            status=Status.ON_HOLD,
            note="Paused pending the budget review.",
            recorded_at=dt.datetime(2022, 9, 12, 9, tzinfo=dt.UTC),
        ),
    )
    now = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)
    today = {r.ref: r for r in board_rows(plan_store, office=Office(clock=lambda: now, tz=LONDON))}
    past = {
        r.ref: r
        for r in board_rows(
            plan_store, office=Office(clock=lambda: now, tz=LONDON), as_of=dt.date(2022, 9, 11)
        )
    }
    assert today["CF-9"].status is Status.ON_HOLD and past["CF-9"].status is Status.ONGOING
    assert past["CF-9"].note != "Paused pending the budget review."
    assert past["CF-9"].last_on is not None and past["CF-9"].last_on <= dt.date(2022, 9, 11)
    assert "CP-7" in today and "CP-7" in past  # added 15 August
    july = board_rows(
        plan_store, office=Office(clock=lambda: now, tz=LONDON), as_of=dt.date(2022, 7, 31)
    )
    assert len(july) == 45 and "CF-12" not in {r.ref for r in july}  # added 1 August


def test_marks_new_dependencies_and_due_this_quarter(plan_store: Store) -> None:
    now = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)  # Q2 2022/23
    rows = board_rows(
        plan_store, office=Office(clock=lambda: now, tz=LONDON), new_since=dt.date(2022, 8, 1)
    )
    added = {d.ref: d.added_on for d in plan_store.deliverables()}
    assert {r.ref for r in rows if r.new} == {
        ref for ref, day in added.items() if day >= dt.date(2022, 8, 1)
    }
    assert {"CF-12", "CP-7"} <= {r.ref for r in rows if r.new}
    assert "CF-11" not in {r.ref for r in rows if r.new}  # added 1 July, before the period
    assert sum(r.dependencies for r in rows) == 8
    soon = [r for r in rows if r.due_soon]
    assert all(r.status not in (Status.COMPLETED, Status.BAU) and not r.overdue for r in soon)
    assert filter_rows(rows, BoardFilters(new=True)) == [r for r in rows if r.new]
    assert filter_rows(rows, BoardFilters(attention=True)) == [
        r for r in rows if r.stale or r.overdue or r.due_soon
    ]


def test_no_mail_is_a_sentence_not_an_empty_chart(plan_store: Store) -> None:
    from digests.board import board_period
    from digests.board_pages import Page, render_board
    from digests.chart import period_title, week_labels
    from digests.digest_week import weekly_correspondence

    now = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)
    mail = weekly_correspondence(plan_store, dt.date(2022, 9, 12), dt.date(2022, 9, 18))
    assert sum(n for _, n in mail.weekly) == 0
    page = Page("Plan", "Office", "As at now", board_period(now.date(), ()))
    html = render_board(
        page,
        board_rows(plan_store, office=Office(clock=lambda: now, tz=LONDON)),
        BoardFilters(),
        mail,
    )
    assert '<img class="chart"' not in html
    assert "No correspondence recorded in the 12 weeks from 27 June to 18 September 2022." in html
    # The chart's labels carry the year, and its title the period.
    weeks = [dt.date(2022, 12, 19), dt.date(2022, 12, 26), dt.date(2023, 1, 2)]
    assert week_labels(weeks) == ["19 Dec\n2022", "26 Dec", "2 Jan\n2023"]
    assert period_title(weeks) == "Correspondence per week, 19 December 2022 to 8 January 2023"
