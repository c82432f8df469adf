"""The one way to write, for code that runs outside the service: a ``Writer``.

Slack's listeners, the mail worker and the jobs hold a :class:`~store.Reader` for what they
read and a ``Writer`` for what they record. ``await writer.call(record_update, request)``
runs the service function on the store's own thread, in its turn, with the store as its
first argument: the route is in the call, and the store is passed once. Nothing outside
``handlers.service`` is given the ``Store`` itself, so the type checker refuses a write
made anywhere else (in the spirit of Datasette's ``execute_write_fn``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from store import Reader, Store

__all__ = ["Writer"]

P = ParamSpec("P")
T = TypeVar("T")


class Writer:
    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def reader(self) -> Reader:
        """The same connection, read-only in type: for reads that must see this writer's
        own commits at once (a Slack form's second step, the parse queue)."""
        return self._store

    async def call(
        self, fn: Callable[Concatenate[Store, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(store, *args, **kwargs)`` on the store's thread: ``fn`` is a service function."""
        return await self._store.call(fn, self._store, *args, **kwargs)

    def run(
        self, fn: Callable[Concatenate[Store, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The same, on the calling thread (for code already on the store's thread)."""
        return fn(self._store, *args, **kwargs)
