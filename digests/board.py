"""The panel board's data: the plan at a glance for readers who are not on Slack.

Plain data from the store, today or as it stood at the end of a past day (from the
append-only history), and filters parsed from the URL by a pure function. The pages are
rendered in :mod:`digests.board_pages`.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from store import (
    AN_OFFICE,
    FinancialYearQuarter,
    Office,
    Reader,
    Status,
    Update,
    age_text,
    due_end,
    one_paragraph,
    stale_status,
)

__all__ = [
    "BoardFilters",
    "BoardRow",
    "Period",
    "board_period",
    "board_rows",
    "end_of_day",
    "filter_rows",
]


@dataclass(frozen=True)
class BoardRow:
    ref: str
    title: str
    theme_code: str
    theme: str
    owner: str | None
    status: Status
    due: str | None
    last_on: dt.date | None
    last_age: str
    note: str
    stale: bool
    overdue: bool
    dependencies: bool = False
    new: bool = False  # added within the board's period
    due_soon: bool = False  # open and due by the end of this quarter (not overdue)

    @property
    def status_class(self) -> str:
        return f"status-{self.status.value}"

    @property
    def attention(self) -> bool:
        return self.stale or self.overdue or self.due_soon


@dataclass(frozen=True)
class Period:
    """Where "new in this period" starts: the day after the last panel, or the start of the
    financial year."""

    since: dt.date
    label: str  # "since the panel of 14 September 2022"


def board_period(day: dt.date, panels: Sequence[dt.date], office: Office = AN_OFFICE) -> Period:
    past = [p for p in panels if p < day]
    if past:
        return Period(past[-1] + dt.timedelta(days=1), f"since the panel of {past[-1]:%-d %B %Y}")
    first = office.year_start(day)
    return Period(first, f"since {first:%-d %B %Y}")


def _truthy(value: str) -> bool:
    return value in ("1", "on", "true", "yes")


@dataclass(frozen=True)
class BoardFilters:
    """What the reader asked for, as it stands in the URL (so a link can be shared)."""

    theme: str = ""
    status: str = ""
    owner: str = ""
    stale: bool = False
    overdue: bool = False
    due_soon: bool = False  # due by the end of this quarter
    attention: bool = False  # stale, overdue or due this quarter (the digest's link)
    new: bool = False
    q: str = ""
    as_of: dt.date | None = None  # the board as it stood at the end of this day
    error: str = ""  # what could not be understood, said on the page

    @classmethod
    def parse(cls, query: Mapping[str, str], *, today: dt.date | None = None) -> BoardFilters:
        def text(key: str) -> str:
            return (query.get(key) or "").strip()[:200]

        status = text("status").lower()
        as_of, error = parse_as_of(text("as_of"), today)
        return cls(
            theme=text("theme").upper(),
            status=status if status in {s.value for s in Status} else "",
            owner=text("owner"),
            stale=_truthy(text("stale")),
            overdue=_truthy(text("overdue")),
            due_soon=_truthy(text("due_soon")),
            attention=_truthy(text("attention")),
            new=_truthy(text("new")),
            q=text("q"),
            as_of=as_of,
            error=error,
        )

    def link(self, **changes: str | bool) -> str:
        """This view's URL query with ``changes`` applied (for filter links)."""
        values = {
            "theme": self.theme,
            "status": self.status,
            "owner": self.owner,
            "stale": "1" if self.stale else "",
            "overdue": "1" if self.overdue else "",
            "due_soon": "1" if self.due_soon else "",
            "attention": "1" if self.attention else "",
            "new": "1" if self.new else "",
            "q": self.q,
            "as_of": self.as_of.isoformat() if self.as_of else "",
        }
        for key, value in changes.items():
            values[key] = ("1" if value else "") if isinstance(value, bool) else value
        return urllib.parse.urlencode({k: v for k, v in values.items() if v})

    @property
    def active(self) -> bool:
        flags = (self.stale, self.overdue, self.due_soon, self.attention, self.new)
        return any((self.theme, self.status, self.owner, self.q, *flags))


def parse_as_of(text: str, today: dt.date | None) -> tuple[dt.date | None, str]:
    """``as_of`` from the URL: a past day, or nothing (today). A bad one is said, not fatal."""
    if not text:
        return None, ""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, f"“{text}” is not a date: write it as YYYY-MM-DD, e.g. 2022-07-31."
    if today is not None and day >= today:
        return None, ""  # today or later is the board as it is now
    return day, ""


def end_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """Midnight at the end of ``day`` in the office's zone: "as it stood at the end of it"."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def board_rows(
    store: Reader,
    *,
    office: Office = AN_OFFICE,
    as_of: dt.date | None = None,
    new_since: dt.date | None = None,
) -> list[BoardRow]:
    """One row per deliverable: today's, or (with ``as_of``) as it stood at the end of that
    day, from the history: the deliverables that existed, their status, due quarter,
    dependencies and latest note then."""
    now, tz = office.now(), office.tz
    stale_weeks, start_month = office.stale_weeks, office.fy_start_month
    moment = min(now, end_of_day(as_of, tz)) if as_of else now
    today = as_of or moment.astimezone(tz).date()
    quarter = FinancialYearQuarter.of_date(today, start_month=start_month)
    themes = {t.id: t for t in store.themes()}
    people = {p.id: p.name for p in store.people()}
    past = store.states_at(moment) if as_of else {}
    last = store.last_updates(until=moment) if as_of else store.last_updates()
    baseline = store.baseline()
    rows = []
    for d in store.deliverables():
        if as_of and d.added_on > as_of:
            continue
        then = past.get(d.id)
        status = then.status if then else d.status
        due = then.due if then else d.due
        u: Update | None = last.get(d.id)
        ends = due_end(due, start_month=start_month)
        open_ = not status.exempt_from_overdue
        overdue = bool(open_ and ends and ends < quarter.first_day)
        rows.append(
            BoardRow(
                ref=d.ref,
                title=d.title,
                theme_code=themes[d.theme_id].code,
                theme=themes[d.theme_id].name,
                owner=people.get(d.owner_id) if d.owner_id is not None else None,
                status=status,
                due=due,
                last_on=u.recorded_at.astimezone(tz).date() if u else None,
                last_age=age_text(u.recorded_at if u else None, moment),
                note=one_paragraph(u.note).strip() if u else "",
                stale=stale_status(
                    status, d.added_on, u.recorded_at if u else None, moment, weeks=stale_weeks
                ),
                overdue=overdue,
                dependencies=then.dependencies if then else d.dependencies,
                new=bool(
                    new_since
                    and new_since <= d.added_on <= today
                    and not (baseline and baseline.covers(d))
                ),
                due_soon=bool(open_ and not overdue and ends and ends <= quarter.last_day),
            )
        )
    return rows


def filter_rows(rows: list[BoardRow], f: BoardFilters) -> list[BoardRow]:
    words = f.q.lower().split()

    def keep(r: BoardRow) -> bool:
        checks = (
            (f.theme, r.theme_code == f.theme),
            (f.status, r.status.value == f.status),
            (f.owner, (r.owner or "").lower() == f.owner.lower()),
            (f.stale, r.stale),
            (f.overdue, r.overdue),
            (f.due_soon, r.due_soon),
            (f.attention, r.attention),
            (f.new, r.new),
        )
        if not all(ok for wanted, ok in checks if wanted):
            return False
        hay = f"{r.ref} {r.title} {r.note}".lower()
        return all(w in hay for w in words)

    return [r for r in rows if keep(r)]
