"""`/board/round/NAME` over HTTP: behind the board's token, read-only, plain HTML under the
board's Content-Security-Policy, staff text escaped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from board_harness import board_process
from round_seed import seed_round

from bot.server import BotProcess

TOKEN = "board-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def board(tmp_path: Path, example_plan: Path) -> AsyncIterator[tuple[str, BotProcess]]:
    async with board_process(tmp_path, example_plan, token=TOKEN, note="Venue booked.") as process:
        seed_round(process.store)
        yield f"http://127.0.0.1:{process.http_port}", process


async def test_the_round_page_shows_the_round_at_a_glance(board) -> None:
    base, _ = board
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/board/round/sept-2022") as r:
            assert r.status == 401 and "sept-2022" not in await r.text()
        async with s.get(f"{base}/board/round/sept-2022", headers=BEARER) as r:
            assert r.status == 200 and r.content_type == "text/html"
            assert "script-src 'none'" in r.headers["Content-Security-Policy"]
            page = await r.text()
        async with s.get(f"{base}/board/round/no-such-round", headers=BEARER) as r:
            assert r.status == 404
        async with s.post(f"{base}/board/round/sept-2022", headers=BEARER) as r:
            assert r.status == 405  # nothing on the board writes
    assert "<h1>Paper round sept-2022 <span" in page and '<main id="main"' in page
    assert '<link rel="stylesheet" href="/board/board.css">' in page and "<script" not in page
    totals = re.findall(r'<li><span class="tag [a-z-]+">([A-Za-z ]+)</span> (\d+)</li>', page)
    assert totals == [("Approved", "27"), ("Edited", "1"), ("Pending", "21"), ("Not mine", "1")]
    cells = "".join(f'<td class="num">{n}</td>' for n in (13, 0, 0, 0, 13))
    assert f'<tr><th scope="row">Grace Okafor</th>{cells}</tr>' in page
    cells = "".join(f'<td class="num">{n}</td>' for n in (0, 1, 5, 1, 7))
    assert f'<tr><th scope="row">CP · Crime Prevention</th>{cells}</tr>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bid of £887,661 secured" in page
    assert "Returned: please add the funding figure" in page
    assert (
        '<strong class="tag mark-deps">[draft]</strong> Activities completed. Business Crime'
        in page
    )
