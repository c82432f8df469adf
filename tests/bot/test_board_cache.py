"""The board's pages by data version: ETag and 304, invalidated at once by a write; the
chart drawn off the event loop; /board/REF read for its own deliverable."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import board_harness
import pytest
from board_harness import board_process

import bot.board_cache
from bot.board_item import item_row
from bot.server import BotProcess
from digests.board import board_period, board_rows
from handlers.service import UpdateRequest, record_update
from store import Source, Store, open_store

TOKEN = "board-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def board(tmp_path: Path, example_plan: Path) -> AsyncIterator[tuple[str, BotProcess]]:
    async with board_process(tmp_path, example_plan, token=TOKEN, note="first note") as process:
        yield f"http://127.0.0.1:{process.http_port}", process


async def _get(s: aiohttp.ClientSession, url: str, etag: str | None = None) -> tuple[int, str, str]:
    headers = {"If-None-Match": etag} if etag else {}
    async with s.get(url, headers=headers) as r:
        return r.status, r.headers.get("ETag", ""), (await r.read()).decode("latin-1")


def _update(store: Store, note: str, ref: str = "CF-10") -> None:
    record_update(
        store,
        UpdateRequest(
            deliverable=ref,
            actor=store.person_by_email("priya.shah@example.org"),
            source=Source.SLACK,
            note=note,
            recorded_at=dt.datetime(2022, 9, 16, 10, tzinfo=dt.UTC),
        ),
    )


@pytest.mark.parametrize("path", ["/board", "/board/CF-10", "/board/chart.png", "/board/report"])
async def test_a_repeat_with_the_etag_is_a_304_and_a_write_invalidates_it_at_once(
    board, path: str
) -> None:
    base, process = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(base + path) as r:
            assert r.status == 200
            etag = r.headers["ETag"]
            assert await r.read()
            assert r.headers["Cache-Control"] == "private, no-cache"
        async with s.get(base + path, headers={"If-None-Match": etag}) as r:
            assert r.status == 304 and await r.read() == b""
            assert r.headers["ETag"] == etag
            assert "script-src 'none'" in r.headers["Content-Security-Policy"]
        # A write through the service: the next request is a 200 with the new content.
        await process.writer.call(_update, "second note, after the first")
        status, new_etag, body = await _get(s, base + path, etag)
        assert status == 200 and new_etag != etag
        if path in ("/board", "/board/CF-10"):
            assert "second note, after the first" in body
        if path == "/board":  # the board shows the newest note only
            assert "first note" not in body
        assert (await _get(s, base + path, new_etag))[0] == 304


async def test_a_write_from_another_process_changes_the_etag(board, tmp_path: Path) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        _, etag, _ = await _get(s, base + "/board")
        other = open_store(tmp_path / "board.db")  # the CLI, say: a connection of its own
        try:
            _update(other, "written by deliverabot update")
        finally:
            other.close()
        status, new_etag, body = await _get(s, base + "/board", etag)
    assert status == 200 and new_etag != etag
    assert "written by deliverabot update" in body


async def test_each_view_has_its_own_etag(board) -> None:
    base, _ = board
    views = [
        "/board",
        "/board?theme=CF",
        "/board?status=on-hold",
        "/board?q=survey",
        "/board?as_of=2022-07-31",
        "/board/CF-10",
        "/board/CF-10?as_of=2022-07-31",
        "/board/chart.png",
        "/board/chart.png?as_of=2022-07-31",
    ]
    async with aiohttp.ClientSession(headers=BEARER) as s:
        tags = [(await _get(s, base + v))[1] for v in views]
        assert len(set(tags)) == len(views) and all(tags)
        status, _, page = await _get(s, base + "/board?theme=CF", tags[0])
        assert status == 200 and "<h2>CP · Crime Prevention</h2>" not in page
        assert (await _get(s, base + "/board?theme=CF", tags[1]))[0] == 304


async def test_nothing_survives_midnight(board, monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = board
    async with aiohttp.ClientSession(headers=BEARER) as s:
        _, etag, _ = await _get(s, base + "/board")
        _, chart_etag, _ = await _get(s, base + "/board/chart.png")
        assert (await _get(s, base + "/board", etag))[0] == 304
        later = board_harness.NOW + dt.timedelta(days=1)
        monkeypatch.setattr(board_harness, "NOW", later)  # the process's clock reads it
        status, new_etag, page = await _get(s, base + "/board", etag)
        assert status == 200 and new_etag != etag
        assert f"As at {later:%-d %B %Y}" in page
        assert (await _get(s, base + "/board/chart.png", chart_etag))[0] == 200


async def test_concurrent_readers_share_one_build_and_the_cache_is_bounded(board) -> None:
    base, process = board
    cache = _pages(process)
    before = cache.builds
    async with aiohttp.ClientSession(headers=BEARER) as s:
        got = await asyncio.gather(*(_get(s, base + "/board?theme=CP") for _ in range(20)))
        assert {status for status, _, _ in got} == {200} and len({e for _, e, _ in got}) == 1
        assert cache.builds == before + 1
        for n in range(cache.size + 10):
            assert (await _get(s, f"{base}/board?q=nothing{n}"))[0] == 200
    assert len(cache) <= cache.size


def _pages(process: BotProcess) -> bot.board_cache.PageCache:
    for route in process.web_app.router.routes():
        handler = route.handler
        owner = getattr(handler, "__self__", None)
        if owner is not None and hasattr(owner, "pages"):
            pages: bot.board_cache.PageCache = owner.pages
            return pages
    raise AssertionError("no board")


async def test_the_chart_is_drawn_off_the_event_loop(
    board, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = board
    threads: list[str] = []

    def slow_chart(weekly: object, counts: object) -> bytes:
        threads.append(threading.current_thread().name)
        time.sleep(1.5)  # as a large chart on a busy machine
        return PNG + b"slow"

    monkeypatch.setattr(bot.board_cache, "digest_chart", slow_chart)
    async with aiohttp.ClientSession(headers=BEARER) as s:
        chart = asyncio.ensure_future(_get(s, base + "/board/chart.png"))
        await asyncio.sleep(0.3)
        assert threads, "the chart is being drawn"
        start = time.perf_counter()
        async with s.get(base + "/healthz") as r:
            assert r.status == 200
        assert time.perf_counter() - start < 0.5, "the loop waited for the chart"
        assert not chart.done()
        status, _, body = await chart
    assert status == 200 and body.endswith("slow")
    assert threads == ["chart_0"]


async def test_the_catch_up_digest_chart_is_drawn_off_the_event_loop(
    tmp_path: Path, example_plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    drawn = threading.Event()

    def slow_chart(weekly: object, counts: object) -> bytes:
        threads.append(threading.current_thread().name)
        time.sleep(1.5)
        drawn.set()
        return PNG

    monkeypatch.setattr(bot.board_cache, "digest_chart", slow_chart)
    # Friday's digest is due when the process starts on Friday at noon: it is caught up.
    env = {"DIGEST_SCHEDULE": "fri 09:00"}
    async with board_process(tmp_path, example_plan, token=TOKEN, note="n", env=env) as process:
        base = f"http://127.0.0.1:{process.http_port}"
        slowest = 0.0
        async with aiohttp.ClientSession() as s:
            until = time.perf_counter() + 2.5
            while time.perf_counter() < until and not drawn.is_set():
                start = time.perf_counter()
                async with s.get(base + "/healthz") as r:
                    assert r.status == 200
                slowest = max(slowest, time.perf_counter() - start)
                await asyncio.sleep(0.02)
        assert drawn.is_set() and threads == ["chart_0"]
        assert slowest < 0.5
        while process._deliveries:
            await asyncio.sleep(0.05)


async def test_one_deliverable_page_reads_that_deliverable_only(board) -> None:
    base, process = board
    reader = process.board_reader
    assert reader is not None

    def everything(*args: object, **kwargs: object) -> object:
        raise AssertionError("/board/REF read every deliverable")

    reader.deliverables = everything  # type: ignore[method-assign]
    reader.last_updates = everything  # type: ignore[method-assign]
    reader.states_at = everything  # type: ignore[method-assign]
    async with aiohttp.ClientSession(headers=BEARER) as s:
        for path in ("/board/CF-10", "/board/cf-10?as_of=2022-07-31", "/board/CP-1"):
            status, _, page = await _get(s, base + path)
            assert status == 200 and "History, newest first" in page
        assert (await _get(s, base + "/board/XX-1"))[0] == 404


@pytest.mark.parametrize("as_of", [None, dt.date(2022, 7, 31), dt.date(2022, 9, 14)])
def test_the_one_deliverable_row_is_the_boards_row(
    tmp_path: Path, example_plan: Path, as_of: dt.date | None
) -> None:
    async def seed() -> None:
        async with board_process(tmp_path, example_plan, token=TOKEN, note="n"):
            pass

    asyncio.run(seed())
    store = open_store(tmp_path / "board.db")
    try:
        _update(store, "completed it", ref="CF-1")
        office = board_harness.load_settings(
            {"DELIVERABOT_DB": str(tmp_path / "board.db")}, env_file=None
        ).office.with_clock(lambda: board_harness.NOW)
        since = board_period(as_of or office.today(), [], office).since
        rows = board_rows(store, office=office, as_of=as_of, new_since=since)
        assert len(rows) > 40
        for d in store.deliverables():
            history = store.updates(deliverable_id=d.id)
            one = item_row(store, d, history, office=office, as_of=as_of, new_since=since)
            assert ([one] if one else []) == [r for r in rows if r.ref == d.ref]
    finally:
        store.close()
