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
