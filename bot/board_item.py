"""One deliverable's board row and history, read for that deliverable alone.

``/board/REF`` used to build every row of the board to keep one. Here the board's own row
builder (:func:`digests.board.board_rows`) runs over a view of the store that holds only
this deliverable: its states and last update come from its own history (read once, and
shown on the page anyway), so the row is the board's row by construction, at the cost of
one deliverable. Reads the view does not narrow go to the store unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from digests.board import BoardRow, board_rows
from store import AsOf, Deliverable, Office, Reader, Status, Update

__all__ = ["item_row"]


class _OneDeliverable:
    """The store as board_rows reads it, narrowed to one deliverable and its history."""

    def __init__(self, reader: Reader, deliverable: Deliverable, history: list[Update]) -> None:
        self._reader = reader
        self._deliverable = deliverable
        self._history = history  # oldest first

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def deliverables(self, *, theme_id: int | None = None) -> list[Deliverable]:
        d = self._deliverable
        return [d] if theme_id is None or d.theme_id == theme_id else []

    def _before(self, until: dt.datetime | None) -> list[Update]:
        return [u for u in self._history if until is None or u.recorded_at < until]

    def last_updates(self, *, until: dt.datetime | None = None) -> dict[int, Update]:
        rows = self._before(until)
        return {self._deliverable.id: rows[-1]} if rows else {}

    def states_at(self, until: dt.datetime) -> dict[int, AsOf]:
        """As :meth:`store.Reader.states_at` works it out, from this one history."""
        rows = self._before(until)
        if not rows:
            return {}
        status = Status.NOT_STARTED
        deps = False
        done: dt.datetime | None = None
        done_nc: dt.datetime | None = None
        for u in rows:
            if u.status_after is not None:
                if u.status_after is Status.COMPLETED and u.status_before is not Status.COMPLETED:
                    done = u.recorded_at
                    if u.status_before is not None:
                        done_nc = u.recorded_at
                status = u.status_after
            if u.dependencies is not None:
                deps = u.dependencies
        last = rows[-1]
        return {
            self._deliverable.id: AsOf(
                status=status,
                due=last.due_after,
                dependencies=deps,
                last_at=last.recorded_at,
                completed_at=done,
                completed_after_creation=done_nc,
            )
        }


def item_row(
    reader: Reader,
    deliverable: Deliverable,
    history: list[Update],
    *,
    office: Office,
    as_of: dt.date | None,
    new_since: dt.date | None,
) -> BoardRow | None:
    """The board's row for ``deliverable`` (``None`` if it did not exist on ``as_of``), from
    ``history``: all its updates, oldest first (in sequence order)."""
    view = cast(Reader, _OneDeliverable(reader, deliverable, history))
    rows = board_rows(view, office=office, as_of=as_of, new_since=new_since)
    return rows[0] if rows else None
