"""Slippage typed as prose: the later quarter a note says the work moved to. Pure, no I/O.

Staff often write "pushed back to Q3" or "slipping to Q4 - waiting on MoJ steer" without
setting ``due``. :func:`later_quarter_named` finds the quarter such a note names, so the bot
can ask whether to move the due quarter, and the report can avoid stating a quarter that the
note has superseded.

Only a quarter introduced by words of moving counts ("pushed back to", "slipping to",
"moved to", "delayed until", "deferred to", "postponed to", "put back to", "rescheduled for",
"revised to", "now"); "Market engagement event planned for Q3" names a quarter but moves
nothing.
"""

from __future__ import annotations

import datetime as dt
import re

from store.quarters import FinancialYearQuarter, QuarterParseError, QuarterSpan

__all__ = ["later_quarter_named", "quarters_named_as_moves"]

# Words of moving, then an optional preposition, then a quarter (a run such as Q3/4 or
# Q3/Q4 allowed), then an optional financial year: "2022/23", "2022-23", "22/23", "2023".
_MOVE = (
    r"(?:push(?:ed|ing)?(?:\s+back)?|slip(?:s|ped|ping)?|mov(?:e|ed|ing)(?:\s+back)?"
    r"|delay(?:s|ed|ing)?|defer(?:s|red|ring)?|postpon(?:e|ed|ing)|put\s+back"
    r"|re-?schedul(?:e|ed|ing)|re-?programm?(?:e|ed|ing)|revised|now(?:\s+(?:due|expected|planned"
    r"|scheduled|likely|looking(?:\s+like)?|aiming(?:\s+for)?))?)"
)
_QUARTER = (
    r"Q(?P<a>[1-4])(?:\s*/\s*Q?(?P<b>[1-4]))?\b"
    r"(?:\s*,?\s*(?:(?P<y>\d{4})(?:\s*[/-]\s*(?P<y_end>\d{4}|\d{2}))?"
    r"|(?P<y2>\d{2})\s*[/-]\s*(?P<y2_end>\d{2}))\b)?"
)
# "slipped from Q2 to Q4": the quarter it moved from is skipped.
_FROM = r"(?:from\s+Q[1-4](?:\s*/\s*Q?[1-4])?(?:\s*,?\s*\d{2,4}(?:\s*[/-]\s*\d{2,4})?)?\s+)?"
_MOVE_RE = re.compile(
    rf"\b{_MOVE}\s*{_FROM}(?:\b(?:back\s+)?(?:to|into|until|till|til|for|in|by)\b\s*)?"
    rf"(?:(?:the\s+)?(?:start|end|beginning|middle)\s+of\s+|early\s+|late\s+|mid[-\s]?)?{_QUARTER}",
    re.IGNORECASE,
)


def _year(match: re.Match[str]) -> int | None:
    """The financial year the match names (the year it starts in), or None if none."""
    if match["y2"] is not None:
        year, end = 2000 + int(match["y2"]), match["y2_end"]
    elif match["y"] is not None:
        year, end = int(match["y"]), match["y_end"]
    else:
        return None
    if end is not None:
        expected = year + 1
        if int(end) not in (expected, expected % 100):
            return None  # "Q3 2022/24" names no financial year; treat as no year at all
    return year


def _span(match: re.Match[str], on: dt.date, start_month: int) -> QuarterSpan | None:
    first_q = int(match["a"])
    last_q = int(match["b"]) if match["b"] else first_q
    year = _year(match)
    try:
        if year is None:
            # A quarter without a year is the next such quarter on or after ``on``'s quarter.
            now = FinancialYearQuarter.of_date(on, start_month=start_month)
            year = now.year if first_q >= now.quarter else now.year + 1
        first = FinancialYearQuarter(year, first_q, start_month)
        # "Q4/1" runs into the next financial year.
        last_year = year if last_q >= first_q else year + 1
        last = FinancialYearQuarter(last_year, last_q, start_month)
        return QuarterSpan(first, last)
    except QuarterParseError:
        return None


def quarters_named_as_moves(note: str, *, on: dt.date, start_month: int = 4) -> list[QuarterSpan]:
    """Every quarter span ``note`` names after words of moving, in the order written."""
    spans = []
    for match in _MOVE_RE.finditer(note):
        span = _span(match, on, start_month)
        if span is not None:
            spans.append(span)
    return spans


def later_quarter_named(
    note: str, due: QuarterSpan | None, *, on: dt.date, start_month: int = 4
) -> QuarterSpan | None:
    """The quarter span a note says the work moved to, when it is later than ``due``.

    "pushed back to Q3", "slipping to Q4", "start moved to Q3/4" and "now Q1 2023/24" all
    name one. A quarter without a year is read as the next such quarter on or after the
    quarter of ``on`` (the note's date): "Q3" written in July 2022 is Q3 2022/23, "Q1" is
    Q1 2023/24. When the note names several moves, the last one written counts.

    ``None`` when the note names no move, or when the quarter it names is not later than
    ``due`` (spans compare by when they end). With no recorded ``due``, any move named is
    returned: a quarter is then worth recording.
    """
    spans = quarters_named_as_moves(note, on=on, start_month=start_month)
    if not spans:
        return None
    named = spans[-1]
    if due is not None and not named > due:
        return None
    return named
