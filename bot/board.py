"""The panel board's HTTP side: read-only routes under /board on serve's HTTP port.

Off until ``BOARD_TOKEN`` is set. A reader presents the token once, as ``Authorization:
Bearer`` or ``?token=``; a signed, HttpOnly, SameSite cookie then keeps the session. Every
answer carries a Content-Security-Policy with no script at all. Reads go through the
board's own read-only connection, on its own thread (not Slack's), so the board never slows
Slack or SMTP; pages, the chart and the report are kept per data version, with an ETag and
``304`` for a repeat (:mod:`bot.board_cache`), so a room full of readers costs one rendering
per change, and the chart is drawn on a thread of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.board_cache import DataVersion, PageCache, Rendered, draw_chart
from bot.board_export import csv_response, xlsx_response
from bot.board_item import item_row
from bot.board_round import round_page
from bot.config import Settings
from bot.dates import parse_day_text
from bot.web_security import FailureThrottle, client_peer, is_https
from digests.board import BoardFilters, board_period, board_rows, end_of_day
from digests.board_pages import (
    Page,
    render_board,
    render_item,
    render_report_page,
    render_statement,
    report_body,
    stylesheet,
)
from digests.digest import CorrespondenceWeek
from digests.digest_week import weekly_correspondence
from digests.formats import REPORT_FORMATS
from digests.paper import build_paper, render_paper_docx, stored_wording
from digests.report import build_report, render_report
from store import Office, Reader, Status, utc_now

__all__ = ["add_board_routes"]

log = logging.getLogger("deliverabot.board")

COOKIE = "deliverabot_board"
SESSION_SECONDS = 12 * 3600
EXPIRY = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() takes "²" and "٣"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
# A public body must publish its accessibility statement: it (and the stylesheet it uses)
# needs no token; it names the office and the plan, nothing of the board's data.
PUBLIC = frozenset({"/board/accessibility", "/board/board.css"})
CACHE_ENTRIES = 32  # charts and reports kept (a few MB at most)


def _html(text: str) -> Rendered:
    return Rendered(text.encode(), "text/html")


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
        if not request.path.startswith("/board") or request.path in PUBLIC:
            return await handler(request)
        now = utc_now().timestamp()
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


class Board:
    def __init__(self, *, settings: Settings, reader: Reader, office: Office) -> None:
        self.settings = settings
        self.reader = reader
        self.office = office
        self.versions = DataVersion(reader.path)
        self.pages = PageCache(self.versions, today=self._today, now=office.now)

    def _today(self) -> dt.date:
        return self.office.today()

    def _filters(self, request: web.Request) -> BoardFilters:
        return BoardFilters.parse(request.query, today=self._today())

    def _page(self, request: web.Request, as_of: dt.date | None) -> Page:
        """What every page shares (read on the reader's thread: it reads the plan's name)."""
        s = self.settings
        base = s.board_url or f"{request.scheme}://{request.host}/board"
        return Page(
            plan=self.reader.get_meta("plan") or "Delivery Plan",
            office=self.reader.get_meta("office") or "",
            generated=self._generated(),
            period=board_period(as_of or self._today(), s.panel_dates, self.office),
            base=base,
            as_of=as_of,
            stale_weeks=self.office.stale_weeks,
        )

    def _rows(self, page: Page) -> list[Any]:
        return board_rows(
            self.reader,
            office=self.office,
            as_of=page.as_of,
            new_since=page.period.since,
        )

    def _mail(self, day: dt.date) -> CorrespondenceWeek:
        """The 12 weeks of correspondence to the week of ``day``."""
        monday = day - dt.timedelta(days=day.weekday())
        return weekly_correspondence(
            self.reader, monday, monday + dt.timedelta(days=6), self.office
        )

    def _generated(self) -> str:
        return f"As at {self.office.local(self.office.now()):%-d %B %Y, %H:%M}"

    def _base(self, request: web.Request) -> str:
        return self.settings.board_url or f"{request.scheme}://{request.host}/board"

    async def index(self, request: web.Request) -> web.Response:
        filters = self._filters(request)

        def html() -> Rendered:
            page = self._page(request, filters.as_of)
            mail = self._mail(filters.as_of or self._today())
            return _html(render_board(page, self._rows(page), filters, mail))

        async def build() -> Rendered:
            return await self.reader.call(html)

        return await self.pages.answer(request, ("board", filters, self._base(request)), build)

    async def item(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        as_of = self._filters(request).as_of

        def html() -> Rendered | None:
            """One deliverable's row and history: its own reads, not the whole board's."""
            d = self.reader.deliverable_by_ref(ref)
            if d is None:
                return None
            page = self._page(request, as_of)
            until = end_of_day(as_of, self.office.tz) if as_of else None
            history = self.reader.updates(deliverable_id=d.id, until=until)
            row = item_row(
                self.reader,
                d,
                history,
                office=self.office,
                as_of=as_of,
                new_since=page.period.since,
            )
            if row is None:
                return None
            people = {p.id: p.name for p in self.reader.people()}
            return _html(render_item(page, row, history[::-1], people))

        async def build() -> Rendered | None:
            return await self.reader.call(html)

        def missing() -> web.HTTPException:
            when = f" on {as_of:%-d %B %Y}" if as_of else ""
            return web.HTTPNotFound(text=f"No deliverable {ref}{when}.")

        view = ("item", ref.strip().upper(), as_of, self._base(request))
        return await self.pages.answer(request, view, build, missing=missing)

    def _period(self, request: web.Request, as_of: dt.date | None) -> tuple[dt.date, dt.date]:
        """The report's period from ?from=&to=, or by default from the start of the board's
        period to today (or the past day being viewed)."""
        s = self.settings
        day_to = as_of or self._today()
        default_from = board_period(day_to, s.panel_dates, self.office).since
        text_from, text_to = request.query.get("from"), request.query.get("to")
        try:
            day_from = parse_day_text(text_from) if text_from else default_from
            day_to = parse_day_text(text_to) if text_to else day_to
        except ValueError as exc:
            choices = "|".join(REPORT_FORMATS.choices)
            raise web.HTTPBadRequest(
                text=f"{exc}. Give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD&format={choices}"
            ) from None
        if day_to < day_from:
            raise web.HTTPBadRequest(text="The period's end (to) is before its start (from).")
        return day_from, day_to

    async def report(self, request: web.Request) -> web.Response:
        fmt = REPORT_FORMATS.find(request.query.get("format", "html"))
        if fmt is None:
            raise web.HTTPBadRequest(text=f"format is {REPORT_FORMATS.spoken()}")
        as_of = self._filters(request).as_of
        day_from, day_to = self._period(request, as_of)

        def draft() -> Rendered:
            data = build_report(self.reader, day_from=day_from, day_to=day_to, office=self.office)
            if fmt.binary:  # the whole paper, as `deliverabot report --format docx`
                paper = build_paper(self.reader, data, stored_wording(self.reader))
                name = f"report-{day_from}-{day_to}{fmt.suffix}"
                docx = render_paper_docx(data, paper)
                return Rendered(docx, fmt.media_type, charset=None, filename=name)
            if fmt.name != "html":
                return Rendered(render_report(data, fmt.name).encode(), fmt.media_type)
            body = report_body(render_report(data, "html"))
            page = self._page(request, as_of)
            html = render_report_page(page, day_from=day_from, day_to=day_to, body=body)
            return Rendered(html.encode(), fmt.media_type)

        async def build() -> Rendered:
            return await self.reader.call(draft)

        # Kept per data version (a report costs up to a second at scale), as before.
        view = ("report", day_from, day_to, fmt.name, as_of, self._base(request))
        return await self.pages.answer(request, view, build, timed=False)

    async def accessibility(self, request: web.Request) -> web.Response:
        as_of = self._filters(request).as_of
        s = self.settings

        def html() -> str:
            page = self._page(request, as_of)
            contact = s.accessibility_contact
            return render_statement(page, contact=contact, reply_days=s.answer_target_days)

        return web.Response(text=await self.reader.call(html), content_type="text/html")

    async def export_csv(self, request: web.Request) -> web.Response:
        return csv_response(self.reader, self.office.tz)

    async def export_xlsx(self, request: web.Request) -> web.Response:
        return await xlsx_response(request, self.reader, self.office.tz)

    async def chart(self, request: web.Request) -> web.Response:
        as_of = self._filters(request).as_of
        # The chart follows the day being viewed, and today's changes with the week.
        year, week, _ = (as_of or self._today()).isocalendar()

        def data() -> tuple[list[tuple[dt.date, int]], dict[Status, int]]:
            page = self._page(request, as_of)
            counts = Counter(r.status for r in self._rows(page))
            mail = self._mail(as_of or self._today())
            return mail.weekly, {st: counts.get(st, 0) for st in Status}

        async def build() -> Rendered:
            weekly, counts = await self.reader.call(data)  # the reads, on the reader's thread
            png = await draw_chart(weekly, counts)  # the drawing, on the chart's own thread
            return Rendered(png, "image/png", charset=None)

        return await self.pages.answer(request, ("chart", as_of, year, week), build, timed=False)

    async def stylesheet(self, request: web.Request) -> web.Response:
        return web.Response(text=stylesheet(), content_type="text/css")


def add_board_routes(
    app: web.Application,
    *,
    settings: Settings,
    reader: Reader,
    office: Office,
) -> None:
    """Register /board and its pages (GET only: nothing on the board can write)."""
    assert settings.board_token
    board = Board(settings=settings, reader=reader, office=office)

    async def close_versions(app: web.Application) -> None:
        board.versions.close()

    app.on_cleanup.append(close_versions)
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
    app.router.add_get("/board/accessibility", board.accessibility)
    app.router.add_get("/board/round/{name}", round_page(board))  # bot/board_round.py
    app.router.add_get("/board/{ref}", board.item)
