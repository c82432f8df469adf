"""The panel board's pages, rendered with the same escaping HTML environment as the other
outputs, in one layout: a skip link, a header with the board's pages, a ``<main>`` landmark,
and a footer naming the accessibility statement. No script anywhere (the board's
Content-Security-Policy allows none); the stylesheet is ``board.css``."""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.parse
from dataclasses import dataclass, field
from importlib import resources

from digests.board import BoardFilters, BoardRow, Period, filter_rows
from digests.chart import period_span, period_title
from digests.digest import CorrespondenceWeek
from digests.render import render
from store import Status, Update, one_paragraph

__all__ = [
    "STATEMENT_PREPARED",
    "Page",
    "render_board",
    "render_item",
    "render_report_page",
    "render_statement",
    "report_body",
    "stylesheet",
]

# When the accessibility statement was prepared and the board last tested (axe-core in
# Chromium at 1280 and 390 px: tests/e2e/test_board_accessibility.py).
STATEMENT_PREPARED = dt.date(2026, 12, 2)


@dataclass(frozen=True)
class Page:
    """What every page of the board shares."""

    plan: str
    office: str
    generated: str  # "as at 16 September 2022, 13:00"
    period: Period
    base: str = "/board"  # the board's absolute address, printed after links on paper
    as_of: dt.date | None = None  # a past day: every page shows the plan as it stood then
    stale_weeks: int = 4

    def href(self, path: str = "/board", **query: str) -> str:
        """A link within the board that keeps the past day being viewed."""
        values = {k: v for k, v in query.items() if v}
        if self.as_of:
            values.setdefault("as_of", self.as_of.isoformat())
        return path + ("?" + urllib.parse.urlencode(values) if values else "")

    def printed(self, path: str) -> str:
        """The address printed after a link on paper."""
        return self.base.rsplit("/board", 1)[0] + path


@dataclass(frozen=True)
class _Theme:
    code: str
    name: str
    rows: list[BoardRow] = field(default_factory=list)


def render_board(
    page: Page, rows: list[BoardRow], f: BoardFilters, mail: CorrespondenceWeek | None
) -> str:
    shown = filter_rows(rows, f)
    themes: list[_Theme] = []
    for r in shown:
        if not themes or themes[-1].code != r.theme_code:
            themes.append(_Theme(r.theme_code, r.theme))
        themes[-1].rows.append(r)
    counts = [(s, sum(1 for r in rows if r.status is s)) for s in Status]
    marks = [
        ("overdue", "overdue", sum(1 for r in rows if r.overdue)),
        ("stale", "stale", sum(1 for r in rows if r.stale)),
        ("due_soon", "due this quarter", sum(1 for r in rows if r.due_soon)),
    ]
    marks = [m for m in marks if m[2]]
    today = f.link(as_of="")
    weeks = [w for w, _ in mail.weekly] if mail else []
    return render(
        "html",
        "board.html.j2",
        page=page,
        nav="board",
        today_href="/board" + (f"?{today}" if today else ""),
        themes=themes,
        all_themes=list(dict.fromkeys((r.theme_code, r.theme) for r in rows)),  # plan order
        owners=sorted({r.owner for r in rows if r.owner}),
        counts=counts,
        marks=marks,
        dependencies=sum(1 for r in rows if r.dependencies),
        new=sum(1 for r in rows if r.new),
        statuses=list(Status),
        shown=len(shown),
        total=len(rows),
        f=f,
        mail=mail,
        mail_title=period_title(weeks),
        mail_span=period_span(weeks),
        mail_total=sum(n for _, n in mail.weekly) if mail else 0,
    )


def render_item(page: Page, row: BoardRow, history: list[Update], people: dict[int, str]) -> str:
    entries = [
        {
            "when": u.recorded_at.strftime("%-d %b %Y, %H:%M"),
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
        page=page,
        nav="",
        today_href=f"/board/{row.ref}",
        row=row,
        entries=entries,
    )


_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)


def report_body(document: str) -> str:
    """The inside of the report's HTML document (rendered and escaped by the report's own
    template), to be shown inside the board's layout."""
    found = _BODY.search(document)
    return found.group(1).strip() if found else document


def render_report_page(
    page: Page,
    *,
    day_from: dt.date,
    day_to: dt.date,
    body: str | None,
    error: str = "",
) -> str:
    """The report draft in the board's layout, with its period form and downloads; without a
    period yet (``body`` is None), the form alone."""
    from markupsafe import Markup

    query = {"from": day_from.isoformat(), "to": day_to.isoformat()}
    return render(
        "html",
        "board_report.html.j2",
        page=page,
        nav="report",
        today_href="/board/report?" + urllib.parse.urlencode(query),
        day_from=day_from,
        day_to=day_to,
        body=Markup(body) if body is not None else None,
        error=error,
        md=page.href("/board/report", **query, format="md"),
        docx=page.href("/board/report", **query, format="docx"),
    )


def render_statement(page: Page, *, contact: str | None, reply_days: int) -> str:
    mailto = contact and "@" in contact and not contact.startswith("http")
    return render(
        "html",
        "board_accessibility.html.j2",
        page=page,
        nav="accessibility",
        today_href="/board/accessibility",
        contact=contact,
        contact_href=f"mailto:{contact}" if mailto else contact,
        reply_days=reply_days,
        prepared=STATEMENT_PREPARED,
    )


_BADGES = "/* status badges: one rule a status, from store.status (digests.board_pages) */\n"


@functools.cache
def stylesheet() -> str:
    """``board.css``, with a badge rule for each status in its own colours."""
    css = resources.files("digests").joinpath("templates/board.css").read_text()
    rules = "".join(
        f".status-{s.value} {{ color: {s.traits.ink}; background: {s.traits.paper}; }}\n"
        for s in Status
    )
    return css.replace(_BADGES, rules)
