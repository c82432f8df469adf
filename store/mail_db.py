"""Queries about mail: correspondence, its forwarders, and the inbound queue."""

from __future__ import annotations

import datetime as dt
import io
from typing import IO, Any

from store.base import Base, iso, utc_now

__all__ = ["MailReads", "MailWrites"]

_COPY_BYTES = 64 * 1024  # a spooled message is copied into its row this much at a time

# States of a message that delivered nothing, so a later one with its Message-ID is no
# redelivery: not parsed yet, quarantined, a refused update, kept for review.
_NOT_DELIVERED = "('pending', 'quarantined', 'update_refused', 'redelivery_differs')"


class MailReads(Base):
    """Reads about mail: correspondence, its forwarders, and the inbound queue."""

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

    def forwarders(self, correspondence_id: int) -> list[str]:
        return [
            r["forwarder"]
            for r in self._rows(
                "SELECT forwarder FROM correspondence_forwards WHERE correspondence_id = ? "
                "ORDER BY forwarded_at, rowid",
                [correspondence_id],
            )
        ]

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

    def pending_inbound_ids(self, *, after: int = 0, limit: int = 1000) -> list[int]:
        """Ids of messages waiting to be parsed, oldest first, from ``after`` on (a page)."""
        return [
            int(r[0])
            for r in self._db.execute(
                "SELECT id FROM inbound WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
                [after, limit],
            ).fetchall()
        ]

    def pending_inbound_rows(self, ids: list[int]) -> list[dict[str, Any]]:
        """The rows (raw copy included) of those of ``ids`` still pending, oldest first: a
        batch for the parse pool."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        return self._rows(
            "SELECT id, raw, mail_from, rcpt_tos, source, peer FROM inbound "
            f"WHERE id IN ({marks}) AND state = 'pending' AND raw IS NOT NULL ORDER BY id",
            ids,
        )

    def delivered_fingerprints(self, message_id: str, purpose: str) -> list[str]:
        """Fingerprints of the processed messages with this Message-ID and purpose."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT fingerprint FROM inbound WHERE message_id = ? AND purpose = ? "
                f"AND fingerprint IS NOT NULL AND state NOT IN {_NOT_DELIVERED}",
                [message_id, purpose],
            ).fetchall()
        ]

    def earlier_delivery(
        self, inbound_id: int, message_id: str, purpose: str
    ) -> dict[str, Any] | None:
        """The first earlier message with the same Message-ID and purpose that was processed
        (a quarantined one, a refused update, one kept for review do not count)."""
        return self._one(
            "SELECT id, state, fingerprint FROM inbound WHERE message_id = ? AND purpose = ? "
            f"AND id < ? AND state NOT IN {_NOT_DELIVERED} ORDER BY id LIMIT 1",
            [message_id, purpose, inbound_id],
        )

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

    def correspondence_rows(
        self, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, received_on, category, answered_on, sender_hash, sender_domain, flags "
            "FROM correspondence WHERE received_on >= ? AND received_on <= ? ORDER BY received_on",
            [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()],
        )

    def correspondence_daily(self, *, since: dt.date, until: dt.date) -> list[tuple[str, str, int]]:
        """(day, category, count) for the period, counted in SQL: what weekly and monthly
        tables need, without reading a row per letter."""
        return [
            (r[0], r[1], int(r[2]))
            for r in self._db.execute(
                "SELECT received_on, category, COUNT(*) FROM correspondence "
                "WHERE received_on >= ? AND received_on <= ? GROUP BY received_on, category",
                [since.isoformat(), until.isoformat()],
            ).fetchall()
        ]

    def correspondence_counts(
        self, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[tuple[str, str, str | None, int]]:
        """(received_on, category, answered_on, letters) for letters received in the period
        (all of them without ``since`` and ``until``), counted in SQL in that order: an
        index-only scan of the m020 index, a few thousand groups however many letters."""
        sql = "SELECT received_on, category, answered_on, COUNT(*) FROM correspondence"
        params: list[str] = []
        if since is not None or until is not None:
            sql += " WHERE received_on >= ? AND received_on <= ?"
            params = [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()]
        columns = "received_on, category, answered_on"
        rows = self._db.execute(f"{sql} GROUP BY {columns} ORDER BY {columns}", params)
        return [(r[0], r[1], r[2], int(r[3])) for r in rows.fetchall()]


class MailWrites(Base):
    """Writes about mail (called by handlers.service only)."""

    def insert_correspondence(self, record: dict[str, Any]) -> int:
        return self._insert("correspondence", record)

    def add_forward(self, correspondence_id: int, forwarder: str, at: dt.datetime) -> bool:
        cur = self._db.execute(
            "INSERT INTO correspondence_forwards (correspondence_id, forwarder, forwarded_at) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [correspondence_id, forwarder, iso(at)],
        )
        return cur.rowcount == 1

    # -- inbound mail -------------------------------------------------------
    def insert_inbound(
        self,
        *,
        raw: bytes | IO[bytes],
        mail_from: str | None,
        rcpt_tos: list[str],
        source: str = "smtp",
        message_id: str | None = None,
        received_at: dt.datetime | None = None,
        peer: str | None = None,
    ) -> int:
        """Store a raw message, pending. ``raw`` may be a file positioned at the message's
        start (SMTP's spool): it is copied in pieces, never read into memory whole."""
        spool = None if isinstance(raw, bytes) else raw
        size = len(raw) if isinstance(raw, bytes) else raw.seek(0, io.SEEK_END)
        inbound_id = self._insert(
            "inbound",
            {
                "received_at": iso(received_at or utc_now()),
                "source": source,
                "peer": peer,
                "mail_from": mail_from,
                "rcpt_tos": ",".join(rcpt_tos),
                "message_id": message_id,
                "size": size,
                "raw": raw if spool is None else b"",
                "state": "pending",
            },
        )
        if spool is not None and size:
            self._db.execute(
                "UPDATE inbound SET raw = zeroblob(?) WHERE id = ?", [size, inbound_id]
            )
            spool.seek(0)
            with self._db.conn.blobopen("inbound", "raw", inbound_id) as blob:
                while chunk := spool.read(_COPY_BYTES):
                    blob.write(chunk)
        return inbound_id

    def set_inbound_state(
        self,
        inbound_id: int,
        state: str,
        *,
        reason: str | None = None,
        correspondence_id: int | None = None,
        purge_after: dt.datetime | None = None,
        purpose: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE inbound SET state = ?, reason = ?, correspondence_id = ?, purge_after = ?, "
            "processed_at = ?, attempts = attempts + 1, purpose = coalesce(?, purpose), "
            "fingerprint = coalesce(?, fingerprint) WHERE id = ?",
            [
                state,
                reason,
                correspondence_id,
                iso(purge_after) if purge_after else None,
                iso(utc_now()),
                purpose,
                fingerprint,
                inbound_id,
            ],
        )

    def rewrite_inbound(self, inbound_id: int, *, rcpt_tos: str, raw: bytes | None) -> None:
        """Replace the recipients and raw copy (without the personal codes they held)."""
        self._db.execute(
            "UPDATE inbound SET rcpt_tos = ?, raw = CASE WHEN raw IS NULL THEN NULL ELSE ? END "
            "WHERE id = ?",
            [rcpt_tos, raw, inbound_id],
        )

    def requeue_inbound(self, inbound_id: int) -> None:
        """Back to pending, remembering what it was (a retried ``redelivery_differs`` is
        then processed as a message of its own)."""
        self._db.execute(
            "UPDATE inbound SET retried_from = state, state = 'pending' WHERE id = ?",
            [inbound_id],
        )

    def checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def purge_raw(self, now: dt.datetime) -> int:
        """Drop raw copies whose retention has passed (metadata stays)."""
        cur = self._db.execute(
            "UPDATE inbound SET raw = NULL WHERE raw IS NOT NULL AND purge_after IS NOT NULL "
            "AND purge_after <= ?",
            [iso(now)],
        )
        return cur.rowcount

    def mark_answered(self, correspondence_id: int, day: dt.date) -> bool:
        cur = self._db.execute(
            "UPDATE correspondence SET answered_on = ? WHERE id = ? "
            "AND (answered_on IS NULL OR answered_on > ?)",
            [day.isoformat(), correspondence_id, day.isoformat()],
        )
        return cur.rowcount == 1
