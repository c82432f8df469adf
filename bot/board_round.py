"""``/board/round/NAME``: a paper round at a glance on the board (read-only, behind the
board's token, through the board's own reader; plain HTML under the board's CSP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from digests.round_status import render_round_page

__all__ = ["round_page"]


def round_page(board: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler, over a :class:`bot.board.Board` (its reader, settings and clock)."""

    async def page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        reader = board.reader

        def render() -> str | None:
            book = reader.round_book(name) if len(name) <= 40 else None
            if book is None:
                return None
            return render_round_page(book, page=board._page(request, None), tz=board.office.tz)

        text = await reader.call(render)
        if text is None:
            raise web.HTTPNotFound(text="No round of that name.")
        return web.Response(text=text, content_type="text/html")

    return page
