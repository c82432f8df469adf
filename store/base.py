"""What every part of the store shares: the connection, row helpers and conversions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlite_utils import Database

from store.model import (
    Deliverable,
    Person,
    Role,
    Source,
    Status,
    Theme,
    Update,
)
from store.office import utc_now

__all__ = ["Base", "iso", "parse_ts", "utc_now"]


def iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def recorded_between(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[list[str], list[str]]:
    """The WHERE terms and parameters for updates recorded in [since, until)."""
    where: list[str] = []
    params: list[str] = []
    if since is not None:
        where.append("recorded_at >= ?")
        params.append(iso(since))
    if until is not None:
        where.append("recorded_at < ?")
        params.append(iso(until))
    return where, params


def parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _person(row: dict[str, Any]) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=Role(row["role"] or "staff"),
        away_until=dt.date.fromisoformat(row["away_until"]) if row["away_until"] else None,
        identities=_identities(row.get("identities")),
    )


# A person's identities, as one column of a people query (see ``PEOPLE``): channel and id
# in pairs, separated by ASCII unit and record separators (never in a channel or an id).
PEOPLE = (
    "SELECT p.*, (SELECT group_concat(i.channel || char(31) || i.external_id, char(30)) "
    "FROM identities i WHERE i.person_id = p.id) AS identities FROM people p"
)


def _identities(packed: str | None) -> tuple[tuple[str, str], ...]:
    if not packed:
        return ()
    pairs = (item.split("\x1f", 1) for item in packed.split("\x1e"))
    return tuple(sorted((channel, external) for channel, external in pairs))


def _theme(row: dict[str, Any]) -> Theme:
    return Theme(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        aim=row["aim"] or "",
        position=row["position"],
    )


def _deliverable(row: dict[str, Any]) -> Deliverable:
    return Deliverable(
        id=row["id"],
        ref=row["ref"],
        theme_id=row["theme_id"],
        title=row["title"],
        status=Status(row["status"]),
        owner_id=row["owner_id"],
        due=row["due"],
        dependencies=bool(row["dependencies"]),
        added_on=dt.date.fromisoformat(row["added_on"]),
        position=row["position"],
    )


def _update(row: dict[str, Any]) -> Update:
    return Update(
        id=row["id"],
        deliverable_id=row["deliverable_id"],
        person_id=row["person_id"],
        recorded_at=parse_ts(row["recorded_at"]),
        source=Source(row["source"]),
        status_before=Status(row["status_before"]) if row["status_before"] else None,
        status_after=Status(row["status_after"]) if row["status_after"] else None,
        due_before=row["due_before"],
        due_after=row["due_after"],
        note=row["note"],
        dependencies=None if row["dependencies"] is None else bool(row["dependencies"]),
        summary=bool(row.get("summary")),
        of_note=bool(row.get("of_note")),
    )


class Base:
    """One connection (``_db``) and the small helpers every group of queries uses."""

    _db: Database

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return list(self._db.query(sql, params))

    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _insert(self, table: str, record: dict[str, Any]) -> int:
        cols = ", ".join(record)
        marks = ", ".join("?" for _ in record)
        cur = self._db.execute(
            f"INSERT INTO [{table}] ({cols}) VALUES ({marks})", list(record.values())
        )
        return int(cur.lastrowid or 0)

    def _set(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self._db.execute(f"UPDATE [{table}] SET {sets} WHERE id = ?", [*values.values(), row_id])

    def _upsert(
        self,
        table: str,
        row: dict[str, Any] | None,
        key: dict[str, Any],
        values: dict[str, Any],
    ) -> tuple[int, bool]:
        """Insert ``key`` and ``values`` when ``row`` (the existing one) is ``None``, else
        bring its ``values`` up to date. Returns (id, whether anything changed)."""
        if row is None:
            return self._insert(table, {**key, **values}), True
        if any(row[k] != v for k, v in values.items()):
            self._set(table, row["id"], values)
            return row["id"], True
        return row["id"], False
