"""Queries about the plan: meta, people, themes, deliverables and their updates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from store.base import Base, _deliverable, _person, _theme, _update, iso, utc_now
from store.model import (
    Baseline,
    Deliverable,
    DeliverableView,
    Person,
    Source,
    Status,
    Theme,
    Update,
)

__all__ = ["PlanQueries"]


class PlanQueries(Base):
    # -- meta -----------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def baseline(self) -> Baseline | None:
        """The baseline import, when the first import had no ``start:``."""
        on, last = self.get_meta("baseline_on"), self.get_meta("baseline_last_id")
        if on is None or last is None:
            return None
        return Baseline(dt.date.fromisoformat(on), int(last))

    def history_starts(self) -> dt.date | None:
        """The first day the record covers: the plan's ``start:``, or the baseline import."""
        start = self.get_meta("plan_start")
        if start:
            return dt.date.fromisoformat(start)
        base = self.baseline()
        return base.on if base else None

    # -- people ---------------------------------------------------------
    def people(self) -> list[Person]:
        return [_person(r) for r in self._rows("SELECT * FROM people ORDER BY name")]

    def person(self, person_id: int) -> Person | None:
        row = self._one("SELECT * FROM people WHERE id = ?", [person_id])
        return _person(row) if row else None

    def person_by_email(self, email: str) -> Person | None:
        row = self._one("SELECT * FROM people WHERE lower(email) = lower(?)", [email.strip()])
        return _person(row) if row else None

    def person_by_slack_id(self, slack_id: str) -> Person | None:
        row = self._one("SELECT * FROM people WHERE slack_id = ?", [slack_id])
        return _person(row) if row else None

    def save_person(
        self, *, name: str, email: str, slack_id: str | None = None, role: str = "staff"
    ) -> tuple[int, bool]:
        """Insert or update a person keyed on email; returns (id, changed)."""
        row = self._one("SELECT * FROM people WHERE lower(email) = lower(?)", [email.strip()])
        return self._upsert(
            "people", row, {"email": email}, {"name": name, "slack_id": slack_id, "role": role}
        )

    def person_by_mail_token(self, token: str) -> Person | None:
        row = self._one("SELECT * FROM people WHERE mail_token = ?", [token.strip().lower()])
        return _person(row) if row else None

    def mail_token(self, person_id: int) -> str | None:
        row = self._one("SELECT mail_token FROM people WHERE id = ?", [person_id])
        return row["mail_token"] if row else None

    def set_mail_token(self, person_id: int, token: str) -> None:
        self._set("people", person_id, {"mail_token": token})

    def set_person_slack_id(self, person_id: int, slack_id: str) -> None:
        self._set("people", person_id, {"slack_id": slack_id})

    def set_person_away(self, person_id: int, until: dt.date | None) -> None:
        self._set("people", person_id, {"away_until": until.isoformat() if until else None})

    # -- themes ---------------------------------------------------------
    def themes(self) -> list[Theme]:
        return [_theme(r) for r in self._rows("SELECT * FROM themes ORDER BY position, id")]

    def theme_by_code(self, code: str) -> Theme | None:
        row = self._one("SELECT * FROM themes WHERE upper(code) = upper(?)", [code])
        return _theme(row) if row else None

    def save_theme(self, *, code: str, name: str, aim: str, position: int) -> tuple[int, bool]:
        row = self._one("SELECT * FROM themes WHERE code = ?", [code])
        return self._upsert(
            "themes", row, {"code": code}, {"name": name, "aim": aim, "position": position}
        )

    # -- deliverables ---------------------------------------------------
    def deliverables(self, *, theme_id: int | None = None) -> list[Deliverable]:
        sql = (
            "SELECT d.* FROM deliverables d JOIN themes t ON t.id = d.theme_id "
            "{where} ORDER BY t.position, d.position, d.id"
        )
        if theme_id is None:
            return [_deliverable(r) for r in self._rows(sql.format(where=""))]
        return [
            _deliverable(r)
            for r in self._rows(sql.format(where="WHERE d.theme_id = ?"), [theme_id])
        ]

    def deliverable(self, deliverable_id: int) -> Deliverable | None:
        row = self._one("SELECT * FROM deliverables WHERE id = ?", [deliverable_id])
        return _deliverable(row) if row else None

    def deliverable_by_ref(self, ref: str) -> Deliverable | None:
        row = self._one("SELECT * FROM deliverables WHERE upper(ref) = upper(?)", [ref.strip()])
        return _deliverable(row) if row else None

    def refs_for_theme(self, theme_id: int) -> list[str]:
        return [
            r["ref"]
            for r in self._rows("SELECT ref FROM deliverables WHERE theme_id = ?", [theme_id])
        ]

    def insert_deliverable(
        self,
        *,
        ref: str,
        theme_id: int,
        title: str,
        status: Status,
        owner_id: int | None,
        due: str | None,
        dependencies: bool,
        added_on: dt.date,
        position: int,
    ) -> int:
        return self._insert(
            "deliverables",
            {
                "ref": ref,
                "theme_id": theme_id,
                "title": title,
                "status": str(status),
                "owner_id": owner_id,
                "due": due,
                "dependencies": int(dependencies),
                "added_on": added_on.isoformat(),
                "position": position,
            },
        )

    def set_deliverable_fields(self, deliverable_id: int, **values: Any) -> None:
        """Change descriptive fields (title, owner_id, position, theme_id) or the current state
        (status, due, dependencies). State changes must be paired with an appended update."""
        allowed = {"title", "owner_id", "position", "theme_id", "status", "due", "dependencies"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown deliverable fields: {sorted(unknown)}")
        clean = {
            k: (str(v) if isinstance(v, Status) else int(v) if isinstance(v, bool) else v)
            for k, v in values.items()
        }
        self._set("deliverables", deliverable_id, clean)

    # -- updates --------------------------------------------------------
    def append_update(
        self,
        *,
        deliverable_id: int,
        person_id: int | None,
        source: Source,
        note: str,
        status_before: Status | None,
        status_after: Status | None,
        due_before: str | None,
        due_after: str | None,
        dependencies: bool | None = None,
        recorded_at: dt.datetime | None = None,
        link: str | None = None,
        summary: bool = False,
    ) -> int:
        return self._insert(
            "updates",
            {
                "deliverable_id": deliverable_id,
                "person_id": person_id,
                "recorded_at": iso(recorded_at or utc_now()),
                "source": str(source),
                "status_before": str(status_before) if status_before else None,
                "status_after": str(status_after) if status_after else None,
                "due_before": due_before,
                "due_after": due_after,
                "dependencies": None if dependencies is None else int(dependencies),
                "note": note,
                "link": link,
                "summary": 1 if summary else None,
            },
        )

    def updates(
        self,
        *,
        deliverable_id: int | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[Update]:
        where: list[str] = []
        params: list[Any] = []
        if deliverable_id is not None:
            where.append("deliverable_id = ?")
            params.append(deliverable_id)
        if since is not None:
            where.append("recorded_at >= ?")
            params.append(iso(since))
        if until is not None:
            where.append("recorded_at < ?")
            params.append(iso(until))
        sql = "SELECT * FROM updates"
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = "DESC" if newest_first else "ASC"
        # History is ordered by its strictly increasing sequence, never by a clock value:
        # an import stamped later than a same-day update must not hide it.
        sql += f" ORDER BY id {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_update(r) for r in self._rows(sql, params)]

    def last_updates(self) -> dict[int, Update]:
        """The newest update of every deliverable that has one."""
        rows = self._rows(
            "SELECT u.* FROM updates u JOIN ("
            "  SELECT MAX(id) AS id FROM updates GROUP BY deliverable_id"
            ") m ON m.id = u.id"
        )
        return {r["deliverable_id"]: _update(r) for r in rows}

    def overview(self) -> list[DeliverableView]:
        """Every deliverable in plan order, with its theme, owner and newest update."""
        themes = {t.id: t for t in self.themes()}
        people = {p.id: p for p in self.people()}
        last = self.last_updates()
        return [
            DeliverableView(
                deliverable=d,
                theme=themes[d.theme_id],
                owner=people.get(d.owner_id) if d.owner_id is not None else None,
                last_update=last.get(d.id),
            )
            for d in self.deliverables()
        ]
