"""The office: its time zone, financial year, bank holidays, habits and clock, as one value.

Built once from the settings (``bot.config``) and handed to whatever needs any of it, so
none of it is threaded through as loose parameters. Pure: the clock is a function it is
given (tests give a fixed one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from store.quarters import FinancialYearQuarter, QuarterSpan, parse_quarter_span

__all__ = ["AN_OFFICE", "Office", "utc_now"]


def utc_now() -> dt.datetime:
    """The wall clock, in UTC: the one place it is read (everything else asks an Office)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Office:
    tz: dt.tzinfo = dt.UTC  # DELIVERABOT_TZ
    fy_start_month: int = 4  # FY_START_MONTH: April, as UK public bodies run
    bank_holidays: str = "ENG"  # BANK_HOLIDAYS: whose bank holidays are not working days
    stale_weeks: int = 4  # STALE_WEEKS: no update for this long is stale
    answer_target_days: int = 20  # ANSWER_TARGET_DAYS: working days to answer a letter
    answer_targets: tuple[tuple[str, int], ...] = ()  # ANSWER_TARGETS, by category
    clock: Callable[[], dt.datetime] = field(default=utc_now, compare=False)

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        """Today in the office's time zone."""
        return self.local(self.now()).date()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.tz)

    def quarter(self, text: str) -> QuarterSpan:
        """A due quarter in any form the papers use (``QuarterParseError`` otherwise)."""
        return parse_quarter_span(text, start_month=self.fy_start_month)

    def quarter_of(self, day: dt.date) -> FinancialYearQuarter:
        return FinancialYearQuarter.of_date(day, start_month=self.fy_start_month)

    def year_start(self, day: dt.date) -> dt.date:
        """The first day of the financial year that ``day`` is in."""
        return dt.date(self.quarter_of(day).year, self.fy_start_month, 1)

    def answer_target(self, category: str) -> int:
        """Working days to answer a piece of correspondence of ``category``."""
        return dict(self.answer_targets).get(category, self.answer_target_days)

    def with_clock(self, clock: Callable[[], dt.datetime] | None) -> Office:
        return self if clock is None else replace(self, clock=clock)


# The defaults (UTC, April, England, four weeks, twenty days, the wall clock): for callers
# that state none, such as tests and scripts.
AN_OFFICE = Office()
