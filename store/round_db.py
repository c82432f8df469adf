"""Queries about paper rounds: the round, its lines, its append-only events, and the
folded book every channel reads (:meth:`RoundQueries.round_book`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from store.base import Base, iso, parse_ts
from store.round import (
    DraftLine,
    EventKind,
    Round,
    RoundBook,
    RoundEvent,
    RoundLine,
    fold,
)

__all__ = ["RoundReads", "RoundWrites"]


def _round(row: dict[str, Any]) -> Round:
    return Round(
        name=row["name"],
        period_from=dt.date.fromisoformat(row["period_from"]),
        period_to=dt.date.fromisoformat(row["period_to"]),
        panel_on=dt.date.fromisoformat(row["panel_on"]),
        due_on=dt.date.fromisoformat(row["due_on"]),
        opened_at=parse_ts(row["opened_at"]),
        opened_by=row["opened_by"],
        closed_at=parse_ts(row["closed_at"]) if row["closed_at"] else None,
        closed_by=row["closed_by"],
    )


def _line(row: dict[str, Any]) -> RoundLine:
    return RoundLine(
        round=row["round"],
        deliverable_id=row["deliverable_id"],
        ref=row["ref"],
        title=row["title"],
        theme_code=row["theme_code"] or "",
        section=row["section"],
        owner_id=row["owner_id"],
        draft=row["draft"],
        position=row["position"],
    )


def _event(row: dict[str, Any]) -> RoundEvent:
    return RoundEvent(
        id=row["id"],
        round=row["round"],
        deliverable_id=row["deliverable_id"],
        kind=EventKind(row["kind"]),
        person_id=row["person_id"],
        at=parse_ts(row["at"]),
        text=row["text"],
        comment=row["comment"],
        owner_id=row["owner_id"],
        update_id=row["update_id"],
        source=row["source"],
    )


class RoundReads(Base):
    """Reads of the paper rounds."""

    def round(self, name: str) -> Round | None:
        row = self._one("SELECT * FROM rounds WHERE name = ?", [name.strip().lower()])
        return _round(row) if row else None

    def rounds(self, *, open_only: bool = False) -> list[Round]:
        where = " WHERE closed_at IS NULL" if open_only else ""
        return [_round(r) for r in self._rows(f"SELECT * FROM rounds{where} ORDER BY opened_at")]

    def round_lines(self, name: str) -> list[RoundLine]:
        rows = self._rows("SELECT * FROM round_lines WHERE round = ? ORDER BY position", [name])
        return [_line(r) for r in rows]

    def round_events(self, name: str, *, deliverable_id: int | None = None) -> list[RoundEvent]:
        sql, params = "SELECT * FROM round_events WHERE round = ?", [name]
        if deliverable_id is not None:
            sql += " AND deliverable_id = ?"
            params.append(deliverable_id)  # type: ignore[arg-type]
        return [_event(r) for r in self._rows(sql + " ORDER BY id", params)]

    def round_event(self, event_id: int) -> RoundEvent | None:
        row = self._one("SELECT * FROM round_events WHERE id = ?", [event_id])
        return _event(row) if row else None

    def round_event_by_key(self, key: str) -> RoundEvent | None:
        row = self._one("SELECT * FROM round_events WHERE idempotency_key = ?", [key])
        return _event(row) if row else None

    def round_book(self, name: str) -> RoundBook | None:
        """The round with every line folded from its events, and the names to show."""
        found = self.round(name)
        if found is None:
            return None
        events: dict[int, list[RoundEvent]] = {}
        for e in self.round_events(found.name):
            events.setdefault(e.deliverable_id, []).append(e)
        views = tuple(
            fold(line, events.get(line.deliverable_id, ())) for line in self.round_lines(found.name)
        )
        people = {r["id"]: r["name"] for r in self._rows("SELECT id, name FROM people")}
        themes = {
            r["code"]: r["name"]
            for r in self._rows("SELECT code, name FROM themes ORDER BY position")
        }
        return RoundBook(found, views, people, themes)


class RoundWrites(Base):
    """Writes of the paper rounds (called by handlers.service only, in its transactions)."""

    def insert_round(
        self,
        round_: Round,
        lines: Sequence[DraftLine],
    ) -> None:
        self._insert(
            "rounds",
            {
                "name": round_.name,
                "period_from": round_.period_from.isoformat(),
                "period_to": round_.period_to.isoformat(),
                "panel_on": round_.panel_on.isoformat(),
                "due_on": round_.due_on.isoformat(),
                "opened_at": iso(round_.opened_at),
                "opened_by": round_.opened_by,
            },
        )
        self._db.conn.executemany(
            "INSERT INTO round_lines (round, deliverable_id, ref, title, theme_code, section, "
            "owner_id, draft, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    round_.name,
                    d.deliverable_id,
                    d.ref,
                    d.title,
                    d.theme_code,
                    d.section,
                    d.owner_id,
                    d.text,
                    i,
                )
                for i, d in enumerate(lines)
            ],
        )

    def append_round_event(
        self,
        *,
        round_name: str,
        deliverable_id: int,
        kind: EventKind,
        person_id: int | None,
        at: dt.datetime,
        key: str | None,
        text: str | None = None,
        comment: str | None = None,
        owner_id: int | None = None,
        update_id: int | None = None,
        source: str | None = None,
    ) -> int | None:
        """Append one event; ``None`` when an event with this key exists already."""
        cur = self._db.execute(
            "INSERT INTO round_events (round, deliverable_id, kind, person_id, at, text, "
            "comment, owner_id, update_id, source, idempotency_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
            [
                round_name,
                deliverable_id,
                str(kind),
                person_id,
                iso(at),
                text,
                comment,
                owner_id,
                update_id,
                source,
                key,
            ],
        )
        return int(cur.lastrowid or 0) if cur.rowcount == 1 else None

    def set_round_closed(self, name: str, *, at: dt.datetime, by: int | None) -> bool:
        cur = self._db.execute(
            "UPDATE rounds SET closed_at = ?, closed_by = ? WHERE name = ? AND closed_at IS NULL",
            [iso(at), by, name],
        )
        return cur.rowcount == 1
