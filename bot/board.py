"""The panel board's HTTP side: read-only routes under /board on serve's HTTP port.

Off until ``BOARD_TOKEN`` is set. A reader presents the token once, as ``Authorization:
Bearer`` or ``?token=``; a signed, HttpOnly, SameSite cookie then keeps the session. Every
answer carries a Content-Security-Policy with no script at all. Reads go through the
read-only connection, on its own thread, so the board never slows Slack or SMTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from bot.config import Settings
from digests.board import BoardFilters, board_period, board_rows, end_of_day
from digests.board_pages import (
    Page,
    render_board,
    render_item,
    render_report_page,
    render_statement,
    report_body,
)
from digests.chart import digest_chart
from digests.digest import CorrespondenceWeek
from digests.digest_week import weekly_correspondence
from digests.plan_table import plan_rows, to_csv, to_xlsx
from digests.report import build_report, render_docx, render_report
from store import Status, Store

__all__ = ["add_board_routes"]

COOKIE = "deliverabot_board"
SESSION_SECONDS = 12 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= must never leave in a Referer
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _sign(token: str, expires: int) -> str:
    mac = hmac.new(token.encode(), f"board:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def _cookie_ok(token: str, value: str | None, now: float) -> bool:
    if not value or "." not in value:
        return False
    expires_text, _, _ = value.partition(".")
    if not expires_text.isdigit() or int(expires_text) < now:
        return False
    return hmac.compare_digest(value, _sign(token, int(expires_text)))


def _given_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query.get("token")


def board_guard(token: str) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/board"):
            return await handler(request)
        now = time.time()
        given = _given_token(request)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
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
                secure=request.secure,
            )
        elif _cookie_ok(token, request.cookies.get(COOKIE), now):
            response = await handler(request)
        else:
            response = web.Response(
                status=401,
                text="The board needs its token: ask the office for the link.",
                headers={"WWW-Authenticate": 'Bearer realm="board"'},
            )
        response.headers.update(SECURITY_HEADERS)
        return response

    return guard


class Board:
    def __init__(
        self, *, settings: Settings, reader: Store, clock: Callable[[], dt.datetime]
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.clock = clock

    def _today(self) -> dt.date:
        return self.clock().astimezone(self.settings.tz).date()

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
            period=board_period(as_of or self._today(), s.panel_dates, s.fy_start_month),
            base=base,
            as_of=as_of,
            stale_weeks=s.stale_weeks,
        )

    def _rows(self, page: Page) -> list[Any]:
        s = self.settings
        return board_rows(
            self.reader,
            now=self.clock(),
            tz=s.tz,
            stale_weeks=s.stale_weeks,
            start_month=s.fy_start_month,
            as_of=page.as_of,
            new_since=page.period.since,
        )

    def _mail(self, day: dt.date) -> CorrespondenceWeek:
        """The 12 weeks of correspondence to the week of ``day``."""
        s = self.settings
        monday = day - dt.timedelta(days=day.weekday())
        return weekly_correspondence(
            self.reader, monday, monday + dt.timedelta(days=6), s.answer_target, s.bank_holidays
        )

    def _generated(self) -> str:
        return f"As at {self.clock().astimezone(self.settings.tz):%-d %B %Y, %H:%M}"

    async def index(self, request: web.Request) -> web.Response:
        filters = self._filters(request)

        def html() -> str:
            page = self._page(request, filters.as_of)
            mail = self._mail(filters.as_of or self._today())
            return render_board(page, self._rows(page), filters, mail)

        return web.Response(text=await self.reader.call(html), content_type="text/html")

    async def item(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        as_of = self._filters(request).as_of

        def html() -> str | None:
            page = self._page(request, as_of)
            found = [r for r in self._rows(page) if r.ref.upper() == ref.upper()]
            d = self.reader.deliverable_by_ref(ref)
            if not found or d is None:
                return None
            until = end_of_day(as_of, self.settings.tz) if as_of else None
            history = self.reader.updates(deliverable_id=d.id, until=until, newest_first=True)
            people = {p.id: p.name for p in self.reader.people()}
            return render_item(page, found[0], history, people)

        text = await self.reader.call(html)
        if text is None:
            when = f" on {as_of:%-d %B %Y}" if as_of else ""
            raise web.HTTPNotFound(text=f"No deliverable {ref}{when}.")
        return web.Response(text=text, content_type="text/html")

    def _period(self, request: web.Request, as_of: dt.date | None) -> tuple[dt.date, dt.date]:
        """The report's period from ?from=&to=, or by default from the start of the board's
        period to today (or the past day being viewed)."""
        s = self.settings
        day_to = as_of or self._today()
        default_from = board_period(day_to, s.panel_dates, s.fy_start_month).since
        text_from, text_to = request.query.get("from"), request.query.get("to")
        try:
            day_from = dt.date.fromisoformat(text_from) if text_from else default_from
            day_to = dt.date.fromisoformat(text_to) if text_to else day_to
        except ValueError:
            raise web.HTTPBadRequest(
                text="Give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD&format=md|html|docx"
            ) from None
        if day_to < day_from:
            raise web.HTTPBadRequest(text="The period's end (to) is before its start (from).")
        return day_from, day_to

    async def report(self, request: web.Request) -> web.Response:
        fmt = request.query.get("format", "html")
        if fmt not in ("md", "html", "docx"):
            raise web.HTTPBadRequest(text="format is md, html or docx; to is not before from")
        as_of = self._filters(request).as_of
        day_from, day_to = self._period(request, as_of)
        s = self.settings

        def draft() -> bytes | str:
            data = build_report(
                self.reader, day_from=day_from, day_to=day_to, tz=s.tz, start_month=s.fy_start_month
            )
            if fmt == "docx":
                return render_docx(data)
            if fmt == "md":
                return render_report(data, "markdown")
            body = report_body(render_report(data, "html"))
            page = self._page(request, as_of)
            return render_report_page(page, day_from=day_from, day_to=day_to, body=body)

        body = await self.reader.call(draft)
        name = f"report-{day_from}-{day_to}"
        if isinstance(body, bytes):
            return web.Response(
                body=body,
                content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                headers={"Content-Disposition": f'attachment; filename="{name}.docx"'},
            )
        if fmt == "md":
            return web.Response(text=body, content_type="text/markdown", charset="utf-8")
        return web.Response(text=body, content_type="text/html")

    async def accessibility(self, request: web.Request) -> web.Response:
        as_of = self._filters(request).as_of
        s = self.settings

        def html() -> str:
            page = self._page(request, as_of)
            contact = s.accessibility_contact
            return render_statement(page, contact=contact, reply_days=s.answer_target_days)

        return web.Response(text=await self.reader.call(html), content_type="text/html")

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
        as_of = self._filters(request).as_of

        def png() -> bytes:
            page = self._page(request, as_of)
            counts = Counter(r.status for r in self._rows(page))
            mail = self._mail(as_of or self._today())
            return digest_chart(mail.weekly, {st: counts.get(st, 0) for st in Status})

        return web.Response(body=await self.reader.call(png), content_type="image/png")

    async def stylesheet(self, request: web.Request) -> web.Response:
        css = resources.files("digests").joinpath("templates/board.css").read_text()
        return web.Response(text=css, content_type="text/css")


def add_board_routes(
    app: web.Application,
    *,
    settings: Settings,
    reader: Store,
    clock: Callable[[], dt.datetime],
) -> None:
    """Register /board and its pages (GET only: nothing on the board can write)."""
    assert settings.board_token
    board = Board(settings=settings, reader=reader, clock=clock)
    app.middlewares.append(board_guard(settings.board_token))
    app.router.add_get("/board", board.index)
    app.router.add_get("/board/board.css", board.stylesheet)
    app.router.add_get("/board/chart.png", board.chart)
    app.router.add_get("/board/report", board.report)
    app.router.add_get("/board/export.csv", board.export_csv)
    app.router.add_get("/board/export.xlsx", board.export_xlsx)
    app.router.add_get("/board/accessibility", board.accessibility)
    app.router.add_get("/board/{ref}", board.item)
