"""Dates typed by people (the CLI's ``--from``/``--to``, the board's ``?from=&to=``): ISO
format, within years the reports can compute with (``9999-12-31`` overflows the day after)."""

from __future__ import annotations

import datetime as dt

__all__ = ["FIRST_DAY", "LAST_DAY", "parse_day_text", "within_range"]

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
RANGE_TEXT = f"between {FIRST_DAY} and {LAST_DAY}"


def within_range(day: dt.date) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is out of range: give a date {RANGE_TEXT}")
    return day


def parse_day_text(value: str) -> dt.date:
    """``YYYY-MM-DD`` within the range, else ``ValueError`` with a message for a person."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not a date (YYYY-MM-DD) {RANGE_TEXT}") from None
    return within_range(day)
