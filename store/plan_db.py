"""Queries about the plan: meta, people, themes, deliverables and their updates."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from store import current_state
from store.base import (
    PEOPLE,
    Base,
    _deliverable,
    _person,
    _theme,
    _update,
    iso,
    parse_ts,
    recorded_between,
    utc_now,
)
from store.model import (
    AsOf,
    Baseline,
    Deliverable,
    DeliverableView,
    Origin,
    Person,
    Source,
    Status,
    Theme,
    Update,
)

__all__ = ["PlanReads", "PlanWrites"]


class PlanReads(Base):
    """Reads about the plan: meta, people, themes, deliverables and their updates."""

    # -- meta -----------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

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

    def origin(self) -> Origin | None:
        """The plan's first import, whose deliverables are the plan's own (never new)."""
        starts = self.history_starts()
        if starts is None:
            return None
        last = self.get_meta("origin_last_id") or self.get_meta("baseline_last_id")
        return Origin(starts, int(last) if last else None)

    def glossary(self) -> dict[str, str]:
        """The plan's glossary: abbreviation or acronym -> what the paper says instead."""
        raw = self.get_meta("glossary")
        return dict(json.loads(raw)) if raw else {}

    # -- people ---------------------------------------------------------
    def people(self) -> list[Person]:
        return [_person(r) for r in self._rows(f"{PEOPLE} ORDER BY p.name")]

    def person(self, person_id: int) -> Person | None:
        row = self._one(f"{PEOPLE} WHERE p.id = ?", [person_id])
        return _person(row) if row else None

    def person_by_email(self, email: str) -> Person | None:
        row = self._one(f"{PEOPLE} WHERE lower(p.email) = lower(?)", [email.strip()])
        return _person(row) if row else None

    def person_by_identity(self, channel: str, external_id: str) -> Person | None:
        """The person who is ``external_id`` on ``channel`` (a Slack user id, say)."""
        row = self._one(
            f"{PEOPLE} WHERE p.id = (SELECT person_id FROM identities "
            "WHERE channel = ? AND external_id = ? ORDER BY person_id LIMIT 1)",
            [channel, external_id],
        )
        return _person(row) if row else None

    def person_by_mail_token(self, token: str) -> Person | None:
        row = self._one(f"{PEOPLE} WHERE p.mail_token = ?", [token.strip().lower()])
        return _person(row) if row else None

    def mail_token(self, person_id: int) -> str | None:
        row = self._one("SELECT mail_token FROM people WHERE id = ?", [person_id])
        return row["mail_token"] if row else None

    # -- themes ---------------------------------------------------------
    def themes(self) -> list[Theme]:
        return [_theme(r) for r in self._rows("SELECT * FROM themes ORDER BY position, id")]

    def theme_by_code(self, code: str) -> Theme | None:
        row = self._one("SELECT * FROM themes WHERE upper(code) = upper(?)", [code])
        return _theme(row) if row else None

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

    def deliverables_after(self, last_id: int) -> list[Deliverable]:
        """The deliverables added since the one with id ``last_id``, oldest first."""
        rows = self._rows("SELECT * FROM deliverables WHERE id > ? ORDER BY id", [last_id])
        return [_deliverable(r) for r in rows]

    def refs_for_theme(self, theme_id: int) -> list[str]:
        return [
            r["ref"]
            for r in self._rows("SELECT ref FROM deliverables WHERE theme_id = ?", [theme_id])
        ]

    def update_by_key(self, idempotency_key: str) -> Update | None:
        """The update a request with this key made, if it made one."""
        row = self._one("SELECT * FROM updates WHERE idempotency_key = ?", [idempotency_key])
        return _update(row) if row else None

    def has_update(self, deliverable_id: int, recorded_at: dt.datetime, note: str) -> bool:
        """Whether this deliverable has an update at this time (to the second) with this note:
        how a history import knows a row is already recorded."""
        row = self._one(
            "SELECT 1 AS found FROM updates WHERE deliverable_id = ? AND recorded_at = ? "
            "AND trim(note) = ? LIMIT 1",
            [deliverable_id, iso(recorded_at), note],
        )
        return row is not None

    def latest_update_at(self, deliverable_id: int) -> dt.datetime | None:
        """When the deliverable's newest update was recorded (a dated update goes after it)."""
        row = self._one(
            "SELECT MAX(recorded_at) AS at FROM updates WHERE deliverable_id = ?", [deliverable_id]
        )
        return parse_ts(row["at"]) if row and row["at"] else None

    def updates(
        self,
        *,
        deliverable_id: int | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[Update]:
        period, bounds = recorded_between(since, until)
        where: list[str] = []
        params: list[Any] = []
        if deliverable_id is not None:
            where.append("deliverable_id = ?")
            params.append(deliverable_id)
        where += period
        params += bounds
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

    def current_at(self, until: dt.datetime) -> bool:
        """Whether the history before ``until`` is the whole history (nothing is recorded
        at or after it), so the maintained current state is the state at ``until``."""
        row = self._db.execute(
            "SELECT 1 FROM updates WHERE recorded_at >= ? LIMIT 1", [iso(until)]
        ).fetchone()
        return row is None

    def states_at(self, until: dt.datetime) -> dict[int, AsOf]:
        """Every deliverable's state from its history before ``until``.

        The same as folding each history with ``replay`` (sequence order). When nothing is
        recorded at or after ``until`` (the current week, today's board) it is the
        maintained ``current_state``, one row per deliverable; for a past moment it is
        worked out in SQL from the rows before it alone (the ``updates_replay`` index).
        """
        if self.current_at(until):
            rows = self._db.execute(
                "SELECT deliverable_id, status, due, last_at, dependencies, completed_at,"
                " completed_after_creation FROM current_state WHERE last_update_id IS NOT NULL"
            ).fetchall()
        else:
            rows = self._db.execute(
                current_state.STATES_BEFORE,
                [iso(until)],
            ).fetchall()
        return {
            r[0]: AsOf(
                status=Status(r[1]) if r[1] else Status.NOT_STARTED,
                due=r[2],
                dependencies=bool(r[4]),
                last_at=parse_ts(r[3]),
                completed_at=parse_ts(r[5]) if r[5] else None,
                completed_after_creation=parse_ts(r[6]) if r[6] else None,
            )
            for r in rows
        }

    def held_since(self, ids: list[int], until: dt.datetime) -> dict[int, dt.datetime]:
        """For these deliverables, the last time (before ``until``) each was put on hold."""
        found: dict[int, dt.datetime] = {}
        current = self.current_at(until)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            if current:
                rows = self._db.execute(
                    "SELECT deliverable_id, held_at FROM current_state "
                    f"WHERE deliverable_id IN ({marks}) AND held_at IS NOT NULL",
                    chunk,
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT deliverable_id, MAX(recorded_at) FROM updates "
                    f"WHERE deliverable_id IN ({marks}) AND recorded_at < ? "
                    "AND status_after = 'on-hold' AND COALESCE(status_before, '') != 'on-hold' "
                    "GROUP BY deliverable_id",
                    [*chunk, iso(until)],
                ).fetchall()
            found.update({r[0]: parse_ts(r[1]) for r in rows})
        return found

    def latest_notes(
        self, since: dt.datetime, until: dt.datetime
    ) -> dict[int, tuple[Update | None, Update | None]]:
        """Per deliverable, within the period: its newest note, and its newest note marked
        as the summary for the paper (or ``None``)."""
        picks = self._db.execute(
            "SELECT deliverable_id, MAX(id), MAX(CASE WHEN summary = 1 THEN id END) "
            "FROM updates WHERE recorded_at >= ? AND recorded_at < ? AND note != '' "
            "GROUP BY deliverable_id",
            [iso(since), iso(until)],
        ).fetchall()
        wanted = {i for _, a, b in picks for i in (a, b) if i is not None}
        by_id = {u.id: u for u in self.updates_by_id(wanted)}
        return {
            did: (by_id.get(last), by_id.get(summary) if summary else None)
            for did, last, summary in picks
        }

    def paper_candidates(
        self, since: dt.datetime, until: dt.datetime, *, newest: int = 3
    ) -> tuple[dict[int, list[Update]], set[int]]:
        """Per deliverable, the period's updates a paper line may draw on, oldest first: the
        ones marked summary or of note, the ones that changed status, due or dependencies,
        the ones whose note names a quarter (for slippage), and the ``newest`` latest notes.
        Also the ids of those that changed dependencies. One query, not the whole history.
        """
        rows = self._db.execute(
            # Rows that set dependencies, each with the value the one before it set.
            "WITH deps AS (SELECT id, dependencies IS NOT LAG(dependencies) OVER ("
            "   PARTITION BY deliverable_id ORDER BY id) AS moved"
            " FROM updates WHERE dependencies IS NOT NULL AND recorded_at < ?),"
            " period AS (SELECT u.*, ROW_NUMBER() OVER ("
            "   PARTITION BY u.deliverable_id ORDER BY (u.note != '') DESC, u.id DESC) AS rn,"
            "  (u.status_before IS NOT NULL AND COALESCE(d.moved, 0)) AS deps_changed"
            " FROM updates u LEFT JOIN deps d ON d.id = u.id"
            " WHERE u.recorded_at >= ? AND u.recorded_at < ?)"
            " SELECT * FROM period WHERE rn <= ? OR summary = 1 OR of_note = 1 OR deps_changed"
            " OR status_after IS NOT status_before OR due_after IS NOT due_before"
            " OR note GLOB '*[Qq][1-4]*' ORDER BY id",
            [iso(until), iso(since), iso(until), newest],
        )
        names = [c[0] for c in rows.description]
        by_deliverable: dict[int, list[Update]] = {}
        deps: set[int] = set()
        for values in rows.fetchall():
            row = dict(zip(names, values, strict=True))
            u = _update(row)
            by_deliverable.setdefault(u.deliverable_id, []).append(u)
            if row["deps_changed"]:
                deps.add(u.id)
        return by_deliverable, deps

    def updates_by_id(self, ids: set[int] | list[int]) -> list[Update]:
        ids = sorted(ids)
        found: list[Update] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found += [
                _update(r)
                for r in self._rows(f"SELECT * FROM updates WHERE id IN ({marks})", chunk)
            ]
        return found

    def last_updates(self, *, until: dt.datetime | None = None) -> dict[int, Update]:
        """The newest update of every deliverable that has one (recorded before ``until``,
        when given: the board as it stood on a past day). Today's is the maintained current
        state's; a past day's is worked out from the rows before it."""
        if until is None or self.current_at(until):
            rows = self._rows(
                "SELECT u.* FROM current_state c JOIN updates u ON u.id = c.last_update_id"
            )
        else:
            rows = self._rows(
                "SELECT u.* FROM updates u JOIN ("
                "  SELECT MAX(id) AS id FROM updates INDEXED BY updates_replay"
                "  WHERE recorded_at < ? GROUP BY deliverable_id"
                ") m ON m.id = u.id",
                [iso(until)],
            )
        return {r["deliverable_id"]: _update(r) for r in rows}

    def current_state_differences(self) -> list[str]:
        """Where the maintained current state differs from a replay of the history, one
        line each ("CF-9: status is 'ongoing', the history says 'on-hold'"); none when equal."""
        return current_state.differences(self._db)

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


class PlanWrites(Base):
    """Writes about the plan (called by handlers.service only)."""

    def rebuild_current_state(self) -> int:
        """Write the maintained current state afresh from the history (``doctor --repair``);
        returns its number of rows."""
        return current_state.rebuild(self._db)

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def set_glossary(self, terms: dict[str, str]) -> None:
        self.set_meta("glossary", json.dumps(terms, ensure_ascii=False))

    def save_person(self, *, name: str, email: str, role: str = "staff") -> tuple[int, bool]:
        """Insert or update a person keyed on email; returns (id, changed)."""
        row = self._one("SELECT * FROM people WHERE lower(email) = lower(?)", [email.strip()])
        return self._upsert("people", row, {"email": email}, {"name": name, "role": role})

    def set_mail_token(self, person_id: int, token: str) -> None:
        self._set("people", person_id, {"mail_token": token})

    def set_identity(self, person_id: int, channel: str, external_id: str | None) -> None:
        """Who the person is on ``channel``; ``None`` forgets it."""
        if external_id is None:
            self._db.execute(
                "DELETE FROM identities WHERE person_id = ? AND channel = ?", [person_id, channel]
            )
            return
        self._db.execute(
            "INSERT INTO identities (person_id, channel, external_id) VALUES (?, ?, ?) "
            "ON CONFLICT (person_id, channel) DO UPDATE SET external_id = excluded.external_id",
            [person_id, channel, external_id],
        )

    def set_person_away(self, person_id: int, until: dt.date | None) -> None:
        self._set("people", person_id, {"away_until": until.isoformat() if until else None})

    def save_theme(self, *, code: str, name: str, aim: str, position: int) -> tuple[int, bool]:
        row = self._one("SELECT * FROM themes WHERE code = ?", [code])
        return self._upsert(
            "themes", row, {"code": code}, {"name": name, "aim": aim, "position": position}
        )

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
        idempotency_key: str | None = None,
        of_note: bool = False,
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
                "idempotency_key": idempotency_key,
                "of_note": 1 if of_note else None,
            },
        )
