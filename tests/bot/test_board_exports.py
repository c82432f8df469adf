"""The board's exports over HTTP: the CSV streams, the spreadsheet is built in a worker
process on its own connection, and ?from=&to= bound its Updates sheet."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from board_harness import board_process
from openpyxl import load_workbook

from bot.server import BotProcess
from digests.plan_table import plan_rows, to_csv
from store import open_store

TOKEN = "board-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def board(tmp_path: Path, example_plan: Path) -> AsyncIterator[tuple[str, BotProcess]]:
    async with board_process(tmp_path, example_plan, token=TOKEN, note="=cmd|' /C calc'!A0") as p:
        yield f"http://127.0.0.1:{p.http_port}", p


async def test_the_csv_streams_the_same_bytes_as_before(board, tmp_path: Path) -> None:
    base, process = board
    async with (
        aiohttp.ClientSession(headers=BEARER) as s,
        s.get(f"{base}/board/export.csv") as r,
    ):
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.headers["Content-Disposition"] == 'attachment; filename="delivery-plan.csv"'
        assert "Set-Cookie" in r.headers  # the board's session still starts here
        body = await r.read()
    store = open_store(tmp_path / "board.db")
    assert body == to_csv(plan_rows(store, process.settings.tz)).encode()
    store.close()


async def test_the_spreadsheet_and_its_period(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{base}/board/export.xlsx") as r:
            assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
            whole = load_workbook(io.BytesIO(await r.read()))
        async with s.get(f"{base}/board/export.xlsx?from=2022-09-15&to=2022-09-15") as r:
            bounded = load_workbook(io.BytesIO(await r.read()))
        async with s.get(f"{base}/board/export.xlsx?from=2022-09-16") as r:
            after = load_workbook(io.BytesIO(await r.read()))
        for bad in ("from=yesterday", "from=2022-09-16&to=2022-09-15"):
            async with s.get(f"{base}/board/export.xlsx?{bad}") as r:
                assert r.status == 400
    updates = list(whole["Updates"].values)
    assert len(updates) == 52 and updates[0][0] == "ref"  # the header, 50 created, 1 note
    assert list(bounded["Updates"].values) == [updates[0], updates[-1]]
    assert updates[-1][-1] == "'=cmd|' /C calc'!A0"  # never run as a formula
    assert list(after["Updates"].values) == [updates[0]]
    assert list(bounded["Plan"].values) == list(whole["Plan"].values)
    assert len(list(whole["Plan"].values)) == 51


async def test_a_running_export_leaves_the_board_alone(board) -> None:
    """The spreadsheet is built elsewhere: board pages answer while exports run."""
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:

        async def get(path: str) -> int:
            async with s.get(base + path) as r:
                await r.read()
                return r.status

        statuses = await asyncio.gather(
            *(get("/board/export.xlsx") for _ in range(3)), get("/board"), get("/board/CF-10")
        )
    assert statuses == [200] * 5
