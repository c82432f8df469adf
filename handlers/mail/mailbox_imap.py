"""One IMAP connection to the office's mailbox, with ``imapclient`` (blocking: each
connection lives on a thread of its own, see :mod:`handlers.mailbox`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from handlers.mail.mailbox_auth import Login, server_text

__all__ = [
    "ImapServer",
    "ImapSession",
    "MailboxDropped",
    "MailboxRefused",
    "throttle_seconds",
]

SEEN = rb"\Seen"
DELETED = rb"\Deleted"
IDLE_STEP = 1.0  # seconds between looks at the stop flag while idling


class MailboxDropped(Exception):
    """The server closed the connection or said BYE: connect again."""


class MailboxRefused(Exception):
    """The server refused a command about the folder (for example, no such folder)."""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    tls: str  # "imaps" (TLS from the start) | "starttls" | "plain" (loopback only)
    ca_file: Path | None = None
    timeout: float = 60.0

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def throttle_seconds(text: str) -> float | None:
    """How long to wait when the server says we are throttled, else ``None``.

    Exchange Online says "Request is throttled. Suggested Backoff Time: 12345 milliseconds".
    """
    m = re.search(r"backoff time:\s*(\d+)\s*milli", text, re.IGNORECASE)
    if m:
        return max(1.0, int(m.group(1)) / 1000)
    if re.search(r"throttl|server busy|\[limit\]|too many", text, re.IGNORECASE):
        return 60.0
    return None


class ImapSession:
    """Connect, sign in, select a folder, find new UIDs, fetch, mark, wait for news."""

    def __init__(self, server: ImapServer, login: Login) -> None:
        self.server = server
        self.login = login
        self.client: IMAPClient | None = None
        self.can_idle = False
        self.can_move = False
        self.can_uid_expunge = False

    def _c(self) -> IMAPClient:
        if self.client is None:
            raise MailboxDropped("not connected")
        return self.client

    def connect(self) -> None:
        s = self.server
        client = IMAPClient(
            s.host,
            s.port,
            ssl=s.tls == "imaps",
            ssl_context=s.ssl_context() if s.tls == "imaps" else None,
            timeout=s.timeout,
        )
        self.client = client
        if s.tls == "starttls":
            if client.has_capability("STARTTLS"):
                client.starttls(s.ssl_context())
            elif not _loopback(s.host):
                raise MailboxRefused(
                    f"{s.host} does not offer STARTTLS; use imaps:// (or imap:// only on this "
                    "machine)"
                )
        self.login.login(client)
        self.can_idle = client.has_capability("IDLE")
        self.can_move = client.has_capability("MOVE")
        self.can_uid_expunge = client.has_capability("UIDPLUS")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # already gone: nothing to tidy
            with contextlib.suppress(Exception):
                client.shutdown()

    def ensure_folder(self, name: str) -> None:
        client = self._c()
        if client.folder_exists(name):
            return
        try:
            client.create_folder(name)
        except IMAPClientError:
            if not client.folder_exists(name):  # not made by another poller meanwhile
                raise

    def select(self, folder: str) -> int:
        """Select ``folder``; its UIDVALIDITY."""
        try:
            info = self._c().select_folder(folder)
        except IMAPClientError as exc:
            if "abort" in type(exc).__name__.lower():
                raise
            raise MailboxRefused(f"cannot open the folder {folder!r}: {server_text(exc)}") from None
        return int(info[b"UIDVALIDITY"])

    def new_uids(self, last_uid: int, since: dt.date | None) -> list[int]:
        """UIDs above ``last_uid`` that the server received on or after ``since``."""
        criteria: list[object] = ["UID", f"{last_uid + 1}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        # "n:*" always matches the last message, even when its UID is below n.
        return sorted(uid for uid in self._c().search(criteria) if uid > last_uid)

    def fetch(self, uids: list[int]) -> dict[int, tuple[bytes, dt.datetime | None]]:
        """The raw messages (never marking them read) and when the server received them."""
        client = self._c()
        client.normalise_times = False
        found = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        out: dict[int, tuple[bytes, dt.datetime | None]] = {}
        for uid, data in found.items():
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes):
                when = data.get(b"INTERNALDATE")
                if isinstance(when, dt.datetime) and when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                out[int(uid)] = (raw, when if isinstance(when, dt.datetime) else None)
        return out

    def mark(self, uids: list[int], *, after: str, processed: str) -> str:
        """Move ``uids`` to ``processed``, or flag them ``\\Seen``: how it was done. Never
        deletes: without MOVE, a copy then an expunge of exactly these UIDs (UIDPLUS)."""
        client = self._c()
        if not uids:
            return after
        if after == "move" and self.can_move:
            try:
                client.move(uids, processed)
            except IMAPClientError as exc:
                if "abort" in type(exc).__name__.lower():
                    raise
                # Some were moved meanwhile (another poller: Dovecot says EXPUNGEISSUED):
                # move the rest, if any are left.
                left = client.search(["UID", ",".join(str(u) for u in uids)])
                if left:
                    client.move(left, processed)
            return "moved"
        if after == "move" and self.can_uid_expunge:
            client.copy(uids, processed)
            client.add_flags(uids, [DELETED], silent=True)
            client.uid_expunge(uids)
            return "moved"
        client.add_flags(uids, [SEEN], silent=True)
        return "seen"

    def wait(self, seconds: float, stop: threading.Event, contact: Callable[[], None]) -> bool:
        """Wait up to ``seconds`` for news in the selected folder: IDLE where the server has
        it, else a sleep then NOOP. True when something may have arrived."""
        client = self._c()
        if not self.can_idle:
            stop.wait(seconds)
            client.noop()
            contact()
            return True
        client.idle()
        try:
            return self._idle(client, seconds, stop, contact)
        finally:
            client.idle_done()  # raises if the connection is gone
            contact()

    def _idle(
        self,
        client: IMAPClient,
        seconds: float,
        stop: threading.Event,
        contact: Callable[[], None],
    ) -> bool:
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            step = min(left, IDLE_STEP)
            started = time.monotonic()
            responses = client.idle_check(timeout=step)
            for response in responses:
                if response and response[0] == b"BYE":
                    raise MailboxDropped("the server said BYE")
            if responses:
                contact()
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return True
            elif time.monotonic() - started < step / 2:
                # Woken with nothing to read: the connection has closed.
                return True
        return False
