"""Replies kept while the data they show is unchanged.

``/deliverable list`` builds its message from every deliverable: at a hundred offices'
worth of plan that is most of a second of CPU on the reader's thread, and a burst of the same
command did it once per request. A reply is kept under the store's data version (``PRAGMA
data_version``: any commit by another connection changes it), the command, the caller and the
minute it was built for (its "updated 3 days ago" ages are counted in days), and requests for
the same reply while it is being built wait for that one build.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

__all__ = ["ReplyCache"]

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
