"""later_quarter_named: the later quarter a note says the work moved to."""

from __future__ import annotations

import datetime as dt

import pytest

from store.quarters import FinancialYearQuarter, QuarterSpan, parse_quarter_span
from store.slippage import later_quarter_named, quarters_named_as_moves

JULY_2022 = dt.date(2022, 7, 14)  # Q2 2022/23
Q2 = parse_quarter_span("Q2 2022/23")


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("pushed back to Q3", "Q3 2022/23"),
        ("slipping to Q4 - waiting on MoJ steer", "Q4 2022/23"),
        ("start moved to Q3/4", "Q3/Q4 2022/23"),
        ("now Q1 2023/24", "Q1 2023/24"),
        ("Launch delayed until Q4 2022/23 as supplier late", "Q4 2022/23"),
        ("deferred to Q1 23/24 by the board", "Q1 2023/24"),
        ("postponed to q3, 2022-23", "Q3 2022/23"),
        ("put back to Q1", "Q1 2023/24"),  # Q1 written in July is next year's
        ("slipped from Q2 to Q4", "Q4 2022/23"),
        ("rescheduled for end of Q3", "Q3 2022/23"),
        ("Now due Q4. chased CFO", "Q4 2022/23"),
        ("moved to Q3 then pushed to Q4", "Q4 2022/23"),  # the last move written counts
    ],
)
def test_names_the_later_quarter(note: str, expected: str) -> None:
    assert later_quarter_named(note, Q2, on=JULY_2022) == parse_quarter_span(expected)


@pytest.mark.parametrize(
    "note",
    [
        "Market engagement event planned for Q3 2022/23.",  # names a quarter, moves nothing
        "no change, see tactical plan",
        "chased CFO re biz case. still waiting",
        "on track for Q2",
        "Q3 report went to the board",
        "pushed the paper to the cllrs",  # a move, but no quarter
        "moved to Q2",  # not later than Q2
        "moved to Q1 2022/23",  # earlier
    ],
)
def test_none_when_no_later_quarter(note: str) -> None:
    assert later_quarter_named(note, Q2, on=JULY_2022) is None


def test_a_quarter_without_a_year_is_the_next_such_quarter_on_or_after_the_note() -> None:
    march = dt.date(2022, 3, 1)  # Q4 2021/22
    assert later_quarter_named("slipping to Q4", None, on=march) == parse_quarter_span("Q4 2021/22")
    assert later_quarter_named("slipping to Q1", None, on=march) == parse_quarter_span("Q1 2022/23")
    august = dt.date(2022, 8, 31)
    assert later_quarter_named("pushed back to Q2", None, on=august) == parse_quarter_span(
        "Q2 2022/23"
    )


def test_a_later_end_is_later_even_when_the_start_is_the_same() -> None:
    due = parse_quarter_span("Q3 2022/23")
    assert later_quarter_named("moved to Q3/4", due, on=JULY_2022) == parse_quarter_span(
        "Q3/Q4 2022/23"
    )


def test_a_run_into_the_next_year() -> None:
    span = later_quarter_named("slipping to Q4/1", Q2, on=JULY_2022)
    assert span == QuarterSpan(FinancialYearQuarter(2022, 4), FinancialYearQuarter(2023, 1))


def test_with_no_recorded_due_any_named_move_is_returned() -> None:
    assert later_quarter_named("pushed back to Q3", None, on=JULY_2022) == parse_quarter_span(
        "Q3 2022/23"
    )


def test_another_financial_year_start() -> None:
    # Calendar-year quarters: Q3 is July-September, so in July "Q3" is this year's.
    span = later_quarter_named("slipping to Q3", None, on=JULY_2022, start_month=1)
    assert span == QuarterSpan.single(FinancialYearQuarter(2022, 3, 1))


def test_every_move_in_order() -> None:
    spans = quarters_named_as_moves("moved to Q3, then delayed until Q4", on=JULY_2022)
    assert [str(s) for s in spans] == ["Q3 2022/23", "Q4 2022/23"]
