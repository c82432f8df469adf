"""Queries of the mailbox source: where it has got to in each IMAP folder."""

from __future__ import annotations

import datetime as dt
from typing import Any

from store.base import Base, iso

__all__ = ["MailboxReads", "MailboxWrites"]


def _precise(at: dt.datetime) -> str:
    """A time to the microsecond: which poller took a message first is a matter of ms."""
    return iso(at).replace("+00:00", "") + at.astimezone(dt.UTC).strftime(".%f+00:00")


class MailboxReads(Base):
    """Reads of the mailbox source: where it has got to in each folder, what it has taken."""

    def mailbox_folder(self, account: str, folder: str) -> dict[str, Any] | None:
        """``uidvalidity``, ``last_uid`` and ``cursor`` of a folder, or ``None`` before its
        first sync."""
        return self._one(
            "SELECT uidvalidity, last_uid, cursor, updated_at FROM mailbox_folders "
            "WHERE account = ? AND folder = ?",
            [account, folder],
        )

    def mailbox_unmarked_items(
        self, account: str, folder: str, *, before: dt.datetime | None = None
    ) -> list[tuple[int, str]]:
        """(uid, item id) of Graph messages taken but not yet moved or flagged."""
        return [
            (int(r["uid"]), str(r["item"]))
            for r in self._rows(
                "SELECT uid, item FROM mailbox_messages WHERE account = ? AND folder = ? "
                "AND marked_at IS NULL AND item IS NOT NULL AND taken_at < ? "
                "ORDER BY taken_at, uid",
                [account, folder, _precise(before) if before else "9999"],
            )
        ]

    def mailbox_taken(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        return (
            self._one(
                "SELECT 1 AS x FROM mailbox_messages WHERE account = ? AND folder = ? "
                "AND uidvalidity = ? AND uid = ?",
                [account, folder, uidvalidity, uid],
            )
            is not None
        )

    def mailbox_unmarked(
        self, account: str, folder: str, uidvalidity: int, *, before: dt.datetime | None = None
    ) -> list[int]:
        """UIDs taken (committed) but not yet moved or flagged on the server (taken before
        ``before``, if given)."""
        return [
            int(r["uid"])
            for r in self._rows(
                "SELECT uid FROM mailbox_messages WHERE account = ? AND folder = ? "
                "AND uidvalidity = ? AND marked_at IS NULL AND taken_at < ? ORDER BY uid",
                [account, folder, uidvalidity, _precise(before) if before else "9999"],
            )
        ]


class MailboxWrites(Base):
    """Writes of the mailbox source (called by handlers.service only)."""

    def save_mailbox_folder(
        self, account: str, folder: str, *, uidvalidity: int, last_uid: int, at: dt.datetime
    ) -> None:
        self._db.execute(
            "INSERT INTO mailbox_folders (account, folder, uidvalidity, last_uid, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, folder) DO UPDATE SET "
            "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
            "updated_at = excluded.updated_at",
            [account, folder, uidvalidity, last_uid, iso(at)],
        )

    def save_mailbox_cursor(
        self, account: str, folder: str, cursor: str | None, at: dt.datetime
    ) -> None:
        self._db.execute(
            "INSERT INTO mailbox_folders (account, folder, uidvalidity, last_uid, cursor, "
            "updated_at) VALUES (?, ?, 0, 0, ?, ?) ON CONFLICT (account, folder) DO UPDATE "
            "SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            [account, folder, cursor, iso(at)],
        )

    def take_mailbox_message(
        self,
        account: str,
        folder: str,
        *,
        uidvalidity: int,
        uid: int,
        inbound_id: int | None,
        at: dt.datetime,
        item: str | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO mailbox_messages (account, folder, uidvalidity, uid, item, inbound_id, "
            "taken_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [account, folder, uidvalidity, uid, item, inbound_id, _precise(at)],
        )

    def mark_mailbox_messages(
        self, account: str, folder: str, uidvalidity: int, uids: list[int], at: dt.datetime
    ) -> int:
        if not uids:
            return 0
        marks = ", ".join("?" for _ in uids)
        cur = self._db.execute(
            "UPDATE mailbox_messages SET marked_at = ? WHERE account = ? AND folder = ? "
            f"AND uidvalidity = ? AND marked_at IS NULL AND uid IN ({marks})",
            [iso(at), account, folder, uidvalidity, *uids],
        )
        return cur.rowcount
