"""Correspondence statistics: received, answered, median days to answer, share in target.

This is the table central government publishes for MPs' correspondence: targets are in
working days, skipping weekends and the bank holidays of the office's nation.
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import holidays as holidays_lib

from store import AN_OFFICE, Office

__all__ = [
    "StatsRow",
    "bank_holidays",
    "correspondence_stats",
    "render_stats_text",
    "working_days_between",
]


@functools.cache
def bank_holidays(nation: str, first_year: int, last_year: int) -> frozenset[dt.date]:
    """UK bank holidays of ``nation`` (ENG, SCT, WLS or NIR) from the holidays library."""
    days = holidays_lib.country_holidays(
        "GB", subdiv=nation, years=range(first_year, last_year + 1)
    )
    return frozenset(days.keys())


def working_days_between(start: dt.date, end: dt.date, closed: frozenset[dt.date]) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when answered same day)."""
    if end <= start:
        return 0
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            count += 1
    return count


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
    today = today or office.today()
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
        days = [working_days_between(r, a, closed) for r, _, a in answered]
        within = sum(1 for (r, c, a), d in zip(answered, days, strict=True) if d <= target_for(c))
        overdue = sum(
            1
            for r, c, a in group
            if a is None and working_days_between(r, today, closed) > target_for(c)
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
