"""The board over HTTP at 1x and 100x a real office (3 years of history), on a real
`BotProcess` on 127.0.0.1 as `serve` builds it, next to `/healthz` on the same server in
the same run.

Measures: `/healthz` in the first seconds after start (while the catch-up digest and its
chart are built), `/board` 50 sequential GETs and 20 concurrent readers, a `304` for a
repeat with `If-None-Match`, `/board/REF` for 20 concurrent readers (each a different
deliverable), and `/board/chart.png`. Run alone: `.venv/bin/python bench/board_scale.py
[1,100]`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp
from common import percentile, summarise
from scale_data import end_of, populate

import bot.board  # noqa: F401  (imported before the data is built, as serve would)
from bot.config import load_settings
from bot.server import BotProcess
from store import open_store

TOKEN = "bench-board-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
YEARS = 3
# A Tuesday inside the history, two days after Monday's digest: serve's start catches it up.
NOW = dt.datetime.combine(end_of(YEARS) - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
WARM_SECONDS = 3.0
DEGRADED: list[int] = []  # /healthz answers that said "degraded" (503), counted


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def _get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[float, int, str | None]:
    start = time.perf_counter()
    async with session.get(url, headers={**BEARER, **(headers or {})}) as r:
        await r.read()
        assert r.status in (200, 304), (url, r.status)
        return time.perf_counter() - start, r.status, r.headers.get("ETag")


def _health_samples(base: str, seconds: float, busy: Callable[[], bool]) -> list[float]:
    """``/healthz`` every 10 ms for ``seconds`` (and while ``busy()``, up to a minute), from a
    thread of its own: a client on the server's loop would not see the loop blocked while
    it sleeps between requests."""
    samples: list[float] = []
    start = time.perf_counter()
    until = start + seconds
    while time.perf_counter() < until or (busy() and time.perf_counter() < start + 60):
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=30) as r:
                r.read()
        except urllib.error.HTTPError as exc:  # 503 "degraded" is an answer too
            exc.read()
            DEGRADED.append(exc.code)
        samples.append(time.perf_counter() - t)
        time.sleep(0.01)
    return samples


async def _health_while(
    base: str, seconds: float, busy: Callable[[], bool] = lambda: False
) -> list[float]:
    return await asyncio.to_thread(_health_samples, base, seconds, busy)


async def _run(scale: int, tmp: Path) -> dict[str, list[float]]:
    db = tmp / f"board-{scale}.db"
    seed = open_store(db)
    built = time.perf_counter()
    counts = populate(seed, scale, years=YEARS)
    seed.close()
    print(
        f"{scale}x, {YEARS} years: {counts[0]:,} deliverables, {counts[1]:,} updates, "
        f"{counts[2]:,} letters (built in {time.perf_counter() - built:.0f} s)"
    )
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db),
            "PORT": "0",
            "SMTP_PORT": "0",
            "BOARD_TOKEN": TOKEN,
            "OUTBOX_DIR": str(tmp / f"outbox-{scale}"),
        },
        env_file=None,
    )
    store = open_store(db)
    process = BotProcess(settings=settings, store=store, clock=lambda: NOW)
    out: dict[str, list[float]] = {}
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await process.start()
        base = f"http://127.0.0.1:{process.http_port}"
        try:
            # The first seconds, and until the catch-up digest (and its chart) is done.
            out["healthz_start"] = await _health_while(
                base, WARM_SECONDS, lambda: bool(process._deliveries)
            )
            out["start_seconds"] = [time.perf_counter() - started]
            out["healthz"] = await _health_while(base, 1.0)
            board = base + "/board"
            out["board_cold"] = [(await _get(session, board))[0]]
            out["board_seq"] = [(await _get(session, board))[0] for _ in range(50)]
            conc: list[float] = []
            for _ in range(5):
                got = await asyncio.gather(*(_get(session, board) for _ in range(20)))
                conc += [t for t, _, _ in got]
            out["board_conc"] = conc
            _, _, etag = await _get(session, board)
            cond: list[float] = []
            statuses = set()
            for _ in range(50):
                t, status, _ = await _get(session, board, {"If-None-Match": etag or '"none"'})
                cond.append(t)
                statuses.add(status)
            out["board_304"] = cond
            out["board_304_status"] = [float(s) for s in statuses]
            refs = [f"X{scale}-{i}" for i in range(100)] if scale > 1 else None
            if refs is None:
                refs = [r.ref for r in store.deliverables()][:50] * 2
            item: list[float] = []
            for n in range(5):
                got = await asyncio.gather(
                    *(_get(session, f"{board}/{ref}") for ref in refs[n * 20 : (n + 1) * 20])
                )
                item += [t for t, _, _ in got]
            out["item_conc"] = item
            chart = board + "/chart.png"
            out["chart_cold"] = [(await _get(session, chart))[0]]
            out["chart"] = [(await _get(session, chart))[0] for _ in range(10)]
            out["healthz_end"] = await _health_while(base, 1.0)
        finally:
            await process.stop()
            store.close()
    return out


def _report(scale: int, r: dict[str, list[float]]) -> None:
    def p(key: str, q: float) -> float:
        return percentile(r[key], q)

    base99 = p("healthz", 99)
    print(f"  /healthz steady: p50 {ms(p('healthz', 50))}, p99 {ms(base99)}")
    print(
        f"  /healthz first {WARM_SECONDS:.0f} s after start: p50 {ms(p('healthz_start', 50))}, "
        f"p99 {ms(p('healthz_start', 99))}, max {ms(max(r['healthz_start']))} "
        f"({len(r['healthz_start'])} requests over {r['start_seconds'][0]:.1f} s, until the "
        "catch-up digest was sent)"
    )
    print(f"  /board first GET: {ms(r['board_cold'][0])}")
    print(f"  /board 50 sequential: p50 {ms(p('board_seq', 50))}, p99 {ms(p('board_seq', 99))}")
    print(f"  /board 20 concurrent: p50 {ms(p('board_conc', 50))}, p99 {ms(p('board_conc', 99))}")
    statuses = sorted(int(s) for s in r["board_304_status"])
    print(
        f"  /board with If-None-Match: p50 {ms(p('board_304', 50))}, p99 "
        f"{ms(p('board_304', 99))} (status {statuses})"
    )
    print(f"  /board/REF 20 concurrent: p50 {ms(p('item_conc', 50))}, p99 {ms(p('item_conc', 99))}")
    print(f"  /board/chart.png: first {ms(r['chart_cold'][0])}, p50 {ms(p('chart', 50))}")
    print(f"  /healthz at the end: p99 {ms(p('healthz_end', 99))}")
    print(f"  /healthz answers 503 (degraded) so far: {len(DEGRADED)}")
    if scale < 100:
        return
    label = f"{scale}x, {YEARS} y"
    for measure, key, q, goal in (
        (f"/board p99 sequential, {label}", "board_seq", 99, "< 100 ms"),
        (f"/board p99, 20 concurrent, {label}", "board_conc", 99, "< 1 s"),
        (f"/board 304 p99, {label}", "board_304", 99, "< 5 ms"),
        (f"/board/REF p99, 20 concurrent, {label}", "item_conc", 99, ""),
        (f"/board/chart.png p50, {label}", "chart", 50, ""),
        (f"/healthz max after start, {label}", "healthz_start", 100, "< 100 ms"),
    ):
        ours = p(key, q)
        summarise(measure, ms(ours), f"{ms(base99)} /healthz", ours / base99, goal)


async def main(scales: list[int] | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales or [1, 100]:
            _report(scale, await _run(scale, Path(tmp)))


if __name__ == "__main__":
    from common import print_summary

    chosen = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else None
    asyncio.run(main(chosen))
    print_summary()
