"""The board's pages kept by data version, with ``ETag`` and ``304``; charts drawn off the loop.

A page is built (on the board reader's own thread) at most once per view, data version and
time slot; a repeat request whose ``If-None-Match`` names the current ETag is answered
``304`` from the event loop after one ``PRAGMA data_version`` on a connection of its own,
without touching the reader thread at all.

The ETag is a digest of: a nonce drawn at start (so an ETag from an earlier run, whose data
version counted from 1 again, never matches), the data version (it changes at once whenever
any other connection commits: the service's writer, another process such as the CLI), the
view (path and filters), the office's day (so nothing shown as "today" survives midnight)
and, for pages that show the time and ages ("As at 14:05", "3 days ago", stale marks), the
minute, so a cached page is byte-identical to one built afresh.

matplotlib is drawn on one worker thread of its own (pyplot's figure registry is not
thread-safe, so drawings are serialised there), never on the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from digests.chart import digest_chart
from store import Status

__all__ = [
    "CACHE_CONTROL",
    "DataVersion",
    "PageCache",
    "Rendered",
    "draw_chart",
]

CACHE_CONTROL = "private, no-cache"  # the browser keeps it, and asks again each time (304)
CACHE_ENTRIES = 32  # pages, charts and reports kept
CACHE_BYTES = 64 * 1024 * 1024  # ... and at most this much of them
SLOT_SECONDS = 60  # pages that show the time are rebuilt at most once a minute

_chart_executor: ThreadPoolExecutor | None = None
_chart_lock = threading.Lock()


def _chart_pool() -> ThreadPoolExecutor:
    global _chart_executor
    with _chart_lock:
        if _chart_executor is None:
            _chart_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        return _chart_executor


async def draw_chart(weekly: list[tuple[dt.date, int]], status_counts: dict[Status, int]) -> bytes:
    """:func:`digests.chart.digest_chart` on the chart's own thread, off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_chart_pool(), digest_chart, weekly, status_counts)


class DataVersion:
    """``PRAGMA data_version`` on a read-only connection of its own, asked from the event loop
    (microseconds: in WAL mode it reads the shared index header and waits for no writer).

    ``None`` when there is no file to watch (``:memory:``): then nothing is cached."""

    def __init__(self, path: Path | None) -> None:
        self._conn: sqlite3.Connection | None = None
        if path is not None and str(path) != ":memory:":
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def current(self) -> int | None:
        if self._conn is None:
            return None
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None  # cannot tell: build afresh

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class Rendered:
    """A built answer: its bytes and media type (and a download name, for files)."""

    body: bytes
    content_type: str
    charset: str | None = "utf-8"
    filename: str | None = None


@dataclass(frozen=True)
class _Entry:
    version: int
    rendered: Rendered


class PageCache:
    """Bounded (entries and bytes), least recently used first out; used on the event loop
    only. Concurrent requests for the same view share one build."""

    def __init__(
        self,
        versions: DataVersion,
        *,
        today: Callable[[], dt.date],
        now: Callable[[], dt.datetime],
        size: int = CACHE_ENTRIES,
        max_bytes: int = CACHE_BYTES,
    ) -> None:
        self.versions = versions
        self.today = today
        self.now = now
        self.size = size
        self.max_bytes = max_bytes
        self.nonce = secrets.token_hex(8)
        self.builds = 0  # how many times an answer was built (tests and the bench read it)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._pending: dict[tuple[Hashable, int], asyncio.Future[Rendered | None]] = {}

    def _key(self, view: Hashable, timed: bool) -> Hashable:
        slot = int(self.now().timestamp()) // SLOT_SECONDS if timed else None
        return (view, self.today(), slot)

    def etag(self, version: int, key: Hashable) -> str:
        digest = hashlib.blake2b(repr((self.nonce, version, key)).encode(), digest_size=12)
        return f'"{digest.hexdigest()}"'

    async def answer(
        self,
        request: web.Request,
        view: Hashable,
        build: Callable[[], Awaitable[Rendered | None]],
        *,
        timed: bool = True,
        missing: Callable[[], web.HTTPException] = web.HTTPNotFound,
    ) -> web.Response:
        """``304`` if the request already has this version of ``view``, else the page (from
        the cache, or from ``build``, which runs the slow part off the loop). ``build``
        giving ``None`` (nothing there) is ``missing()``, raised for this request alone."""
        version = self.versions.current()
        if version is None:
            return _response(_found(await build(), missing), None)
        key = self._key(view, timed)
        etag = self.etag(version, key)
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
        entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            self._entries.move_to_end(key)
            return _response(entry.rendered, etag)
        pending = self._pending.get((key, version))
        if pending is None:
            pending = asyncio.ensure_future(self._build(key, version, build))
            self._pending[(key, version)] = pending
        return _response(_found(await asyncio.shield(pending), missing), etag)

    async def _build(
        self, key: Hashable, version: int, build: Callable[[], Awaitable[Rendered | None]]
    ) -> Rendered | None:
        try:
            rendered = await build()
            self.builds += 1
            if rendered is not None:
                self._store(key, version, rendered)
            return rendered
        finally:
            self._pending.pop((key, version), None)

    def _store(self, key: Hashable, version: int, rendered: Rendered) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.rendered.body)
        if len(rendered.body) > self.max_bytes:
            return
        # What an older version or an earlier slot built can never be asked for again.
        for k in [k for k, e in self._entries.items() if e.version != version]:
            self._bytes -= len(self._entries.pop(k).rendered.body)
        self._entries[key] = _Entry(version, rendered)
        self._bytes += len(rendered.body)
        while len(self._entries) > self.size or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.rendered.body)

    def __len__(self) -> int:
        return len(self._entries)


def _found(rendered: Rendered | None, missing: Callable[[], web.HTTPException]) -> Rendered:
    if rendered is None:
        raise missing()
    return rendered


def _matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _response(rendered: Rendered, etag: str | None) -> web.Response:
    headers = {"Cache-Control": CACHE_CONTROL if etag else "private, no-store"}
    if etag:
        headers["ETag"] = etag
    if rendered.filename:
        headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return web.Response(
        body=rendered.body,
        content_type=rendered.content_type,
        charset=rendered.charset,
        headers=headers,
    )
