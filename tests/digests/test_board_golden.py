"""Golden files for the board and ``plan show``: the pages and the table on fixed data and a
fixed clock, as bot/board.py and bot/cli.py build them.

Set UPDATE_GOLDEN=1 to rewrite them after an intended change, then read the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from digests.board import BoardFilters, board_period, board_rows, end_of_day
from digests.board_pages import Page, render_board, render_item
from digests.digest_week import weekly_correspondence
from store import Office, Store

GOLDEN = Path(__file__).resolve().parent / "golden"
LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = dt.datetime(2022, 9, 16, 12, 30, tzinfo=dt.UTC)
OFFICE = Office(tz=LONDON, clock=lambda: NOW)
PANELS = (dt.date(2022, 9, 14), dt.date(2023, 2, 8))


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {name}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def _page(store: Store, as_of: dt.date | None) -> Page:
    return Page(
        plan=store.get_meta("plan") or "Delivery Plan",
        office=store.get_meta("office") or "",
        generated=f"As at {OFFICE.local(OFFICE.now()):%-d %B %Y, %H:%M}",
        period=board_period(as_of or OFFICE.today(), PANELS, OFFICE),
        base="https://deliverabot.example.org/board",
        as_of=as_of,
        stale_weeks=OFFICE.stale_weeks,
    )


def _board(store: Store, query: dict[str, str]) -> str:
    filters = BoardFilters.parse(query, today=OFFICE.today())
    page = _page(store, filters.as_of)
    day = filters.as_of or OFFICE.today()
    monday = day - dt.timedelta(days=day.weekday())
    mail = weekly_correspondence(store, monday, monday + dt.timedelta(days=6), OFFICE)
    rows = board_rows(store, office=OFFICE, as_of=page.as_of, new_since=page.period.since)
    return render_board(page, rows, filters, mail)


def _item(store: Store, ref: str, as_of: dt.date | None) -> str:
    page = _page(store, as_of)
    rows = board_rows(store, office=OFFICE, as_of=as_of, new_since=page.period.since)
    found = [r for r in rows if r.ref == ref]
    d = store.deliverable_by_ref(ref)
    assert found and d is not None
    until = end_of_day(as_of, OFFICE.tz) if as_of else None
    history = store.updates(deliverable_id=d.id, until=until, newest_first=True)
    people = {p.id: p.name for p in store.people()}
    return render_item(page, found[0], history, people)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("today", {}),
        ("attention", {"attention": "1"}),
        ("theme-cf", {"theme": "CF", "status": "on-hold"}),
        ("as-of-2022-09-13", {"as_of": "2022-09-13"}),
    ],
)
def test_board_page(digest_store: Store, name: str, query: dict[str, str]) -> None:
    page = _board(digest_store, query)
    assert "CF-9" in page or query
    _check(f"board-{name}.html", page)


@pytest.mark.parametrize(
    ("ref", "as_of"),
    [("CF-9", None), ("VW-11", None), ("VW-11", dt.date(2022, 9, 12)), ("EP-5", None)],
)
def test_board_item(digest_store: Store, ref: str, as_of: dt.date | None) -> None:
    suffix = f"-{as_of.isoformat()}" if as_of else ""
    _check(f"board-item-{ref}{suffix}.html", _item(digest_store, ref, as_of))


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_plan_show(digest_store: Store, as_json: bool) -> None:
    path = digest_store.path
    digest_store.close()
    args = ["--db", str(path), "plan", "show", *(["--json"] if as_json else [])]
    result = CliRunner().invoke(cli, args, env={"DELIVERABOT_TZ": "Europe/London"})
    assert result.exit_code == 0, result.output
    assert "CF-9" in result.output
    _check(f"plan-show.{'json' if as_json else 'txt'}", result.output)
