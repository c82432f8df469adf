"""The panel board: the plan at a glance for readers who are not on Slack.

Plain data from the store, filters parsed from the URL by a pure function, and the pages
rendered with the same escaping HTML environment as the other outputs.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from digests.render import render
from store import (
    FinancialYearQuarter,
    QuarterParseError,
    Reader,
    Status,
    Update,
    age_text,
    one_paragraph,
    parse_quarter_span,
)

__all__ = ["BoardFilters", "BoardRow", "board_rows", "filter_rows", "render_board", "render_item"]


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

    @property
    def status_class(self) -> str:
        return f"status-{self.status.value}"


@dataclass(frozen=True)
class BoardFilters:
    """What the reader asked for, as it stands in the URL (so a link can be shared)."""

    theme: str = ""
    status: str = ""
    owner: str = ""
    stale: bool = False
    overdue: bool = False
    q: str = ""

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> BoardFilters:
        def text(key: str) -> str:
            return (query.get(key) or "").strip()[:200]

        status = text("status").lower()
        return cls(
            theme=text("theme").upper(),
            status=status if status in {s.value for s in Status} else "",
            owner=text("owner"),
            stale=text("stale") in ("1", "on", "true", "yes"),
            overdue=text("overdue") in ("1", "on", "true", "yes"),
            q=text("q"),
        )

    def link(self, **changes: str | bool) -> str:
        """This view's URL query with ``changes`` applied (for filter links)."""
        values = {
            "theme": self.theme,
            "status": self.status,
            "owner": self.owner,
            "stale": "1" if self.stale else "",
            "overdue": "1" if self.overdue else "",
            "q": self.q,
        }
        for key, value in changes.items():
            values[key] = ("1" if value else "") if isinstance(value, bool) else value
        return urllib.parse.urlencode({k: v for k, v in values.items() if v})

    @property
    def active(self) -> bool:
        return any((self.theme, self.status, self.owner, self.stale, self.overdue, self.q))


def _overdue(status: Status, due: str | None, today: dt.date, start_month: int) -> bool:
    if status in (Status.COMPLETED, Status.BAU) or not due:
        return False
    try:
        last_day = parse_quarter_span(due, start_month=start_month).last_day
    except QuarterParseError:
        return False
    return last_day < FinancialYearQuarter.of_date(today, start_month=start_month).first_day


def board_rows(
    store: Reader, *, now: dt.datetime, tz: dt.tzinfo, stale_weeks: int = 4, start_month: int = 4
) -> list[BoardRow]:
    today = now.astimezone(tz).date()
    rows = []
    for view in store.overview():
        d, u = view.deliverable, view.last_update
        rows.append(
            BoardRow(
                ref=d.ref,
                title=d.title,
                theme_code=view.theme.code,
                theme=view.theme.name,
                owner=view.owner.name if view.owner else None,
                status=d.status,
                due=d.due,
                last_on=u.recorded_at.astimezone(tz).date() if u else None,
                last_age=age_text(u.recorded_at if u else None, now),
                note=one_paragraph(u.note).strip() if u else "",
                stale=view.stale(now, weeks=stale_weeks),
                overdue=_overdue(d.status, d.due, today, start_month),
            )
        )
    return rows


def filter_rows(rows: list[BoardRow], f: BoardFilters) -> list[BoardRow]:
    words = f.q.lower().split()

    def keep(r: BoardRow) -> bool:
        if f.theme and r.theme_code != f.theme:
            return False
        if f.status and r.status.value != f.status:
            return False
        if f.owner and (r.owner or "").lower() != f.owner.lower():
            return False
        if f.stale and not r.stale:
            return False
        if f.overdue and not r.overdue:
            return False
        hay = f"{r.ref} {r.title} {r.note}".lower()
        return all(w in hay for w in words)

    return [r for r in rows if keep(r)]


@dataclass(frozen=True)
class _Theme:
    code: str
    name: str
    rows: list[BoardRow] = field(default_factory=list)


def render_board(store: Reader, rows: list[BoardRow], f: BoardFilters, *, generated: str) -> str:
    shown = filter_rows(rows, f)
    themes: list[_Theme] = []
    for r in shown:
        if not themes or themes[-1].code != r.theme_code:
            themes.append(_Theme(r.theme_code, r.theme))
        themes[-1].rows.append(r)
    counts = {s: sum(1 for r in rows if r.status is s) for s in Status}
    return render(
        "html",
        "board.html.j2",
        plan=store.get_meta("plan") or "Delivery Plan",
        office=store.get_meta("office") or "",
        themes=themes,
        all_themes=list(dict.fromkeys((r.theme_code, r.theme) for r in rows)),  # plan order
        owners=sorted({r.owner for r in rows if r.owner}),
        counts=counts,
        statuses=list(Status),
        shown=len(shown),
        total=len(rows),
        stale=sum(1 for r in rows if r.stale),
        overdue=sum(1 for r in rows if r.overdue),
        f=f,
        generated=generated,
    )


def render_item(
    store: Reader, row: BoardRow, history: list[Update], *, tz: dt.tzinfo, generated: str
) -> str:
    people = {p.id: p.name for p in store.people()}
    entries = [
        {
            "when": u.recorded_at.astimezone(tz).strftime("%-d %b %Y, %H:%M"),
            "who": people.get(u.person_id, "plan import") if u.person_id else "plan import",
            "change": (
                f"{u.status_before.label} → {u.status_after.label}"
                if u.status_before and u.status_after and u.status_after != u.status_before
                else ("created" if u.status_before is None else "")
            ),
            "due": f"due {u.due_before or 'none'} → {u.due_after}" if u.changed_due else "",
            "note": one_paragraph(u.note).strip(),
            "summary": u.summary,
        }
        for u in history
    ]
    return render(
        "html",
        "board_item.html.j2",
        plan=store.get_meta("plan") or "Delivery Plan",
        row=row,
        entries=entries,
        generated=generated,
    )
