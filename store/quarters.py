"""Financial-year quarters, as UK public bodies write them.

Pure value types with no I/O. The financial year starts in April by default;
``start_month`` makes that configurable (for instance 1 for a calendar year).

Forms that parse (all seen in the office's papers)::

    Q3 2022/23      Q3, 2022/23      Q3/Q4, 2022/23      Q2/3, 2023/24
    Q1 2026/27      q4 2022-23       Q4 2022/23 - Q1 2023/24
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

__all__ = [
    "FinancialYearQuarter",
    "QuarterParseError",
    "QuarterSpan",
    "due_end",
    "parse_quarter_span",
]


class QuarterParseError(ValueError):
    """Raised for text that is not a financial-year quarter."""


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _year_label(year: int, start_month: int) -> str:
    if start_month == 1:
        return str(year)
    return f"{year}/{(year + 1) % 100:02d}"


@dataclass(frozen=True, order=True)
class FinancialYearQuarter:
    """Quarter ``quarter`` (1-4) of the financial year that starts in calendar ``year``.

    ``FinancialYearQuarter(2022, 3)`` is "Q3 2022/23": October to December 2022.
    """

    year: int
    quarter: int
    start_month: int = field(default=4, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.quarter <= 4:
            raise QuarterParseError(f"quarter must be 1-4, not {self.quarter}")
        if not 1 <= self.start_month <= 12:
            raise QuarterParseError(f"start month must be 1-12, not {self.start_month}")
        if not 1900 <= self.year <= 9998:
            raise QuarterParseError(f"year {self.year} is out of range")

    # -- construction -------------------------------------------------
    @classmethod
    def of_date(cls, day: dt.date, *, start_month: int = 4) -> FinancialYearQuarter:
        """The quarter that contains ``day``."""
        offset = (day.month - start_month) % 12
        year = day.year if day.month >= start_month else day.year - 1
        return cls(year, offset // 3 + 1, start_month)

    @classmethod
    def parse(cls, text: str, *, start_month: int = 4) -> FinancialYearQuarter:
        """Parse a single quarter; a range such as ``Q3/Q4 2022/23`` is refused."""
        span = parse_quarter_span(text, start_month=start_month)
        if span.first != span.last:
            raise QuarterParseError(f"{text!r} is a range of quarters, not one quarter")
        return span.first

    # -- arithmetic ---------------------------------------------------
    @property
    def first_day(self) -> dt.date:
        year, month = _add_months(self.year, self.start_month, (self.quarter - 1) * 3)
        return dt.date(year, month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day

    def next(self) -> FinancialYearQuarter:
        if self.quarter == 4:
            return FinancialYearQuarter(self.year + 1, 1, self.start_month)
        return FinancialYearQuarter(self.year, self.quarter + 1, self.start_month)

    def previous(self) -> FinancialYearQuarter:
        if self.quarter == 1:
            return FinancialYearQuarter(self.year - 1, 4, self.start_month)
        return FinancialYearQuarter(self.year, self.quarter - 1, self.start_month)

    @property
    def year_label(self) -> str:
        return _year_label(self.year, self.start_month)

    # -- formatting ---------------------------------------------------
    def __str__(self) -> str:
        """Canonical form, ``Q3 2022/23``; it parses back to an equal quarter."""
        return f"Q{self.quarter} {self.year_label}"

    def paper(self) -> str:
        """The papers' form in running text: ``Q3, 2022/23``."""
        return f"Q{self.quarter}, {self.year_label}"


@dataclass(frozen=True)
class QuarterSpan:
    """One quarter or a run of quarters, e.g. "Q3/Q4, 2022/23"."""

    first: FinancialYearQuarter
    last: FinancialYearQuarter

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise QuarterParseError(f"{self.last} comes before {self.first}")

    @classmethod
    def single(cls, quarter: FinancialYearQuarter) -> QuarterSpan:
        return cls(quarter, quarter)

    @property
    def first_day(self) -> dt.date:
        return self.first.first_day

    @property
    def last_day(self) -> dt.date:
        return self.last.last_day

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day

    def is_single(self) -> bool:
        return self.first == self.last

    def __str__(self) -> str:
        if self.is_single():
            return str(self.first)
        if self.first.year == self.last.year:
            return f"Q{self.first.quarter}/Q{self.last.quarter} {self.first.year_label}"
        return f"{self.first} - {self.last}"

    def paper(self) -> str:
        if self.is_single():
            return self.first.paper()
        if self.first.year == self.last.year:
            return f"Q{self.first.quarter}/Q{self.last.quarter}, {self.first.year_label}"
        return f"{self.first.paper()} to {self.last.paper()}"

    # Spans order by when they end, so "later" means a due date that slipped.
    def __lt__(self, other: QuarterSpan) -> bool:
        return (self.last, self.first) < (other.last, other.first)

    def __le__(self, other: QuarterSpan) -> bool:
        return (self.last, self.first) <= (other.last, other.first)

    def __gt__(self, other: QuarterSpan) -> bool:
        return (self.last, self.first) > (other.last, other.first)

    def __ge__(self, other: QuarterSpan) -> bool:
        return (self.last, self.first) >= (other.last, other.first)


def _one_pattern(q: str, y: str) -> str:
    """A quarter (or a same-year run like Q3/Q4 or Q2/3) followed by its financial year."""
    return (
        rf"Q(?P<{q}>[1-4])(?:\s*/\s*Q?(?P<{q}_to>[1-4]))?\s*,?\s*"
        rf"(?P<{y}>\d{{4}})(?:\s*[/-]\s*(?P<{y}_end>\d{{2}}|\d{{4}}))?"
    )


_SINGLE_RE = re.compile(r"^\s*" + _one_pattern("q", "y") + r"\s*$", re.IGNORECASE)
_RANGE_RE = re.compile(
    r"^\s*" + _one_pattern("qa", "ya") + r"\s*(?:-|–|—|to)\s*" + _one_pattern("qb", "yb") + r"\s*$",
    re.IGNORECASE,
)


def _check_year(text: str, start: str, end: str | None, start_month: int) -> int:
    year = int(start)
    if end is not None:
        expected = year + 1
        if (len(end) == 2 and int(end) != expected % 100) or (
            len(end) == 4 and int(end) != expected
        ):
            raise QuarterParseError(f"{text!r}: {start}/{end} is not a financial year")
    # A bare year is the financial year starting in it: "Q1 2026" is Q1 2026/27.
    return year


def parse_quarter_span(text: str, *, start_month: int = 4) -> QuarterSpan:
    """Parse any of the papers' forms into a :class:`QuarterSpan`."""
    if not isinstance(text, str):
        raise QuarterParseError(f"{text!r} is not a quarter")
    match = _SINGLE_RE.match(text)
    if match:
        year = _check_year(text, match["y"], match["y_end"], start_month)
        first = FinancialYearQuarter(year, int(match["q"]), start_month)
        last_q = match["q_to"]
        last = FinancialYearQuarter(year, int(last_q), start_month) if last_q else first
        return QuarterSpan(first, last)
    match = _RANGE_RE.match(text)
    if match and not match["qa_to"] and not match["qb_to"]:
        ya = _check_year(text, match["ya"], match["ya_end"], start_month)
        yb = _check_year(text, match["yb"], match["yb_end"], start_month)
        first = FinancialYearQuarter(ya, int(match["qa"]), start_month)
        last = FinancialYearQuarter(yb, int(match["qb"]), start_month)
        return QuarterSpan(first, last)
    raise QuarterParseError(
        f"{text!r} is not a quarter; "
        "write it like 'Q3 2022/23', 'Q3/Q4, 2022/23' or 'Q2/3, 2023/24'"
    )


_MENTION_RE = re.compile(
    r"\bQ(?P<a>[1-4])(?:\s*(?:/|-|–|to)\s*Q?(?P<b>[1-4]))?\b"
    r"(?:\s*,?\s*(?P<y>\d{4})(?:\s*[/-]\s*(?:\d{4}|\d{2}))?)?",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)  # a plan has few distinct quarters; digests ask often
def due_end(due: str | None, *, start_month: int = 4) -> dt.date | None:
    """The last day of a recorded due quarter (``"Q3 2022/23"``, ``"Q3/Q4, 2022/23"``);
    ``None`` with no quarter, or one that does not parse."""
    if not due:
        return None
    try:
        return parse_quarter_span(due, start_month=start_month).last_day
    except QuarterParseError:
        return None


def mentions_span(text: str, span: QuarterSpan) -> bool:
    """Whether ``text`` already names ``span`` in any of the papers' forms.

    "Q3/4", "Q3/Q4, 2022/23" and "Q3 - Q4 2022/23" all name Q3/Q4 2022/23; a mention without
    a year counts when its quarters match.
    """
    if span.first.year != span.last.year:
        return str(span) in text or span.paper() in text
    wanted = (span.first.quarter, span.last.quarter)
    for m in _MENTION_RE.finditer(text):
        first = int(m["a"])
        found = (first, int(m["b"]) if m["b"] else first)
        if found == wanted and (m["y"] is None or int(m["y"]) == span.first.year):
            return True
    return False
