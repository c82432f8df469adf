"""Acks first: the work a listener leaves after its ``ack()`` waits until no request is being
answered at the HTTP edge.

Bolt's ``AsyncApp`` runs a listener as a task and answers the HTTP request once that task has
called ``ack()`` (it looks every 10 ms). Under a burst of commands, the work one command does
after its ack (the store, building the reply, ``respond()``) ran on the event loop between
the acks of the others and lengthened their tail. The edge counts the requests it is still
answering (:meth:`AcksFirst.answering`); listeners ``await wait()`` before each step of that
work, so it starts once every ack in flight has been sent and no new request has come for
``QUIET`` (the rest of a burst is still arriving), or after ``MAX_WAIT`` at the latest (a
steady stream of requests never starves it). In Socket Mode nothing is counted, so nothing
waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ["MAX_WAIT", "QUIET", "AcksFirst"]

MAX_WAIT = 0.5  # seconds the work after an ack may be held back by other requests' acks
QUIET = 0.02  # seconds without a request before held-back work goes ahead


class AcksFirst:
    def __init__(self, max_wait: float = MAX_WAIT, quiet: float = QUIET) -> None:
        self.max_wait = max_wait
        self.quiet = quiet
        self._answering = 0
        self._last_answer = -float("inf")  # loop time the last answer was written
        self._waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def answering_now(self) -> int:
        return self._answering

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to one HTTP request. The count drops only after the handler's
        task next yields, that is once aiohttp has written the answer out."""
        self._answering += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            yield
        finally:
            asyncio.get_running_loop().call_soon(self._answered)

    def _answered(self) -> None:
        self._answering -= 1
        if self._answering == 0:
            loop = asyncio.get_running_loop()
            self._last_answer = loop.time()
            if self._waiters and self._timer is None:
                self._timer = loop.call_later(self.quiet, self._release)

    def _release(self) -> None:
        self._timer = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once no request has been answered for ``quiet`` (at once if none has), or
        after ``max_wait``."""
        loop = asyncio.get_running_loop()
        if self._answering == 0:
            left = self._last_answer + self.quiet - loop.time()
            if left <= 0:
                return
            if self._timer is None:
                self._timer = loop.call_later(left, self._release)
        waiter = loop.create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.max_wait)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
