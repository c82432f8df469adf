"""The panel board's HTTP side: read-only routes under /board on serve's HTTP port.

Off until ``BOARD_TOKEN`` is set. A reader presents the token once, as ``Authorization:
Bearer`` or ``?token=``; a signed, HttpOnly, SameSite cookie then keeps the session. Every
answer carries a Content-Security-Policy with no script at all. Reads go through the
board's own read-only connection, on its own thread (not Slack's), so the board never slows
Slack or SMTP; the chart and the report are kept per data version, so a room full of
readers costs one rendering per change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from importlib import resources
from typing import Any, TypeVar

from aiohttp import web

from bot.config import Settings
from bot.dates import parse_day_text
from bot.web_security import FailureThrottle, client_peer, is_https
from digests.board import BoardFilters, board_rows, render_board, render_item
from digests.chart import digest_chart
from digests.digest import build_digest
from digests.formats import REPORT_FORMATS
from digests.paper import build_paper, render_paper_docx, stored_wording
from digests.plan_table import plan_rows, to_csv, to_xlsx
from digests.report import build_report, render_report
from store import Reader

__all__ = ["add_board_routes"]

log = logging.getLogger("deliverabot.board")

COOKIE = "deliverabot_board"
SESSION_SECONDS = 12 * 3600
EXPIRY = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() takes "²" and "٣"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
CACHE_ENTRIES = 32  # charts and reports kept (a few MB at most)


def _sign(token: str, expires: int) -> str:
    mac = hmac.new(token.encode(), f"board:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def _cookie_ok(token: str, value: str | None, now: float) -> bool:
    if not value or "." not in value or len(value) > 100:
        return False
    expires_text, _, _ = value.partition(".")
    if not EXPIRY.fullmatch(expires_text) or int(expires_text) < now:
        return False
    # Bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500).
    return hmac.compare_digest(
        value.encode("utf-8", "surrogateescape"), _sign(token, int(expires_text)).encode()
    )


def _token_ok(token: str, given: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def _given_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query.get("token")


def _refused(status: int, text: str, headers: dict[str, str]) -> web.Response:
    return web.Response(status=status, text=text, headers=headers)


def board_guard(token: str, *, trust_proxy: bool = False, throttle: FailureThrottle) -> Any:
    """Token or cookie, else ``401``; a peer that fails ``throttle.limit`` times within its
    window gets ``429`` (even with the right token, so guessing gains nothing) until the
    block ends, and one log line. A reader with a valid session cookie is never blocked."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/board"):
            return await handler(request)
        now = time.time()
        peer = client_peer(request, trust_proxy)
        given = _given_token(request)
        cookie = request.cookies.get(COOKIE)
        signed_in = _cookie_ok(token, cookie, now)
        wait = 0.0 if signed_in else throttle.blocked_for(peer)
        if wait:
            return _refused(
                429,
                "Too many wrong tokens from your address; try again later.",
                {"Retry-After": str(int(wait) + 1)},
            )
        if given is not None and _token_ok(token, given):
            response: web.StreamResponse
            if "token" in request.query:
                # Once only: the token leaves the URL (and the history) at once.
                rest = {k: v for k, v in request.query.items() if k != "token"}
                target = request.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
                response = web.Response(status=303, headers={"Location": target})
            else:
                response = await handler(request)
            response.set_cookie(
                COOKIE,
                _sign(token, int(now) + SESSION_SECONDS),
                max_age=SESSION_SECONDS,
                httponly=True,
                samesite="Strict",
                path="/board",
                secure=is_https(request, trust_proxy),
            )
            return response
        if signed_in:  # a stale ?token= beside a valid session does no harm
            return await handler(request)
        if (given is not None or cookie is not None) and throttle.failure(peer):
            log.warning(
                "board: %d wrong tokens or cookies from %s within %.0f s; "
                "answering 429 to it for %.0f s",
                throttle.limit,
                peer,
                throttle.window,
                throttle.block,
            )
        return _refused(
            401,
            "The board needs its token: ask the office for the link.",
            {"WWW-Authenticate": 'Bearer realm="board"'},
        )

    return guard


class VersionCache:
    """Answers kept while the store's data version (``PRAGMA data_version``) is unchanged.

    Used only on the reader's own thread (inside ``reader.call``), so it needs no lock."""

    def __init__(self, reader: Reader, size: int = CACHE_ENTRIES) -> None:
        self.reader = reader
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        version = self.reader.data_version()
        hit = self._entries.get(key)
        if hit is not None and hit[0] == version:
            self._entries.move_to_end(key)
            value: T = hit[1]
            return value
        value = compute()
        self._entries[key] = (version, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


class Board:
    def __init__(
        self, *, settings: Settings, reader: Reader, clock: Callable[[], dt.datetime]
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.clock = clock
        self.cache = VersionCache(reader)

    def _rows(self) -> list[Any]:
        s = self.settings
        return board_rows(
            self.reader,
            now=self.clock(),
            tz=s.tz,
            stale_weeks=s.stale_weeks,
            start_month=s.fy_start_month,
        )

    def _generated(self) -> str:
        return f"as at {self.clock().astimezone(self.settings.tz):%-d %B %Y, %H:%M}"

    async def index(self, request: web.Request) -> web.Response:
        filters = BoardFilters.parse(request.query)

        def page() -> str:
            return render_board(self.reader, self._rows(), filters, generated=self._generated())

        return web.Response(text=await self.reader.call(page), content_type="text/html")

    async def item(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]

        def page() -> str | None:
            found = [r for r in self._rows() if r.ref.upper() == ref.upper()]
            d = self.reader.deliverable_by_ref(ref)
            if not found or d is None:
                return None
            history = self.reader.updates(deliverable_id=d.id, newest_first=True)
            return render_item(
                self.reader, found[0], history, tz=self.settings.tz, generated=self._generated()
            )

        text = await self.reader.call(page)
        if text is None:
            raise web.HTTPNotFound(text=f"No deliverable {ref}.")
        return web.Response(text=text, content_type="text/html")

    async def report(self, request: web.Request) -> web.Response:
        fmt = REPORT_FORMATS.find(request.query.get("format", "markdown"))
        choices = "|".join(REPORT_FORMATS.choices)
        try:
            day_from = parse_day_text(request.query.get("from", ""))
            day_to = parse_day_text(request.query.get("to", ""))
        except ValueError as exc:
            raise web.HTTPBadRequest(
                text=f"{exc}. Give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD&format={choices}"
            ) from None
        if fmt is None or day_to < day_from:
            raise web.HTTPBadRequest(
                text=f"format is {REPORT_FORMATS.spoken()}; to is not before from"
            )
        s = self.settings

        def draft() -> bytes | str:
            data = build_report(
                self.reader, day_from=day_from, day_to=day_to, tz=s.tz, start_month=s.fy_start_month
            )
            if fmt.binary:  # the whole paper, as `deliverabot report --format docx`
                paper = build_paper(self.reader, data, stored_wording(self.reader))
                return render_paper_docx(data, paper)
            return render_report(data, fmt.name)

        key = ("report", day_from, day_to, fmt.name)
        body = await self.reader.call(self.cache.get, key, draft)
        if isinstance(body, bytes):
            name = f"report-{day_from}-{day_to}{fmt.suffix}"
            return web.Response(
                body=body,
                content_type=fmt.media_type,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return web.Response(text=body, content_type=fmt.media_type, charset="utf-8")

    async def export_csv(self, request: web.Request) -> web.Response:
        text = await self.reader.call(lambda: to_csv(plan_rows(self.reader, self.settings.tz)))
        return web.Response(
            text=text,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="delivery-plan.csv"'},
        )

    async def export_xlsx(self, request: web.Request) -> web.Response:
        tz = self.settings.tz
        body = await self.reader.call(lambda: to_xlsx(self.reader, plan_rows(self.reader, tz), tz))
        return web.Response(
            body=body,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="delivery-plan.xlsx"'},
        )

    async def chart(self, request: web.Request) -> web.Response:
        s = self.settings

        year, week, _ = self.clock().astimezone(s.tz).date().isocalendar()

        def png() -> bytes:
            digest = build_digest(
                self.reader, year=year, week=week, tz=s.tz, start_month=s.fy_start_month
            )
            weekly = digest.correspondence.weekly if digest.correspondence else []
            return digest_chart(weekly, digest.status_counts)

        body = await self.reader.call(self.cache.get, ("chart", year, week), png)
        return web.Response(body=body, content_type="image/png")

    async def stylesheet(self, request: web.Request) -> web.Response:
        css = resources.files("digests").joinpath("templates/board.css").read_text()
        return web.Response(text=css, content_type="text/css")


def add_board_routes(
    app: web.Application,
    *,
    settings: Settings,
    reader: Reader,
    clock: Callable[[], dt.datetime],
) -> None:
    """Register /board and its pages (GET only: nothing on the board can write)."""
    assert settings.board_token
    board = Board(settings=settings, reader=reader, clock=clock)
    app.middlewares.append(
        board_guard(
            settings.board_token, trust_proxy=settings.trust_proxy, throttle=FailureThrottle()
        )
    )
    app.router.add_get("/board", board.index)
    app.router.add_get("/board/board.css", board.stylesheet)
    app.router.add_get("/board/chart.png", board.chart)
    app.router.add_get("/board/report", board.report)
    app.router.add_get("/board/export.csv", board.export_csv)
    app.router.add_get("/board/export.xlsx", board.export_xlsx)
    app.router.add_get("/board/{ref}", board.item)
