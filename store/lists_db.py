"""The plan's lists as queries over the maintained current state: counts by status, and the
open deliverables that are overdue, stale or due this quarter (what the digest groups by
owner), so a read costs what the plan costs, not a Python pass over every deliverable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.base import Base, iso
from store.quarters import due_end
from store.status import Status

__all__ = ["Flagged", "ListReads"]

# A deliverable's status and due quarter now: its history's (``current_state``), or the
# deliverable's own fields when it has no history (as ``states_at`` falls back).
_NOW = (
    "SELECT d.id, d.owner_id, d.added_on, t.position AS tp, d.position AS dp,"
    " CASE WHEN c.last_update_id IS NOT NULL THEN COALESCE(c.status, 'not-started')"
    "  ELSE d.status END AS status,"
    " CASE WHEN c.last_update_id IS NOT NULL THEN c.due ELSE d.due END AS due,"
    " COALESCE(c.last_at, d.added_on || 'T00:00:00+00:00') AS last_at"
    " FROM deliverables d JOIN themes t ON t.id = d.theme_id"
    " LEFT JOIN current_state c ON c.deliverable_id = d.id WHERE d.added_on <= ?"
)


@dataclass(frozen=True)
class Flagged:
    """An open deliverable that needs attention, and why: overdue, stale or due_soon."""

    deliverable_id: int
    owner_id: int | None
    kind: str


def _marks(statuses: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in statuses) or "''"


class ListReads(Base):
    """Counts and attention lists over ``current_state`` (the plan as it stands now)."""

    def status_counts(self, *, added_by: dt.date) -> dict[Status, int]:
        """How many deliverables (added by ``added_by``) are in each status now."""
        rows = self._db.execute(
            f"SELECT status, COUNT(*) FROM ({_NOW}) GROUP BY status", [added_by.isoformat()]
        ).fetchall()
        counts = {s: 0 for s in Status}
        for status, n in rows:
            counts[Status(status)] += n
        return counts

    def flagged(
        self,
        *,
        added_by: dt.date,
        now: dt.datetime,
        stale_weeks: int,
        quarter_first: dt.date,
        quarter_last: dt.date,
        start_month: int,
    ) -> list[Flagged]:
        """Open deliverables (not completed, not on hold) that are overdue (due before this
        quarter), else stale (no update for ``stale_weeks``), else due by the quarter's
        end, in plan order. The due quarters are parsed once each, not once a row."""
        day = added_by.isoformat()
        dues = [
            r[0]
            for r in self._db.execute(
                f"SELECT DISTINCT due FROM ({_NOW}) WHERE due IS NOT NULL", [day]
            ).fetchall()
        ]
        ends = [(d, e.isoformat()) for d in dues if (e := due_end(d, start_month=start_month))]
        table = " UNION ALL ".join("SELECT ? AS due, ? AS ends" for _ in ends)
        values = [v for pair in ends for v in pair]
        no_overdue = _marks([s.value for s in Status if s.exempt_from_overdue])
        no_stale = _marks([s.value for s in Status if s.exempt_from_stale])
        sql = (
            f"WITH now AS ({_NOW}), ends AS ({table or 'SELECT NULL AS due, NULL AS ends'})"
            " SELECT id, owner_id, kind FROM (SELECT n.*, CASE"
            f"  WHEN n.status NOT IN ({no_overdue}) AND e.ends < ? THEN 'overdue'"
            f"  WHEN n.status NOT IN ({no_stale}) AND n.last_at <= ? THEN 'stale'"
            f"  WHEN n.status NOT IN ({no_overdue}) AND e.ends <= ? THEN 'due_soon'"
            "  END AS kind FROM now n LEFT JOIN ends e ON e.due = n.due"
            "  WHERE n.status NOT IN ('completed', 'on-hold'))"
            " WHERE kind IS NOT NULL ORDER BY tp, dp, id"
        )
        cutoff = iso(now - dt.timedelta(weeks=stale_weeks))
        params = [day, *values, quarter_first.isoformat(), cutoff, quarter_last.isoformat()]
        return [Flagged(r[0], r[1], r[2]) for r in self._db.execute(sql, params).fetchall()]
