"""SQLite access through sqlite-utils: opening, transactions and the queries."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from store.model import (
    Baseline,
    Deliverable,
    DeliverableView,
    Person,
    Role,
    Source,
    Status,
    Theme,
    Update,
)
from store.schema import migrations

__all__ = ["Store", "StoreError", "StoreUnavailable", "open_store", "probe_commit"]

BUSY_TIMEOUT_MS = 5000
# How long a digest claim is held before ``--retry`` may take it over: longer than any
# post with its retries can take.
CLAIM_LEASE = dt.timedelta(minutes=10)
T = TypeVar("T")


class StoreError(Exception):
    """The database could not be opened or used."""


class StoreUnavailable(StoreError):
    """A temporary failure (locked, read-only, full): the caller should retry later."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def probe_commit(path: str | Path, *, timeout: float = 0.05) -> str | None:
    """Whether a write could start now, on a connection of its own: ``None`` when it could,
    else the reason (locked, read-only, unreadable). Writes nothing."""
    try:
        conn = sqlite3.connect(str(path), timeout=timeout)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return None
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def open_store(path: str | Path, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the database at ``path`` in WAL mode with a busy timeout."""
    path = Path(path)
    try:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        db = Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            migrations.apply(db)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return Store(db, path=path)


def _person(row: dict[str, Any]) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        slack_id=row["slack_id"],
        role=Role(row["role"] or "staff"),
        away_until=dt.date.fromisoformat(row["away_until"]) if row["away_until"] else None,
    )


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
        recorded_at=_parse_ts(row["recorded_at"]),
        source=Source(row["source"]),
        status_before=Status(row["status_before"]) if row["status_before"] else None,
        status_after=Status(row["status_after"]) if row["status_after"] else None,
        due_before=row["due_before"],
        due_after=row["due_after"],
        note=row["note"],
        dependencies=None if row["dependencies"] is None else bool(row["dependencies"]),
        summary=bool(row.get("summary")),
    )


class Store:
    """The queries. One instance wraps one connection; use :meth:`transaction` for writes."""

    def __init__(self, db: Database, *, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        # The last write that could not commit, until one commits again: (when, why).
        self.last_failure: tuple[dt.datetime, str] | None = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.db.close()

    def open_reader(self) -> Store:
        """A second, read-only connection with its own thread.

        Reads through it never queue behind a write that is waiting for the lock, so forms
        and lists stay fast while the database is busy (WAL lets readers run beside a writer).
        """
        if self.path is None or str(self.path) == ":memory:":
            return self
        conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        db = Database(conn, execute_plugins=False)
        db.execute("PRAGMA query_only = ON")
        return Store(db, path=self.path)

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the store's own thread, off the event loop.

        All async code uses this, so a slow or locked database never delays an HTTP ack
        or an SMTP reply, and one connection is never used by two threads at once.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # -- transactions ---------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing.

        SQLite errors that mean "try again later" become :class:`StoreUnavailable`.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
        try:
            yield self
        except sqlite3.OperationalError as exc:
            # Locked, read-only, disk full: a temporary failure the caller can retry.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._unavailable(exc) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._unavailable(exc) from exc
        self.last_failure = None

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        self.last_failure = (_utc_now(), str(exc))
        return StoreUnavailable(str(exc))

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _insert(self, table: str, record: dict[str, Any]) -> int:
        cols = ", ".join(record)
        marks = ", ".join("?" for _ in record)
        cur = self.db.execute(
            f"INSERT INTO [{table}] ({cols}) VALUES ({marks})", list(record.values())
        )
        return int(cur.lastrowid or 0)

    def _set(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE [{table}] SET {sets} WHERE id = ?", [*values.values(), row_id])

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
        existing = self.person_by_email(email)
        if existing is None:
            return (
                self._insert(
                    "people", {"name": name, "email": email, "slack_id": slack_id, "role": role}
                ),
                True,
            )
        values = {"name": name, "slack_id": slack_id, "role": role}
        current = {"name": existing.name, "slack_id": existing.slack_id, "role": existing.role}
        if values != current:
            self._set("people", existing.id, values)
            return existing.id, True
        return existing.id, False

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
        if row is None:
            return (
                self._insert(
                    "themes", {"code": code, "name": name, "aim": aim, "position": position}
                ),
                True,
            )
        values = {"name": name, "aim": aim, "position": position}
        if any(row[k] != v for k, v in values.items()):
            self._set("themes", row["id"], values)
            return row["id"], True
        return row["id"], False

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
                "recorded_at": _iso(recorded_at or _utc_now()),
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
            params.append(_iso(since))
        if until is not None:
            where.append("recorded_at < ?")
            params.append(_iso(until))
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

    # -- correspondence -------------------------------------------------
    def correspondence_count(
        self, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> int:
        where: list[str] = []
        params: list[Any] = []
        if since:
            where.append("received_on >= ?")
            params.append(since.isoformat())
        if until:
            where.append("received_on <= ?")
            params.append(until.isoformat())
        sql = "SELECT COUNT(*) AS n FROM correspondence"
        if where:
            sql += " WHERE " + " AND ".join(where)
        row = self._one(sql, params)
        return int(row["n"]) if row else 0

    def correspondence_by_category(
        self, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> dict[str, int]:
        rows = self._rows(
            "SELECT category, COUNT(*) AS n FROM correspondence "
            "WHERE received_on >= ? AND received_on <= ? GROUP BY category ORDER BY category",
            [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()],
        )
        return {r["category"]: int(r["n"]) for r in rows}

    def find_correspondence(self, dedup_key: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM correspondence WHERE dedup_key = ?", [dedup_key])

    def insert_correspondence(self, record: dict[str, Any]) -> int:
        return self._insert("correspondence", record)

    def add_forward(self, correspondence_id: int, forwarder: str, at: dt.datetime) -> bool:
        cur = self.db.execute(
            "INSERT INTO correspondence_forwards (correspondence_id, forwarder, forwarded_at) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [correspondence_id, forwarder, _iso(at)],
        )
        return cur.rowcount == 1

    def forwarders(self, correspondence_id: int) -> list[str]:
        return [
            r["forwarder"]
            for r in self._rows(
                "SELECT forwarder FROM correspondence_forwards WHERE correspondence_id = ? "
                "ORDER BY forwarded_at, rowid",
                [correspondence_id],
            )
        ]

    # -- pending actions --------------------------------------------------
    def save_pending(self, kind: str, payload: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(12)
        self._insert(
            "pending_actions",
            {
                "token": token,
                "kind": kind,
                "payload": json.dumps(payload),
                "created_at": _iso(_utc_now()),
            },
        )
        return token

    def load_pending(self, token: str) -> dict[str, Any] | None:
        row = self._one("SELECT payload FROM pending_actions WHERE token = ?", [token])
        return json.loads(row["payload"]) if row else None

    def drop_pending(self, token: str) -> None:
        self.db.execute("DELETE FROM pending_actions WHERE token = ?", [token])

    # -- inbound mail -------------------------------------------------------
    def insert_inbound(
        self,
        *,
        raw: bytes,
        mail_from: str | None,
        rcpt_tos: list[str],
        source: str = "smtp",
        message_id: str | None = None,
        received_at: dt.datetime | None = None,
    ) -> int:
        return self._insert(
            "inbound",
            {
                "received_at": _iso(received_at or _utc_now()),
                "source": source,
                "mail_from": mail_from,
                "rcpt_tos": ",".join(rcpt_tos),
                "message_id": message_id,
                "size": len(raw),
                "raw": raw,
                "state": "pending",
            },
        )

    def inbound(self, inbound_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM inbound WHERE id = ?", [inbound_id])

    def inbound_list(self, states: tuple[str, ...], *, limit: int = 1000) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in states)
        return self._rows(
            "SELECT id, received_at, source, mail_from, rcpt_tos, message_id, size, state, reason, "
            "attempts, raw IS NOT NULL AS has_raw "
            f"FROM inbound WHERE state IN ({marks}) ORDER BY id LIMIT ?",
            [*states, limit],
        )

    def inbound_seen(self, message_id: str) -> bool:
        """Whether a message with this Message-ID was already processed."""
        return (
            self._one(
                "SELECT 1 AS x FROM inbound WHERE message_id = ? "
                "AND state NOT IN ('pending', 'quarantined') LIMIT 1",
                [message_id],
            )
            is not None
        )

    def earlier_delivery(self, inbound_id: int, message_id: str) -> dict[str, Any] | None:
        """An earlier, already processed delivery of the same Message-ID."""
        return self._one(
            "SELECT id, state FROM inbound WHERE message_id = ? AND id < ? "
            "AND state NOT IN ('pending', 'quarantined') ORDER BY id LIMIT 1",
            [message_id, inbound_id],
        )

    def set_inbound_state(
        self,
        inbound_id: int,
        state: str,
        *,
        reason: str | None = None,
        correspondence_id: int | None = None,
        purge_after: dt.datetime | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE inbound SET state = ?, reason = ?, correspondence_id = ?, purge_after = ?, "
            "processed_at = ?, attempts = attempts + 1 WHERE id = ?",
            [
                state,
                reason,
                correspondence_id,
                _iso(purge_after) if purge_after else None,
                _iso(_utc_now()),
                inbound_id,
            ],
        )

    def requeue_inbound(self, inbound_id: int) -> None:
        self.db.execute("UPDATE inbound SET state = 'pending' WHERE id = ?", [inbound_id])

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def purge_raw(self, now: dt.datetime) -> int:
        """Drop raw copies whose retention has passed (metadata stays)."""
        cur = self.db.execute(
            "UPDATE inbound SET raw = NULL WHERE raw IS NOT NULL AND purge_after IS NOT NULL "
            "AND purge_after <= ?",
            [_iso(now)],
        )
        return cur.rowcount

    def correspondence_by_message_ids(self, ids: list[str]) -> dict[str, Any] | None:
        if not ids:
            return None
        marks = ", ".join("?" for _ in ids)
        return self._one(
            f"SELECT * FROM correspondence WHERE message_id IN ({marks}) ORDER BY id DESC LIMIT 1",
            ids,
        )

    def correspondence_by_subject_key(self, key: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM correspondence WHERE subject_key = ? AND answered_on IS NULL "
            "ORDER BY received_on DESC, id DESC LIMIT 1",
            [key],
        )

    def mark_answered(self, correspondence_id: int, day: dt.date) -> bool:
        cur = self.db.execute(
            "UPDATE correspondence SET answered_on = ? WHERE id = ? "
            "AND (answered_on IS NULL OR answered_on > ?)",
            [day.isoformat(), correspondence_id, day.isoformat()],
        )
        return cur.rowcount == 1

    def correspondence_rows(
        self, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, received_on, category, answered_on, sender_hash, sender_domain, flags "
            "FROM correspondence WHERE received_on >= ? AND received_on <= ? ORDER BY received_on",
            [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()],
        )

    # -- digest ledger ------------------------------------------------------------
    def claim(
        self,
        kind: str,
        period: str,
        destination: str,
        *,
        now: dt.datetime | None = None,
        lease: dt.timedelta = CLAIM_LEASE,
    ) -> str | None:
        """Claim one delivery. Only the first claimant (of any process) gets a token; the
        claim is held for ``lease``, after which ``--retry`` may take it over."""
        now = now or _utc_now()
        token = secrets.token_hex(8)
        cur = self.db.execute(
            "INSERT INTO digest_ledger "
            "(kind, period, destination, state, claimed_at, claim_token, lease_until) "
            "VALUES (?, ?, ?, 'claimed', ?, ?, ?) "
            "ON CONFLICT (kind, period, destination) DO NOTHING",
            [kind, period, destination, _iso(now), token, _iso(now + lease)],
        )
        return token if cur.rowcount == 1 else None

    def reclaim(
        self, ledger_id: int, *, now: dt.datetime | None = None, lease: dt.timedelta = CLAIM_LEASE
    ) -> str | None:
        """Take over a failed delivery, or a claim whose lease has run out (for ``--retry``).

        A claim still within its lease is someone's post in flight: it is left alone.
        """
        now = now or _utc_now()
        token = secrets.token_hex(8)
        cur = self.db.execute(
            "UPDATE digest_ledger SET state = 'claimed', claimed_at = ?, error = NULL, "
            "claim_token = ?, lease_until = ? WHERE id = ? AND (state = 'failed' OR "
            "(state = 'claimed' AND COALESCE(lease_until, '') < ?))",
            [_iso(now), token, _iso(now + lease), ledger_id, _iso(now)],
        )
        return token if cur.rowcount == 1 else None

    def mark_sent(
        self, kind: str, period: str, destination: str, reference: str, *, token: str
    ) -> bool:
        """Record a delivery as sent, if ``token`` still holds the claim."""
        cur = self.db.execute(
            "UPDATE digest_ledger SET state = 'sent', sent_at = ?, reference = ?, error = NULL "
            "WHERE kind = ? AND period = ? AND destination = ? AND claim_token = ?",
            [_iso(_utc_now()), reference, kind, period, destination, token],
        )
        return cur.rowcount == 1

    def mark_failed(
        self, kind: str, period: str, destination: str, error: str, *, token: str
    ) -> bool:
        cur = self.db.execute(
            "UPDATE digest_ledger SET state = 'failed', error = ? "
            "WHERE kind = ? AND period = ? AND destination = ? AND claim_token = ? "
            "AND state = 'claimed'",
            [error[:500], kind, period, destination, token],
        )
        return cur.rowcount == 1

    def add_ledger_warning(self, kind: str, period: str, destination: str, warning: str) -> None:
        """Something extra failed after the delivery itself succeeded (e.g. the chart)."""
        self.db.execute(
            "UPDATE digest_ledger SET warning = ? "
            "WHERE kind = ? AND period = ? AND destination = ?",
            [warning[:500], kind, period, destination],
        )

    def ledger(
        self, *, kind: str | None = None, states: tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        sql = "SELECT * FROM digest_ledger"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._rows(sql + " ORDER BY claimed_at, id", params)

    # -- report snapshots -----------------------------------------------------------
    def save_snapshot(self, name: str, data: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO report_snapshots (name, created_at, data) VALUES (?, ?, ?)",
            [name, _iso(_utc_now()), json.dumps(data)],
        )

    def snapshot(self, name: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM report_snapshots WHERE name = ?", [name])
        if row is None:
            return None
        return {
            "name": row["name"],
            "created_at": row["created_at"],
            "data": json.loads(row["data"]),
        }

    def snapshots(self) -> list[dict[str, Any]]:
        return self._rows("SELECT name, created_at FROM report_snapshots ORDER BY created_at")
