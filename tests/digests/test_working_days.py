"""Working days are counted from prefix sums, not stepped: checked against the stepping
function (and the stats built on it) that they replace, kept here as the reference."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from digests.stats import (
    StatsRow,
    _period,
    bank_holidays,
    correspondence_stats,
    stats_from_counts,
    working_days_between,
)
from store import CORRESPONDENCE_CATEGORIES, Office

D = dt.date
DAYS = st.dates(min_value=D(2019, 1, 1), max_value=D(2027, 12, 31))


def old_working_days_between(start: dt.date, end: dt.date, closed: frozenset[dt.date]) -> int:
    if end <= start:
        return 0
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            count += 1
    return count


def old_stats(rows: list[dict[str, Any]], *, by: str, office: Office, today: dt.date) -> list:
    target_for = office.answer_target
    items = [
        (
            dt.date.fromisoformat(r["received_on"]),
            r["category"],
            dt.date.fromisoformat(r["answered_on"]) if r.get("answered_on") else None,
        )
        for r in rows
    ]
    if not items:
        return []
    first = min(i[0] for i in items).year
    last = max(max((i[2] or i[0]).year for i in items), today.year) + 1
    closed = bank_holidays(office.bank_holidays, first, last)
    groups: dict[str, list[tuple[dt.date, str, dt.date | None]]] = {}
    for item in items:
        key = item[1] if by == "category" else _period(item[0], by)
        groups.setdefault(key, []).append(item)
    out = []
    for key in sorted(groups):
        group = groups[key]
        answered = [(r, c, a) for r, c, a in group if a is not None]
        days = [old_working_days_between(r, a, closed) for r, _, a in answered]
        within = sum(1 for (r, c, a), d in zip(answered, days, strict=True) if d <= target_for(c))
        overdue = sum(
            1
            for r, c, a in group
            if a is None and old_working_days_between(r, today, closed) > target_for(c)
        )
        decided = len(answered) + overdue
        targets = {target_for(c) for _, c, _ in group}
        out.append(
            StatsRow(
                key=key,
                received=len(group),
                answered=len(answered),
                median_days_to_answer=float(statistics.median(days)) if days else None,
                within_target=within,
                share_within_target=round(100 * within / decided, 1) if decided else None,
                target_days=targets.pop() if len(targets) == 1 else None,
                decided=decided,
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(
    start=DAYS,
    end=DAYS,
    closed=st.frozensets(st.dates(min_value=D(2018, 6, 1), max_value=D(2028, 6, 1)), max_size=40),
)
def test_counting_equals_stepping(start: dt.date, end: dt.date, closed: frozenset[dt.date]) -> None:
    assert working_days_between(start, end, closed) == old_working_days_between(start, end, closed)
    assert working_days_between(end, start, closed) == old_working_days_between(end, start, closed)


def test_counting_across_years_and_nations() -> None:
    for nation in ("ENG", "SCT", "WLS", "NIR"):
        closed = bank_holidays(nation, 2015, 2030)
        for start, end in [(D(2015, 1, 1), D(2030, 12, 31)), (D(2022, 12, 23), D(2023, 1, 4))]:
            assert working_days_between(start, end, closed) == old_working_days_between(
                start, end, closed
            )


LETTER = st.tuples(
    st.dates(min_value=D(2021, 1, 1), max_value=D(2024, 12, 31)),
    st.sampled_from(CORRESPONDENCE_CATEGORIES),
    st.one_of(st.none(), st.integers(min_value=-2, max_value=60)),
)


@settings(max_examples=150, deadline=None)
@given(
    letters=st.lists(LETTER, max_size=60),
    by=st.sampled_from(["week", "month", "category"]),
    today=st.dates(min_value=D(2021, 1, 1), max_value=D(2026, 12, 31)),
    nation=st.sampled_from(["ENG", "SCT"]),
)
def test_stats_equal_the_stepped_stats(
    letters: list[tuple[dt.date, str, int | None]], by: str, today: dt.date, nation: str
) -> None:
    office = Office(answer_targets=(("mp", 15), ("complaint", 10)), bank_holidays=nation)
    rows = [
        {
            "received_on": r.isoformat(),
            "category": c,
            "answered_on": None if a is None else (r + dt.timedelta(days=a)).isoformat(),
        }
        for r, c, a in letters
    ]
    expected = old_stats(rows, by=by, office=office, today=today)
    assert correspondence_stats(rows, by=by, office=office, today=today) == expected
    counted: dict[tuple[str, str, str | None], int] = {}
    for r in rows:
        key = (r["received_on"], r["category"], r["answered_on"])
        counted[key] = counted.get(key, 0) + 1
    groups = [(r, c, a, n) for (r, c, a), n in counted.items()]
    assert stats_from_counts(groups, by=by, office=office, today=today) == expected
