"""Acks first: the work a listener leaves after its ``ack()`` waits until no request is being
answered at the HTTP edge.

Bolt's ``AsyncApp`` runs a listener as a task and answers the HTTP request once that task has
called ``ack()`` (it looks every 10 ms). Under a burst of commands, the work one command does
after its ack (the store, building the reply, ``respond()``) ran on the event loop between
the acks of the others and lengthened their tail. The edge counts the requests it is still
answering (:meth:`AcksFirst.answering`); listeners ``await wait()`` before each step of that
work, so it starts once every ack in flight has been sent, or after ``MAX_WAIT`` at the latest
(a steady stream of requests never starves it). In Socket Mode nothing is counted, so nothing
waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ["MAX_WAIT", "AcksFirst"]

MAX_WAIT = 1.0  # seconds the work after an ack may be held back by other requests' acks


class AcksFirst:
    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._answering = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def answering_now(self) -> int:
        return self._answering

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to one HTTP request. The count drops only after the handler's
        task next yields, that is once aiohttp has written the answer out."""
        self._answering += 1
        try:
            yield
        finally:
            asyncio.get_running_loop().call_soon(self._answered)

    def _answered(self) -> None:
        self._answering -= 1
        if self._answering == 0:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def wait(self) -> None:
        """Return once no request is being answered (at once if none is), or after
        ``max_wait``."""
        if self._answering == 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.max_wait)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
