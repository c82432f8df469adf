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
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from bot.config import Settings
from digests.board import BoardFilters, board_rows, render_board, render_item
from digests.chart import digest_chart
from digests.digest import build_digest
from digests.paper import build_paper, render_paper_docx, stored_wording
from digests.plan_table import plan_rows, to_csv, to_xlsx
from digests.report import build_report, render_report
from store import Store

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
        fmt = request.query.get("format", "md")
        try:
            day_from = dt.date.fromisoformat(request.query.get("from", ""))
            day_to = dt.date.fromisoformat(request.query.get("to", ""))
        except ValueError:
            raise web.HTTPBadRequest(
                text="Give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD&format=md|html|docx"
            ) from None
        if fmt not in ("md", "html", "docx") or day_to < day_from:
            raise web.HTTPBadRequest(text="format is md, html or docx; to is not before from")
        s = self.settings

        def draft() -> bytes | str:
            data = build_report(
                self.reader, day_from=day_from, day_to=day_to, tz=s.tz, start_month=s.fy_start_month
            )
            if fmt == "docx":  # the whole paper, as `deliverabot report --format docx`
                paper = build_paper(self.reader, data, stored_wording(self.reader))
                return render_paper_docx(data, paper)
            return render_report(data, "markdown" if fmt == "md" else "html")

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

        def png() -> bytes:
            year, week, _ = self.clock().astimezone(s.tz).date().isocalendar()
            digest = build_digest(
                self.reader, year=year, week=week, tz=s.tz, start_month=s.fy_start_month
            )
            weekly = digest.correspondence.weekly if digest.correspondence else []
            return digest_chart(weekly, digest.status_counts)

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
    app.router.add_get("/board/{ref}", board.item)
