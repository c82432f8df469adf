"""Input from outside, counted rather than logged: one line per reason per minute.

Anyone can send a request or a malformed line, as fast as they like; a line (let alone a
traceback) for each would let them fill the disk. :class:`ReasonLog` logs the first of each
reason at once and then at most one line a minute per reason, with the count since the last.
Reasons are fixed strings from our code, never text from the request, so they stay few.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ReasonLog"]


@dataclass
class _Seen:
    last: float
    count: int = 0


class ReasonLog:
    """``note(reason)`` for each event; a line at most every ``interval`` seconds per reason."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        level: int = logging.WARNING,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what  # e.g. "Slack: refused a request"
        self.level = level
        self.interval = interval
        self.clock = clock
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()  # notes come from the loop and from logging's threads
        self.total = 0

    def note(self, reason: str, detail: str = "") -> None:
        """Count one event; ``detail`` (shortened) goes into a line, never into the key."""
        now = self.clock()
        with self._lock:
            self.total += 1
            seen = self._seen.get(reason)
            if seen is None:
                self._seen[reason] = _Seen(last=now)
                count, first = 1, True
            else:
                seen.count += 1
                if now - seen.last < self.interval:
                    return
                count, first = seen.count, False
                seen.last, seen.count = now, 0
        extra = f" ({_short(detail)})" if detail else ""
        if first:
            self.logger.log(
                self.level,
                "%s: %s%s; more of these are counted, one line a minute",
                self.what,
                reason,
                extra,
            )
        else:
            self.logger.log(
                self.level, "%s: %s%s; %d since the last line", self.what, reason, extra, count
            )

    def flush(self) -> None:
        """One line for each reason counted since its last line (at shutdown)."""
        with self._lock:
            pending = [(r, s.count) for r, s in self._seen.items() if s.count]
            for seen in self._seen.values():
                seen.count = 0
        for reason, count in pending:
            self.logger.log(self.level, "%s: %s; %d since the last line", self.what, reason, count)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
