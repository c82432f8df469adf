"""The panel board over HTTP, against a real BotProcess on 127.0.0.1."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from board_harness import board_process
from openpyxl import load_workbook

from bot.config import load_settings
from bot.server import BotProcess
from digests.board import BoardFilters
from store import open_store

TOKEN = "board-token-0123456789"
NOW = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)


@pytest.fixture
async def board(tmp_path: Path, example_plan: Path) -> AsyncIterator[tuple[str, BotProcess]]:
    note = "<script>alert(1)</script> & @here"
    async with board_process(tmp_path, example_plan, token=TOKEN, note=note) as process:
        yield f"http://127.0.0.1:{process.http_port}", process


BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "path",
    [
        "/board",
        "/board/CF-10",
        "/board/export.csv",
        "/board/export.xlsx",
        "/board/chart.png",
        "/board/report?from=2022-03-01&to=2022-09-14",
        "/board/report",
        "/board?as_of=2022-07-31",
    ],
)
async def test_every_route_refuses_without_the_token(board, path: str) -> None:
    base, _ = board
    async with aiohttp.ClientSession() as s:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
            async with s.get(base + path, headers=headers) as r:
                body = await r.text()
                assert r.status == 401, path
                assert "CF-10" not in body and "Business" not in body
                assert "script-src 'none'" in r.headers["Content-Security-Policy"]
        async with s.get(base + path + ("&" if "?" in path else "?") + "token=nope") as r:
            assert r.status == 401


async def test_token_once_in_the_url_then_a_cookie(board) -> None:
    base, _ = board
    # unsafe=True: keep cookies from 127.0.0.1, as a browser does for a local address.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(f"{base}/board?theme=CF&token={TOKEN}", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/board?theme=CF"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        async with s.get(f"{base}/board?theme=CF") as r:  # the cookie alone now
            page = await r.text()
            assert r.status == 200
            assert "<h2>CF · Putting Communities First</h2>" in page
            assert "<h2>CP · Crime Prevention</h2>" not in page
            assert r.headers["Referrer-Policy"] == "no-referrer"
            assert "script-src 'none'" in r.headers["Content-Security-Policy"]
            assert "<script" not in page


async def test_board_shows_the_plan_escaped_and_filters_live_in_the_url(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board") as r:
            page = await r.text()
        assert "Putting Communities First" in page and "Robust Enforcement" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; @here" in page
        assert "<script>" not in page
        assert 'class="badge status-completed">Completed</span>' in page
        async with s.get(f"{base}/board?status=on-hold") as r:
            held = await r.text()
        assert "Recruitment of a Community and Engagement Officer" in held
        assert "Business Crime Survey" not in held
        async with s.get(f"{base}/board?q=survey") as r:
            assert "Business Crime Survey" in await r.text()
        async with s.get(f"{base}/board/CF-10") as r:
            item = await r.text()
        assert r.status == 200 and "History, newest first" in item
        assert item.index("&lt;script&gt;") < item.index("created")  # newest first
        async with s.get(f"{base}/board/XX-1") as r:
            assert r.status == 404
        async with s.post(f"{base}/board") as r:
            assert r.status == 405  # nothing on the board can write
        async with s.get(f"{base}/board/chart.png") as r:
            assert (await r.read()).startswith(b"\x89PNG")
        async with s.get(f"{base}/board/board.css") as r:
            assert "status-ongoing" in await r.text()


async def test_exports_have_the_plan_show_columns(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board/export.csv") as r:
            text = await r.text()
            assert "attachment" in r.headers["Content-Disposition"]
        async with s.get(f"{base}/board/export.xlsx") as r:
            book = load_workbook(io.BytesIO(await r.read()))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 50 and rows[0]["ref"] == "CF-1"
    assert list(rows[0]) == [
        "ref",
        "title",
        "theme",
        "theme_code",
        "status",
        "due",
        "owner",
        "owner_email",
        "dependencies",
        "added_on",
        "last_update",
        "note",
    ]
    assert book.sheetnames == ["Plan", "Updates", "Correspondence", "Glossary"]
    plan = list(book["Plan"].values)
    assert plan[0] == tuple(rows[0])
    assert [r[0] for r in plan[1:]] == [r["ref"] for r in rows]
    assert any("alert(1)" in str(r[-1]) for r in book["Updates"].values)


async def test_report_route_matches_the_cli(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board/report?from=2022-03-01&to=2022-09-14&format=md") as r:
            md = await r.text()
        async with s.get(f"{base}/board/report?from=2022-03-01&to=2022-09-14&format=docx") as r:
            docx = await r.read()
        async with s.get(f"{base}/board/report?from=nope") as r:
            assert r.status == 400
    assert md.startswith("# Police and Crime Plan 2021-24 – Delivery update")
    assert "## Putting Communities First – Priorities for Action" in md
    assert docx[:2] == b"PK"


async def test_the_board_takes_the_formats_the_cli_takes(board) -> None:
    from bot.cli import report
    from digests.formats import REPORT_FORMATS

    base, _ = board
    cli_choices = next(p for p in report.params if p.name == "fmt").type.choices
    assert list(cli_choices) == REPORT_FORMATS.choices  # one registry for both
    period = f"{base}/board/report?from=2022-03-01&to=2022-09-14"
    async with aiohttp.ClientSession(headers=BEARER) as s:
        bodies = {}
        for name in REPORT_FORMATS.choices:
            async with s.get(f"{period}&format={name}") as r:
                assert r.status == 200, name
                bodies[name] = (r.headers["Content-Type"], await r.read())
        async with s.get(f"{period}&format=pdf") as r:
            assert r.status == 400
            assert "markdown (md), html, text or docx" in await r.text()
    assert bodies["md"] == bodies["markdown"]  # the CLI's name and the board's old one
    assert bodies["markdown"][0] == "text/markdown; charset=utf-8"
    assert bodies["text"][0] == "text/plain; charset=utf-8"
    assert bodies["text"][1].startswith(b"Police and Crime Plan 2021-24")
    assert bodies["docx"][1][:2] == b"PK"


async def test_the_board_is_off_without_a_token(tmp_path: Path) -> None:
    settings = load_settings(
        {"DELIVERABOT_DB": str(tmp_path / "x.db"), "PORT": "0", "SMTP_PORT": "0"}, env_file=None
    )
    store = open_store(tmp_path / "x.db")
    process = BotProcess(settings=settings, store=store)
    await process.start()
    try:
        url = f"http://127.0.0.1:{process.http_port}/board?token=x"
        async with aiohttp.ClientSession() as s, s.get(url) as r:
            assert r.status == 404
    finally:
        await process.stop()
        store.close()


def test_filters_parse_and_link_round_trip() -> None:
    f = BoardFilters.parse({"theme": "cf", "status": "bogus", "stale": "1", "q": " survey "})
    assert (f.theme, f.status, f.stale, f.q) == ("CF", "", True, "survey")
    assert f.link() == "theme=CF&stale=1&q=survey"
    assert BoardFilters.parse(dict(x.split("=") for x in f.link(overdue=True).split("&"))).overdue


# -- every page in one layout; the plan as it stood on a past day ------------------------------


@pytest.fixture
async def office_board(tmp_path: Path, example_plan: Path) -> AsyncIterator[tuple[str, BotProcess]]:
    env = {
        "BOARD_URL": "https://deliverabot.example.org/board",
        "PANEL_DATES": "2022-03-09,2022-10-12",
        "ACCESSIBILITY_CONTACT": "access@opcc.example.org",
    }
    note = "Venue booked."
    async with board_process(tmp_path, example_plan, token=TOKEN, note=note, env=env) as process:
        yield f"http://127.0.0.1:{process.http_port}", process


PAGES = [
    "/board",
    "/board?theme=VW&stale=1",
    "/board/CF-10",
    "/board/report?from=2022-03-01&to=2022-09-14",
    "/board/accessibility",
]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_has_the_layout_a_skip_link_and_no_script(board, path: str) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s, s.get(base + path) as r:
        page = await r.text()
        assert r.status == 200
        assert "script-src 'none'" in r.headers["Content-Security-Policy"]
    assert page.index('<a class="skip-link" href="#main">') < page.index('<main id="main"')
    assert '<link rel="stylesheet" href="/board/board.css">' in page
    assert '<a href="/board/accessibility">Accessibility statement</a>' in page
    assert "<script" not in page and " style=" not in page  # the CSP allows neither
    assert page.count("<h1") == 1


async def test_the_report_page_is_styled_linked_and_has_a_way_back(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board") as r:
            assert 'href="/board/report"' in await r.text()  # the board links to it
        async with s.get(f"{base}/board/report") as r:
            default = await r.text()  # no period given: this financial year to today
        async with s.get(f"{base}/board/report?from=2022-03-01&to=2022-09-14") as r:
            page = await r.text()
        async with s.get(f"{base}/board/report?from=2022-09-14&to=2022-03-01") as r:
            assert r.status == 400
    assert r.status == 400
    assert 'value="2022-04-01"' in default and 'value="2022-09-16"' in default
    assert '<p class="back"><a href="/board">Back to the delivery board</a></p>' in page
    assert "<h1>Police and Crime Plan 2021-24 – Delivery update</h1>" in page
    assert "<h2>Putting Communities First – Priorities for Action</h2>" in page
    assert 'href="/board/report?from=2022-03-01&amp;to=2022-09-14&amp;format=docx"' in page
    assert page.count("<body") == 1 and page.count("<html") == 1  # one document, not two


async def test_the_accessibility_statement_uses_the_model_wording(office_board) -> None:
    base, _ = office_board
    # Public, as the regulations require: no token, and no board data on it.
    async with aiohttp.ClientSession() as s, s.get(f"{base}/board/accessibility") as r:
        assert r.status == 200
        assert "script-src 'none'" in r.headers["Content-Security-Policy"]
        page = await r.text()
    assert "CF-10" not in page and "Business Crime Survey" not in page
    assert (
        "<h1>Accessibility statement for the Police and Crime Plan 2021-24 delivery board</h1>"
        in page
    )
    for heading in (
        "How accessible this website is",
        "Feedback and contact information",
        "Reporting accessibility problems with this website",
        "Enforcement procedure",
        "Technical information about this website's accessibility",
        "Preparation of this accessibility statement",
    ):
        assert f"<h2>{heading}</h2>" in page, heading
    assert (
        "OPCC for Cambridgeshire and Peterborough is committed to making its website accessible, "
        "in accordance with the Public Sector Bodies (Websites and Mobile Applications) (No. 2) "
        "Accessibility Regulations 2018."
    ) in page
    assert "Web Content Accessibility Guidelines version 2.2 AA standard" in page
    assert '<a href="mailto:access@opcc.example.org">access@opcc.example.org</a>' in page
    assert "get back to you in 20 working days" in page  # ANSWER_TARGET_DAYS
    assert "(https://deliverabot.example.org/board)" not in page  # printed only, via CSS
    assert 'data-print="https://deliverabot.example.org/board"' in page


async def test_the_board_as_it_stood_at_the_end_of_a_past_day(office_board) -> None:
    base, _ = office_board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board?as_of=2022-07-31") as r:
            past = await r.text()
        async with s.get(f"{base}/board") as r:
            today = await r.text()
        async with s.get(f"{base}/board/CF-10?as_of=2022-07-31") as r:
            item = await r.text()
        async with s.get(f"{base}/board/CF-12?as_of=2022-07-31") as r:
            assert r.status == 404 and "No deliverable CF-12 on 31 July 2022" in await r.text()
        async with s.get(f"{base}/board/report?as_of=2022-07-31") as r:
            report = await r.text()
        async with s.get(f"{base}/board?as_of=31/07/2022") as r:
            bad = await r.text()
            assert r.status == 200
    assert "The plan as it stood at the end of 31 July 2022" in past
    assert "45 deliverables on 31 July 2022" in past and "50 deliverables:" in today
    assert ">CF-12</a>" not in past and ">CF-12</a>" in today  # added on 1 August
    assert "Venue booked." in today and "Venue booked." not in past  # noted on 15 September
    # Every link keeps the day, and the way back to today is one link.
    assert 'href="/board/CF-1?as_of=2022-07-31"' in past
    assert 'href="/board/report?as_of=2022-07-31"' in past
    assert '<a href="/board" data-print' in past
    assert "Venue booked." not in item and "The plan as it stood" in item
    assert 'value="2022-07-31"' in report and 'value="2022-03-10"' in report  # since the panel
    assert "is not a date: write it as YYYY-MM-DD" in bad and "The plan as it stood" not in bad


async def test_marks_for_new_and_dependencies_and_their_filters(office_board) -> None:
    base, _ = office_board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board") as r:
            page = await r.text()
        async with s.get(f"{base}/board?new=1") as r:
            new = await r.text()
        async with s.get(f"{base}/board?attention=1") as r:
            attention = await r.text()
    # New since the panel of 9 March 2022 (PANEL_DATES): CF-11, CF-12, CP-7 and more.
    assert "new since the panel of 9 March 2022</a>" in page
    assert page.count('<strong class="tag mark-new">New</strong>') == 7
    assert page.count('<strong class="tag mark-deps">Dependencies identified</strong>') == 8
    assert ">CF-11</a>" in new and ">CF-1</a>" not in new
    assert "Showing 7 of 50 deliverables" in new
    assert "Stale</strong>" in attention and ">CF-1</a>" not in attention
    # Tags are adjectives, never links.
    assert '<a class="tag' not in page and 'tag mark-new">New</strong></a>' not in page
