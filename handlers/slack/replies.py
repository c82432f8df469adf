"""Replies kept while the data they show is unchanged.

``/deliverable list`` builds its message from every deliverable: at a hundred offices'
worth of plan that is most of a second of CPU on the reader's thread, and a burst of the same
command did it once per request. A reply is kept under the store's data version (``PRAGMA
data_version``: any commit by another connection changes it), the command, the caller and the
minute it was built for (its "updated 3 days ago" ages are counted in days), and requests for
the same reply while it is being built wait for that one build.

Replies go out to ``response_url`` on one kept-alive HTTP session (:class:`KeptAliveRespond`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

__all__ = ["KeptAliveRespond", "ReplyCache", "ReplyConnection"]

Reply = dict[str, Any]


class ReplyCache:
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, asyncio.Future[Reply]] = OrderedDict()

    async def get(self, key: Hashable, build: Callable[[], Awaitable[Reply]]) -> Reply:
        """The reply kept under ``key``, else ``build()``'s (kept only if it succeeds)."""
        kept = self._kept.get(key)
        if kept is not None and not (kept.done() and kept.exception() is not None):
            self._kept.move_to_end(key)
            return _copy(await asyncio.shield(kept))
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._kept[key] = future
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        try:
            reply = await build()
        except BaseException as exc:
            if self._kept.get(key) is future:
                del self._kept[key]
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        future.set_result(reply)
        return _copy(reply)


def _copy(reply: Reply) -> Reply:
    """A shallow copy per caller (``respond(**reply)`` must not share a dict it may change)."""
    return dict(reply)


class KeptAliveRespond(AsyncRespond):
    """Bolt's ``respond()`` over one kept-alive HTTP session (Bolt's own opens a new session,
    and with it a new connection and TLS handshake, for every reply)."""

    def __init__(self, *, response_url: str, connection: ReplyConnection, **kwargs: Any) -> None:
        super().__init__(response_url=response_url, **kwargs)
        self._connection = connection

    async def __call__(  # type: ignore[override]  # the same arguments, passed on
        self, text: str | dict[str, Any] = "", **kwargs: Any
    ) -> WebhookResponse:
        assert self.response_url is not None
        client = AsyncWebhookClient(
            url=self.response_url,
            proxy=self.proxy,
            ssl=self.ssl,
            session=self._connection.session(),
        )
        if isinstance(text, dict):
            return await client.send_dict(_build_message(**text))
        return await client.send_dict(_build_message(text=text, **kwargs))


class ReplyConnection:
    """The HTTP session replies to ``response_url`` go out on, opened on first use in the
    running loop and closed by :meth:`close` (``SlackDeps.drain`` at shutdown)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session, self._loop = aiohttp.ClientSession(), loop
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
