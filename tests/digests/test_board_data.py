"""The board's data: one row per deliverable with its marks, and the filters."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests.board import BoardFilters, board_rows, filter_rows
from store import Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_rows_carry_status_latest_note_and_marks(plan_store: Store) -> None:
    now = dt.datetime(2023, 6, 20, 12, tzinfo=dt.UTC)  # Q1 2023/24: Q3 and Q4 2022/23 are past
    rows = board_rows(plan_store, now=now, tz=LONDON)
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
