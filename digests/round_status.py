"""The round at a glance, for the coordinator: approved / edited / pending / not mine, by
owner and by theme, and every line, as plain data (``round status --json``), text
(``round status``) and the board's page (``/board/round/NAME``, server-rendered HTML)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from digests.render import render
from store import one_paragraph
from store.round import LineState, LineView, RoundBook, Tally, tally

__all__ = ["render_round_page", "round_status_data", "round_status_text"]

# The board's own badge colours, so the page needs nothing beyond its stylesheet.
STATE_CLASS = {
    LineState.APPROVED: "status-completed",
    LineState.EDITED: "status-bau",
    LineState.PENDING: "status-not-started",
    LineState.NOT_MINE: "status-on-hold",
}
COLUMNS = ("approved", "edited", "pending", "not_mine", "total")


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%B %Y}"


def _line(book: RoundBook, v: LineView, tz: dt.tzinfo) -> dict[str, Any]:
    e = v.decided
    return {
        "ref": v.ref,
        "title": one_paragraph(v.line.title),
        "theme": v.line.theme_code,
        "section": v.line.section,
        "owner": book.owner_name(v),
        "state": v.state.value,
        "text": one_paragraph(v.text),
        "by": book.people.get(e.person_id, "") if e is not None and e.person_id else "",
        "at": e.at.astimezone(tz).isoformat(timespec="minutes") if e is not None else None,
        "returned": one_paragraph(v.returned.comment or "") if v.returned else "",
    }


def round_status_data(book: RoundBook, *, tz: dt.tzinfo) -> dict[str, Any]:
    """Everything ``round status`` shows, JSON-ready: the round, totals, by owner, by theme
    and each line."""
    r = book.round
    by_owner = tally(book.views, "owner")
    by_theme = tally(book.views, "theme")
    return {
        "round": {
            "name": r.name,
            "from": r.period_from.isoformat(),
            "to": r.period_to.isoformat(),
            "panel": r.panel_on.isoformat(),
            "due": r.due_on.isoformat(),
            "open": r.is_open,
            "opened_at": r.opened_at.isoformat(),
            "opened_by": book.people.get(r.opened_by or 0),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        },
        "totals": tally(book.views).get("", Tally()).as_dict(),
        "by_owner": [
            {"owner": book.people.get(int(k), "nobody") if k else "nobody", **t.as_dict()}
            for k, t in by_owner.items()
        ],
        "by_theme": [
            {"theme": code, "name": book.themes.get(code, ""), **t.as_dict()}
            for code, t in sorted(by_theme.items(), key=lambda kv: _theme_order(book, kv[0]))
        ],
        "lines": [_line(book, v, tz) for v in book.views],
    }


def _theme_order(book: RoundBook, code: str) -> int:
    order = list(book.themes)
    return order.index(code) if code in order else len(order)


def _table(title: str, rows: list[tuple[str, dict[str, int]]]) -> list[str]:
    width = max([len(title), *(len(label) for label, _ in rows)])
    head = f"{title:<{width}}  " + " ".join(f"{c.replace('_', ' '):>9}" for c in COLUMNS)
    return [head] + [
        f"{label:<{width}}  " + " ".join(f"{counts[c]:>9}" for c in COLUMNS)
        for label, counts in rows
    ]


def round_status_text(book: RoundBook, *, tz: dt.tzinfo) -> str:
    data = round_status_data(book, tz=tz)
    r = book.round
    state = "open" if r.is_open else f"closed {r.closed_at:%-d %B %Y}" if r.closed_at else ""
    lines = [
        f"Round {r.name}: {r.period_from:%-d %B %Y} to {r.period_to:%-d %B %Y}, "
        f"due {_day(r.due_on)}, panel {_day(r.panel_on)} ({state})",
        "",
        *_table("", [("all lines", data["totals"])]),
        "",
        *_table("by owner", [(row["owner"], row) for row in data["by_owner"]]),
        "",
        *_table(
            "by theme", [(f"{row['theme']} {row['name']}"[:40], row) for row in data["by_theme"]]
        ),
        "",
    ]
    for row in data["lines"]:
        by = f" by {row['by']} {row['at'][:16].replace('T', ' ')}" if row["by"] else ""
        lines.append(f"{row['ref']:<7} {row['state']:<9} {row['owner']}{by}")
        if row["returned"] and row["state"] == "pending":
            lines.append(f"        returned: {row['returned']}")
    return "\n".join(lines) + "\n"


def render_round_page(book: RoundBook, *, page: Any, tz: dt.tzinfo) -> str:
    """``/board/round/NAME``: the counts by owner and by theme, then every line in the
    paper's order with its state and words (read-only)."""
    data = round_status_data(book, tz=tz)
    r = book.round
    themes = [
        {
            "code": code,
            "name": name,
            "lines": [
                {**line, "class": STATE_CLASS[LineState(line["state"])]}
                for line in data["lines"]
                if line["theme"] == code
            ],
        }
        for code, name in book.themes.items()
    ]
    return render(
        "html",
        "board_round.html.j2",
        page=page,  # digests.board_pages.Page: the board's layout
        nav="",
        today_href=f"/board/round/{r.name}",
        round=r,
        period=f"{r.period_from:%-d %B %Y} to {r.period_to:%-d %B %Y}",
        due=_day(r.due_on),
        panel=_day(r.panel_on),
        data=data,
        themes=[t for t in themes if t["lines"]],
        columns=COLUMNS,
        state_class={s.value: c for s, c in STATE_CLASS.items()},
    )
