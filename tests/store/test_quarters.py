"""FinancialYearQuarter and QuarterSpan: every form in the papers, plus properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.quarters import (
    FinancialYearQuarter,
    QuarterParseError,
    QuarterSpan,
    parse_quarter_span,
)

Q = FinancialYearQuarter


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Q3 2022/23", Q(2022, 3), Q(2022, 3)),
        ("Q3, 2022/23", Q(2022, 3), Q(2022, 3)),
        ("Q3/Q4, 2022/23", Q(2022, 3), Q(2022, 4)),
        ("Q2/3, 2023/24", Q(2023, 2), Q(2023, 3)),
        ("Q1 2026/27", Q(2026, 1), Q(2026, 1)),
        ("q4 2022-23", Q(2022, 4), Q(2022, 4)),
        ("Q3/4, 2022/23", Q(2022, 3), Q(2022, 4)),
        ("Q4 2022/23 - Q1 2023/24", Q(2022, 4), Q(2023, 1)),
        ("  Q1,2023/2024 ", Q(2023, 1), Q(2023, 1)),
    ],
)
def test_parses_every_form_in_the_papers(text: str, first: Q, last: Q) -> None:
    span = parse_quarter_span(text)
    assert (span.first, span.last) == (first, last)


@pytest.mark.parametrize(
    "text", ["", "Q5 2022/23", "Q3 2022/24", "Q4/Q3 2022/23", "third quarter", "2022/23", "Q3"]
)
def test_rejects_what_is_not_a_quarter(text: str) -> None:
    with pytest.raises(QuarterParseError):
        parse_quarter_span(text)


def test_single_quarter_parse_refuses_a_range() -> None:
    with pytest.raises(QuarterParseError, match="range"):
        Q.parse("Q3/Q4 2022/23")


def test_formats_canonical_and_paper_forms() -> None:
    assert str(Q(2022, 3)) == "Q3 2022/23"
    assert Q(2022, 3).paper() == "Q3, 2022/23"
    assert str(parse_quarter_span("Q2/3, 2023/24")) == "Q2/Q3 2023/24"
    assert parse_quarter_span("Q3/Q4, 2022/23").paper() == "Q3/Q4, 2022/23"
    assert str(Q(1999, 4)) == "Q4 1999/00"


def test_days_follow_the_april_financial_year() -> None:
    assert Q(2022, 1).first_day == dt.date(2022, 4, 1)
    assert Q(2022, 1).last_day == dt.date(2022, 6, 30)
    assert Q(2022, 3).first_day == dt.date(2022, 10, 1)
    assert Q(2022, 4).first_day == dt.date(2023, 1, 1)
    assert Q(2022, 4).last_day == dt.date(2023, 3, 31)
    assert Q.of_date(dt.date(2023, 3, 31)) == Q(2022, 4)
    assert Q.of_date(dt.date(2023, 4, 1)) == Q(2023, 1)


def test_start_month_is_configurable() -> None:
    calendar = Q.of_date(dt.date(2022, 2, 10), start_month=1)
    assert (calendar.year, calendar.quarter) == (2022, 1)
    assert str(calendar) == "Q1 2022"
    july = Q(2022, 1, start_month=7)
    assert july.first_day == dt.date(2022, 7, 1)
    assert july.last_day == dt.date(2022, 9, 30)


def test_span_orders_by_end_so_later_means_slipped() -> None:
    q3 = parse_quarter_span("Q3 2022/23")
    q3q4 = parse_quarter_span("Q3/Q4 2022/23")
    assert q3q4 > q3
    assert parse_quarter_span("Q1 2023/24") > q3q4


quarters = st.builds(Q, st.integers(1990, 2200), st.integers(1, 4))
days = st.dates(dt.date(1990, 4, 1), dt.date(2200, 12, 31))


@given(quarters)
def test_round_trip_canonical_and_paper(q: Q) -> None:
    assert Q.parse(str(q)) == q
    assert Q.parse(q.paper()) == q


@given(quarters, quarters)
def test_ordering_matches_dates(a: Q, b: Q) -> None:
    assert (a < b) == (a.first_day < b.first_day)
    assert (a == b) == (a.first_day == b.first_day)


@given(days, st.integers(1, 12))
def test_quarter_of_a_date_contains_it(day: dt.date, start_month: int) -> None:
    q = Q.of_date(day, start_month=start_month)
    assert q.first_day <= day <= q.last_day
    assert q.contains(day)
    assert not q.next().contains(day)
    assert q.next().first_day == q.last_day + dt.timedelta(days=1)
    assert q.previous().next() == q


@given(quarters, quarters)
def test_span_round_trip(a: Q, b: Q) -> None:
    first, last = min(a, b), max(a, b)
    span = QuarterSpan(first, last)
    assert parse_quarter_span(str(span)) == span
    assert parse_quarter_span(span.paper()) == span
