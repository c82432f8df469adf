"""Deliveries (the digest ledger), choices waiting for a person, and report snapshots."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from store.base import Base, iso, utc_now

__all__ = ["CLAIM_LEASE", "LedgerReads", "LedgerWrites"]

# How long a digest claim is held before ``--retry`` may take it over: longer than any
# post with its retries can take.
CLAIM_LEASE = dt.timedelta(minutes=10)


class LedgerReads(Base):
    """Reads of deliveries, choices waiting for a person, and report snapshots."""

    def load_pending(self, token: str) -> dict[str, Any] | None:
        row = self._one("SELECT payload FROM pending_actions WHERE token = ?", [token])
        return json.loads(row["payload"]) if row else None

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


class LedgerWrites(Base):
    """Writes of the ledger, pending choices and snapshots (called by handlers.service only)."""

    # -- pending actions --------------------------------------------------
    def save_pending(self, kind: str, payload: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(12)
        self._insert(
            "pending_actions",
            {
                "token": token,
                "kind": kind,
                "payload": json.dumps(payload),
                "created_at": iso(utc_now()),
            },
        )
        return token

    def drop_pending(self, token: str) -> None:
        self._db.execute("DELETE FROM pending_actions WHERE token = ?", [token])

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
        now = now or utc_now()
        token = secrets.token_hex(8)
        cur = self._db.execute(
            "INSERT INTO digest_ledger "
            "(kind, period, destination, state, claimed_at, claim_token, lease_until) "
            "VALUES (?, ?, ?, 'claimed', ?, ?, ?) "
            "ON CONFLICT (kind, period, destination) DO NOTHING",
            [kind, period, destination, iso(now), token, iso(now + lease)],
        )
        return token if cur.rowcount == 1 else None

    def reclaim(
        self, ledger_id: int, *, now: dt.datetime | None = None, lease: dt.timedelta = CLAIM_LEASE
    ) -> str | None:
        """Take over a failed delivery, or a claim whose lease has run out (for ``--retry``).

        A claim still within its lease is someone's post in flight: it is left alone.
        """
        now = now or utc_now()
        token = secrets.token_hex(8)
        cur = self._db.execute(
            "UPDATE digest_ledger SET state = 'claimed', claimed_at = ?, error = NULL, "
            "claim_token = ?, lease_until = ? WHERE id = ? AND (state = 'failed' OR "
            "(state = 'claimed' AND COALESCE(lease_until, '') < ?))",
            [iso(now), token, iso(now + lease), ledger_id, iso(now)],
        )
        return token if cur.rowcount == 1 else None

    def mark_sent(
        self, kind: str, period: str, destination: str, reference: str, *, token: str
    ) -> bool:
        """Record a delivery as sent, if ``token`` still holds the claim."""
        cur = self._db.execute(
            "UPDATE digest_ledger SET state = 'sent', sent_at = ?, reference = ?, error = NULL "
            "WHERE kind = ? AND period = ? AND destination = ? AND claim_token = ?",
            [iso(utc_now()), reference, kind, period, destination, token],
        )
        return cur.rowcount == 1

    def mark_failed(
        self, kind: str, period: str, destination: str, error: str, *, token: str
    ) -> bool:
        cur = self._db.execute(
            "UPDATE digest_ledger SET state = 'failed', error = ? "
            "WHERE kind = ? AND period = ? AND destination = ? AND claim_token = ? "
            "AND state = 'claimed'",
            [error[:500], kind, period, destination, token],
        )
        return cur.rowcount == 1

    def add_ledger_warning(self, kind: str, period: str, destination: str, warning: str) -> None:
        """Something extra failed after the delivery itself succeeded (e.g. the chart)."""
        self._db.execute(
            "UPDATE digest_ledger SET warning = ? "
            "WHERE kind = ? AND period = ? AND destination = ?",
            [warning[:500], kind, period, destination],
        )

    # -- report snapshots -----------------------------------------------------------
    def save_snapshot(self, name: str, data: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO report_snapshots (name, created_at, data) VALUES (?, ?, ?)",
            [name, iso(utc_now()), json.dumps(data)],
        )
