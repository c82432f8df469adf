"""Correspondence statistics: received, answered, median days to answer, share in target.

This is the table central government publishes for MPs' correspondence: targets are in
working days, skipping weekends and the bank holidays of the office's nation.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from store import AN_OFFICE, Office

__all__ = [
    "StatsRow",
    "bank_holidays",
    "correspondence_stats",
    "render_stats_text",
    "stats_from_counts",
    "working_days_between",
]


@functools.cache
def bank_holidays(nation: str, first_year: int, last_year: int) -> frozenset[dt.date]:
    """UK bank holidays of ``nation`` (ENG, SCT, WLS or NIR) from the holidays library.

    Imported here, when first needed: the library has no lazy path to one country (its
    ``holidays.countries`` package imports every country's module, 40-80 ms), so importing
    this module does not pay for it."""
    import holidays as holidays_lib

    days = holidays_lib.country_holidays(
        "GB", subdiv=nation, years=range(first_year, last_year + 1)
    )
    return frozenset(days.keys())


class _WorkingDays:
    """Prefix sums over a calendar of whole years: ``upto[i]`` is the number of working
    days from ``base`` (exclusive) to ``base + i`` (inclusive), so any count is a
    subtraction, however far apart the days are. ``span`` holds (base, upto) as one value,
    replaced whole when the calendar grows, so a reader on another thread never sees one
    year's base with another's sums."""

    def __init__(self, closed: frozenset[dt.date]) -> None:
        self.closed = closed
        self.span: tuple[int, list[int]] = (0, [0])  # base: the day before the first year

    def cover(self, first: dt.date, last: dt.date) -> tuple[int, list[int]]:
        """(base, upto) covering ``first`` to ``last`` (at least)."""
        lo, hi = first.toordinal(), last.toordinal()
        base, upto = self.span
        if base <= lo and hi < base + len(upto):
            return base, upto
        if len(upto) > 1:  # keep what was covered, so a calendar only grows
            lo = min(lo, base + 1)
            hi = max(hi, base + len(upto) - 1)
        start = dt.date(dt.date.fromordinal(lo).year, 1, 1)
        end = dt.date(dt.date.fromordinal(hi).year, 12, 31)
        base = start.toordinal() - 1
        upto = [0]
        count = 0
        closed = self.closed
        day = start
        one = dt.timedelta(days=1)
        for _ in range(end.toordinal() - base):
            if day.weekday() < 5 and day not in closed:
                count += 1
            upto.append(count)
            if day < dt.date.max:
                day += one
        self.span = base, upto
        return base, upto

    def between(self, start: dt.date, end: dt.date) -> int:
        if end <= start:
            return 0
        base, upto = self.cover(start, end)
        return upto[end.toordinal() - base] - upto[start.toordinal() - base]


@functools.lru_cache(maxsize=32)
def _working_days(closed: frozenset[dt.date]) -> _WorkingDays:
    return _WorkingDays(closed)


def working_days_between(start: dt.date, end: dt.date, closed: frozenset[dt.date]) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when answered same day):
    counted from prefix sums over the calendar, not stepped a day at a time."""
    return _working_days(closed).between(start, end)


@dataclass(frozen=True)
class StatsRow:
    key: str  # the period ("2022-W37", "2022-09") or the category
    received: int
    answered: int
    median_days_to_answer: float | None  # working days
    within_target: int
    # Of the letters whose outcome is known (answered, or unanswered past their target),
    # the share answered within target, 0-100. Letters not yet due do not count against it.
    share_within_target: float | None
    target_days: int | None
    decided: int = 0  # answered, or unanswered and past the target

    def as_json(self, by: str) -> dict[str, Any]:
        data = asdict(self)
        data["period" if by != "category" else "category"] = data.pop("key")
        return data


def _period(day: dt.date, by: str) -> str:
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day:%Y-%m}"
    raise ValueError(by)


def correspondence_stats(
    rows: Iterable[dict[str, Any]],
    *,
    by: str,
    office: Office = AN_OFFICE,
    today: dt.date | None = None,
) -> list[StatsRow]:
    """Group correspondence rows (``received_on``, ``category``, ``answered_on``), by the
    office's answer targets and bank holidays.

    The share within target counts only letters answered, or unanswered and already past
    their target on ``today`` (the office's today); a letter not yet due is neither a
    success nor a failure.
    """
    counts: Counter[tuple[str, str, str | None]] = Counter(
        (str(r["received_on"]), r["category"], r.get("answered_on") or None) for r in rows
    )
    return stats_from_counts(
        ((r, c, a, n) for (r, c, a), n in counts.items()), by=by, office=office, today=today
    )


def stats_from_counts(
    counts: Iterable[tuple[str, str, str | None, int]],
    *,
    by: str,
    office: Office = AN_OFFICE,
    today: dt.date | None = None,
) -> list[StatsRow]:
    """:func:`correspondence_stats` from letters already counted by (received_on,
    category, answered_on): each distinct pair of days is counted once, so the work grows
    with the days and categories, not with the letters."""
    items = [(r, c, a or None, n) for r, c, a, n in counts if n]
    if not items:
        return []
    today = today or office.today()
    received_days = {r for r, _, _, _ in items}
    dates = {t: dt.date.fromisoformat(t) for t in received_days | {i[2] for i in items if i[2]}}
    first = min(dates[r] for r in received_days).year
    last = max(max(d.year for d in dates.values()), today.year) + 1
    calendar = _working_days(bank_holidays(office.bank_holidays, first, last))
    # Working days up to each distinct day, once: a letter's count is then a subtraction,
    # clamped at 0 (``between`` gives 0 when answered on or before the day received).
    base, upto = calendar.cover(min(min(dates.values()), today), max(max(dates.values()), today))
    upto_at = {t: upto[d.toordinal() - base] for t, d in dates.items()}
    now = upto[today.toordinal() - base]
    target_of = {c: office.answer_target(c) for c in {i[1] for i in items}}
    if by == "category":
        key_of = {c: c for c in target_of}
    else:
        key_of = {r: _period(dates[r], by) for r in received_days}
    groups: dict[str, _Group] = {}
    for received, category, answered, n in items:
        key = key_of[category if by == "category" else received]
        group = groups.get(key) or groups.setdefault(key, _Group())
        target = target_of[category]
        group.received += n
        group.targets.add(target)
        if answered is not None:
            took = max(upto_at[answered] - upto_at[received], 0)
            group.answered += n
            group.took[took] += n
            if took <= target:
                group.within += n
        elif now - upto_at[received] > target:
            group.overdue += n
    out = []
    for key in sorted(groups):
        g = groups[key]
        decided = g.answered + g.overdue
        targets = g.targets
        out.append(
            StatsRow(
                key=key,
                received=g.received,
                answered=g.answered,
                median_days_to_answer=_median(g.took) if g.answered else None,
                within_target=g.within,
                share_within_target=round(100 * g.within / decided, 1) if decided else None,
                target_days=targets.pop() if len(targets) == 1 else None,
                decided=decided,
            )
        )
    return out


@dataclass
class _Group:
    received: int = 0
    answered: int = 0
    within: int = 0
    overdue: int = 0
    took: Counter[int] = field(default_factory=Counter)  # working days to answer: letters
    targets: set[int] = field(default_factory=set)


def _median(took: Counter[int]) -> float:
    """``statistics.median`` of the days, each repeated as often as it was counted."""
    total = sum(took.values())
    wanted = (total - 1) // 2, total // 2  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for days in sorted(took):
        seen += took[days]
        while len(found) < 2 and seen > wanted[len(found)]:
            found.append(days)
    return float(found[0]) if total % 2 else (found[0] + found[1]) / 2


def render_stats_text(stats: list[StatsRow], *, by: str) -> str:
    if not stats:
        return "No correspondence recorded in this period.\n"
    head = "category" if by == "category" else by
    lines = [
        f"{head:<12} {'received':>8} {'answered':>8} {'median days':>11} {'in target':>9}  target"
    ]
    for s in stats:
        median = "—" if s.median_days_to_answer is None else f"{s.median_days_to_answer:g}"
        share = "—" if s.share_within_target is None else f"{s.share_within_target:g}%"
        target = f"{s.target_days} working days" if s.target_days else "mixed"
        lines.append(
            f"{s.key:<12} {s.received:>8} {s.answered:>8} {median:>11} {share:>9}  {target}"
        )
    total = sum(s.received for s in stats)
    answered = sum(s.answered for s in stats)
    lines.append(f"{'total':<12} {total:>8} {answered:>8}")
    return "\n".join(lines) + "\n"
