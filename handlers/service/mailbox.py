"""The mailbox source's writes: a message read from an IMAP folder is committed exactly once
(its inbound row and the folder's place, in one transaction), then marked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store import Store

__all__ = [
    "MailboxKey",
    "mailbox_marked",
    "save_mailbox_cursor",
    "start_mailbox_folder",
    "take_mailbox_message",
]


@dataclass(frozen=True)
class MailboxKey:
    """Where a message was read: the mailbox, the folder, its UIDVALIDITY and the UID."""

    account: str
    folder: str
    uidvalidity: int
    uid: int
    item: str | None = None  # Microsoft Graph: the message's id (uid is a hash of it)


def start_mailbox_folder(
    store: Store, account: str, folder: str, uidvalidity: int, now: dt.datetime
) -> None:
    """A folder seen for the first time, or whose UIDVALIDITY changed: its UIDs start again
    (the messages already counted are then known by their Message-ID)."""
    with store.transaction():
        store.save_mailbox_folder(account, folder, uidvalidity=uidvalidity, last_uid=0, at=now)


def take_mailbox_message(
    store: Store,
    key: MailboxKey,
    *,
    raw: bytes,
    message_id: str | None,
    rcpt_tos: list[str],
    mail_from: str | None = None,
    peer: str | None = None,
    received_at: dt.datetime | None = None,
    delivered_as: tuple[str, str] | None = None,
    now: dt.datetime,
) -> tuple[bool, int | None]:
    """Commit one message read from a folder: ``(taken, inbound id)``.

    ``taken`` is False when this UID was already taken, by an earlier run or by another
    poller: nothing is stored. A message already processed in the same mailbox with the same
    Message-ID and content (``delivered_as``: its purpose and fingerprint; an SMTP copy, an
    import, the same folder before a UIDVALIDITY change) is taken, and so marked, but not
    stored again (id ``None``); other content under that Message-ID is stored, and processing
    keeps it for review. The row, the UID and the folder's last UID commit
    together, so a crash leaves either all of them or none. ``received_at`` is when the
    server received it (its INTERNALDATE), the day counted when the message has no date.
    """
    with store.transaction():
        if store.mailbox_taken(key.account, key.folder, key.uidvalidity, key.uid):
            return False, None
        inbound_id = None
        seen = bool(
            message_id
            and delivered_as is not None
            and delivered_as[1] in store.delivered_fingerprints(message_id, delivered_as[0])
        )
        if not seen:
            inbound_id = store.insert_inbound(
                raw=raw,
                mail_from=mail_from,
                rcpt_tos=rcpt_tos,
                source="mailbox",
                message_id=message_id,
                received_at=received_at or now,
                peer=peer,
            )
        store.take_mailbox_message(
            key.account,
            key.folder,
            uidvalidity=key.uidvalidity,
            uid=key.uid,
            inbound_id=inbound_id,
            at=now,
            item=key.item,
        )
        if key.item is not None:  # Graph keeps its place with a delta link instead
            return True, inbound_id
        state = store.mailbox_folder(key.account, key.folder)
        if state is None or state["uidvalidity"] != key.uidvalidity or state["last_uid"] < key.uid:
            store.save_mailbox_folder(
                key.account, key.folder, uidvalidity=key.uidvalidity, last_uid=key.uid, at=now
            )
        return True, inbound_id


def save_mailbox_cursor(
    store: Store, account: str, folder: str, cursor: str | None, now: dt.datetime
) -> None:
    """Microsoft Graph: where the next delta round starts (``None``: a full sync)."""
    with store.transaction():
        store.save_mailbox_cursor(account, folder, cursor, now)


def mailbox_marked(
    store: Store, account: str, folder: str, uidvalidity: int, uids: list[int], now: dt.datetime
) -> int:
    """Record that these UIDs were moved or flagged on the server; how many rows changed."""
    with store.transaction():
        return store.mark_mailbox_messages(account, folder, uidvalidity, uids, now)
