"""The mailbox source: a first sync of 10,000 messages from a real Dovecot (messages per
second, committed, processed and moved), next to a bare ``imapclient`` fetch of the same
messages that stores nothing, measured in the same run. Then the shared corpus through each
way in: SMTP direct, SMTP redirect (with and without ``Resent-From``) and the mailbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import smtplib
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from common import EXAMPLE_PLAN, ROOT, summarise
from dovecot import PASSWORD, USER, Dovecot, missing_reason
from handlers.mailparse import parse_message, sender_address

from handlers.mail import (
    DeliverabotSMTP,
    InboundWorker,
    MailHandler,
    MailPolicy,
    accept_message,
    process_inbound,
)
from handlers.mail.mailbox import FolderRoute, MailboxConfig, MailboxSource
from handlers.mail.mailbox_auth import PasswordLogin
from handlers.mail.mailbox_imap import ImapServer
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import Store, open_store

MESSAGES = 10_000
CORPUS = ROOT.parent / "shared" / "mail-corpus"
STAFF = "priya.shah@example.org"


def _letter(i: int) -> bytes:
    return (
        f"From: Resident {i} <r{i}@example.com>\r\nTo: opcc@opcc.example.org\r\n"
        f"Subject: Speeding on Mill Road, case {i}\r\nMessage-ID: <bench-{i}@example.com>\r\n"
        f"Date: Mon, 12 Sep 2022 09:00:00 +0100\r\n\r\n"
        f"Cars speed on Mill Road every evening, case {i}. Please act.\r\n"
    ).encode()


def _store(folder: Path, name: str) -> Store:
    store = open_store(folder / f"{name}.db")
    import_plan(store, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
    return store


def _policy(**kw: object) -> MailPolicy:
    return MailPolicy(mail_domain="localhost", hash_key=b"bench", **kw)  # type: ignore[arg-type]


def _source(dovecot: Dovecot, store: Store) -> MailboxSource:
    config = MailboxConfig(
        server=ImapServer("127.0.0.1", dovecot.port, "starttls", timeout=60),
        account=f"{USER}@127.0.0.1",
        folders=(FolderRoute("INBOX", "correspondence@localhost"),),
    )
    return MailboxSource(config, writer=Writer(store), login=PasswordLogin(USER, PASSWORD))


def _sync(dovecot: Dovecot, store: Store, policy: MailPolicy) -> int:
    async def go() -> int:
        handler = MailHandler(InboundWorker(Writer(store), policy))
        return await _source(dovecot, store).sync_once(handler.worker.take)

    return asyncio.run(go())


def _fill(dovecot: Dovecot, raws: list[bytes]) -> None:
    with dovecot.client() as client:
        for i in range(0, len(raws), 500):
            client.multiappend("INBOX", raws[i : i + 500])


def _bare_fetch(dovecot: Dovecot) -> int:
    """The baseline: log in, find the UIDs, fetch every message in the same chunks."""
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        for i in range(0, len(uids), 50):
            client.fetch(uids[i : i + 50], ["BODY.PEEK[]", "INTERNALDATE"])
    return len(uids)


def _import(store: Store, raws: list[bytes], policy: MailPolicy) -> None:
    """What `deliverabot mail import` does with each message: the same intake, no IMAP."""
    for raw in raws:
        inbound_id = accept_message(
            store, raw, mail_from=None, rcpt_tos=["correspondence@localhost"], source="import"
        )
        assert inbound_id is not None
        process_inbound(store, inbound_id, policy)


def first_sync(folder: Path) -> None:
    dovecot = Dovecot()
    dovecot.start()
    try:
        _fill(dovecot, [_letter(i) for i in range(MESSAGES)])
        start = time.perf_counter()
        assert _bare_fetch(dovecot) == MESSAGES
        bare = time.perf_counter() - start
        store = _store(folder, "sync")
        start = time.perf_counter()
        assert _sync(dovecot, store, _policy()) == MESSAGES
        ours = time.perf_counter() - start
        assert store.correspondence_count() == MESSAGES
        assert dovecot.count("Processed") == MESSAGES
        store.close()
        store = _store(folder, "import")
        start = time.perf_counter()
        _import(store, [_letter(i) for i in range(MESSAGES)], _policy())
        imported = time.perf_counter() - start
        store.close()
    finally:
        dovecot.close()
    print(
        f"the same {MESSAGES} messages through mail import's loop: {MESSAGES / imported:.0f} msg/s"
    )
    summarise(
        "mailbox first sync vs mail import",
        f"{MESSAGES / ours:.0f} msg/s",
        f"{MESSAGES / imported:.0f} msg/s import",
        imported / ours,
        "",
    )
    print(
        f"mailbox first sync, {MESSAGES} messages: {MESSAGES / ours:.0f} msg/s "
        f"({ours:.1f} s; committed, counted and moved), bare fetch {MESSAGES / bare:.0f} msg/s"
    )
    summarise(
        f"mailbox first sync, {MESSAGES:,} msgs",
        f"{MESSAGES / ours:.0f} msg/s",
        f"{MESSAGES / bare:.0f} msg/s bare fetch",
        bare / ours,
        "",
    )


# -- the corpus through each way in -------------------------------------------------------


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _outcomes(store: Store, sent: int, refused: int) -> dict[str, int]:
    rows = dict(store.db.execute("SELECT state, COUNT(*) FROM inbound GROUP BY state").fetchall())
    stored = sum(rows.values())
    known = ("counted", "duplicate", "redelivered", "noise", "quarantined")
    return {
        "counted": rows.get("counted", 0),
        "duplicate": rows.get("duplicate", 0) + rows.get("redelivered", 0) + sent - stored,
        "noise": rows.get("noise", 0),
        "quarantined": rows.get("quarantined", 0),
        "replies": sum(n for state, n in rows.items() if state not in known),
        "refused (SMTP)": refused,
    }


def _smtp_path(
    folder: Path, name: str, raws: list[bytes], envelope: Callable[[bytes], str], policy: MailPolicy
) -> dict[str, int]:
    store = _store(folder, name)
    handler = MailHandler(InboundWorker(Writer(store), policy))
    controller = _Controller(handler, hostname="127.0.0.1", port=_port(), data_size_limit=10 << 20)
    controller.start()
    refused = 0
    try:
        for raw in raws:
            sender = envelope(raw)
            raw = re.sub(rb"\r?\n", b"\r\n", raw)
            with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
                client.ehlo("bench")
                code, _ = client.mail(sender)
                if code == 250:
                    code, _ = client.rcpt("correspondence@localhost")
                if code == 250:
                    code, _ = client.data(raw)
                refused += code != 250
        asyncio.run_coroutine_threadsafe(handler.worker.drain(), controller.loop).result(60)
    finally:
        controller.stop()
    outcome = _outcomes(store, len(raws) - refused, refused)
    store.close()
    return outcome


def _redirect(raw: bytes, resent: bool) -> bytes:
    head = f"Resent-From: Priya Shah <{STAFF}>\r\nResent-Date: Tue, 06 Sep 2022 09:00:00 +0100\r\n"
    return head.encode() + raw if resent else raw


def corpus_paths(folder: Path) -> None:
    raws = [f.read_bytes() for f in sorted(CORPUS.glob("*.eml"))]
    senders = {raw: sender_address(parse_message(raw)) or STAFF for raw in raws}
    domains = tuple({"@" + a.rsplit("@", 1)[1] for a in senders.values() if "@" in a})
    paths = {
        "SMTP direct (envelope = From)": _smtp_path(
            folder, "direct", raws, lambda r: senders[r], _policy(allowed_senders=domains)
        ),
        "SMTP redirect, no Resent-From": _smtp_path(
            folder, "plain", [_redirect(r, False) for r in raws], lambda r: STAFF, _policy()
        ),
        "SMTP redirect with Resent-From": _smtp_path(
            folder, "resent", [_redirect(r, True) for r in raws], lambda r: STAFF, _policy()
        ),
    }
    dovecot = Dovecot()
    dovecot.start()
    try:
        _fill(dovecot, raws)
        store = _store(folder, "box")
        _sync(dovecot, store, _policy())
        paths["mailbox (IMAP)"] = _outcomes(store, len(raws), 0)
        store.close()
    finally:
        dovecot.close()
    print(f"\nthe shared corpus ({len(raws)} messages) through each way in:")
    labels = list(next(iter(paths.values())))
    print(f"  {'path':<32}" + "".join(f"{label:>15}" for label in labels))
    for path, outcome in paths.items():
        print(f"  {path:<32}" + "".join(f"{outcome[label]:>15}" for label in labels))


def main() -> None:
    if missing_reason():
        print(f"mailbox bench skipped: {missing_reason()}")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-mailbox-"))
    try:
        first_sync(folder)
        if CORPUS.is_dir():
            corpus_paths(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
