"""The mail flow against a real aiosmtpd server: the pending backlog, Message-ID dedup per
purpose, the session cap and command budget, and DATA spooled to disk."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mail_rig import MailRig
from sqlite_utils import Database

from handlers.mail import REVIEW_STATES, accept_message, process_inbound
from handlers.service import requeue_inbound
from store import open_store
from store.schema import migrations

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


@pytest.fixture
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, example_plan: Path, free_port: int
) -> Iterator[MailRig]:
    options = dict(getattr(request, "param", {}))
    server = MailRig(tmp_path / "mail.db", example_plan, free_port, **options).start()
    yield server
    server.stop()


def letter(i: int, tag: str = "b", message_id: str | None = None) -> bytes:
    mid = message_id or f"<{tag}-{i}@example.org>"
    return (
        f"From: priya.shah@example.org\r\nTo: correspondence@localhost\r\n"
        f"Subject: Fwd: case {tag}-{i}\r\nMessage-ID: {mid}\r\n"
        f"Date: Mon, 12 Sep 2022 10:00:00 +0100\r\n\r\n"
        f"---------- Forwarded message ---------\r\nFrom: Resident {i} <r{i}@example.com>\r\n"
        f"Date: Mon, 12 Sep 2022 at 09:00\r\nSubject: Speeding, case {tag}-{i}\r\n\r\n"
        f"Cars speed on Mill Road, case {tag}-{i}.\r\n"
    ).encode()


def update_mail(message_id: str, note: str = "The event took place at the Guildhall.") -> bytes:
    return (
        "From: Priya Shah <priya.shah@example.org>\r\nTo: update+CF-10@localhost\r\n"
        f"Subject: ongoing\r\nDate: Wed, 14 Sep 2022 15:00:00 +0100\r\nMessage-ID: {message_id}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{note}\r\n"
    ).encode()


def _seed_pending(rig: MailRig, n: int, tag: str) -> None:
    """What a crash leaves behind: raw messages committed, pending, never parsed."""
    store = open_store(rig.db_path)
    try:
        with store.transaction():
            for i in range(n):
                store.insert_inbound(
                    raw=letter(i, tag),
                    mail_from="priya.shah@example.org",
                    rcpt_tos=["correspondence@localhost"],
                    message_id=f"<{tag}-{i}@example.org>",
                )
    finally:
        store.close()


# -- item 10: the backlog left by a crash ------------------------------------------------


def test_the_whole_pending_backlog_is_processed_not_the_first_thousand(rig: MailRig) -> None:
    _seed_pending(rig, 1_500, "crash")
    queued = rig.run(rig.worker.process_pending())
    rig.drain()
    assert queued == 1_500
    assert rig.query("SELECT state, COUNT(*) FROM inbound GROUP BY state") == [("counted", 1_500)]
    assert rig.query("SELECT COUNT(*) FROM correspondence") == [(1_500,)]


def test_a_pending_message_queued_twice_is_processed_once(rig: MailRig) -> None:
    _seed_pending(rig, 300, "twice")

    async def both() -> None:
        # A start-up catch-up and a housekeeping run over the same backlog at once.
        await asyncio.gather(rig.worker.process_pending(), rig.worker.process_pending())
        await rig.worker.drain()

    rig.run(both())
    assert rig.query("SELECT state, COUNT(*) FROM inbound GROUP BY state") == [("counted", 300)]
    assert rig.query("SELECT MAX(attempts) FROM inbound") == [(1,)]


def test_live_mail_is_answered_while_the_backlog_drains(rig: MailRig) -> None:
    _seed_pending(rig, 800, "drain")
    rig.run(rig.worker.process_pending())
    codes = [rig.send(letter(i, "live")) for i in range(3)]  # send() also waits for the drain
    assert [c for c, _ in codes] == [250, 250, 250]
    assert rig.query("SELECT COUNT(*) FROM inbound WHERE state = 'counted'") == [(803,)]


def test_parsing_waits_out_a_locked_store_and_then_finishes_the_queue(rig: MailRig) -> None:
    _seed_pending(rig, 5, "locked")
    rig.store.db.execute("PRAGMA busy_timeout = 100")
    blocker = sqlite3.connect(rig.db_path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        rig.run(rig.worker.process_pending())
        time.sleep(0.5)  # the first message fails, stays first in line, and parsing waits
    finally:
        blocker.rollback()
        blocker.close()
    deadline = time.monotonic() + 10
    while rig.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'") != [(0,)]:
        assert time.monotonic() < deadline, "the queue gave up instead of trying again"
        time.sleep(0.1)
    assert rig.query("SELECT state, COUNT(*) FROM inbound GROUP BY state") == [("counted", 5)]


# -- item 11: Message-ID dedup within a purpose ------------------------------------------


def test_an_update_reusing_a_correspondence_message_id_is_recorded(rig: MailRig) -> None:
    token = rig.token("priya.shah@example.org")
    assert rig.send(letter(1, message_id="<shared@example.org>"))[0] == 250
    to = f"update+CF-10+{token}@localhost"
    assert rig.send(update_mail("<shared@example.org>"), to=to)[0] == 250
    assert rig.states() == ["counted", "update"]
    notes = rig.query("SELECT note FROM updates WHERE note LIKE '%Guildhall%'")
    assert notes == [("The event took place at the Guildhall.",)]
    assert len(rig.replies) == 1 and "Recorded an update" in rig.replies[0].get_content()


def test_an_identical_redelivery_of_an_update_records_nothing(rig: MailRig) -> None:
    to = f"update+CF-10+{rig.token('priya.shah@example.org')}@localhost"
    assert rig.send(update_mail("<once@example.org>"), to=to)[0] == 250
    assert rig.send(update_mail("<once@example.org>"), to=to)[0] == 250
    assert rig.states() == ["update", "redelivered"]
    assert len(rig.query("SELECT 1 FROM updates WHERE note LIKE '%Guildhall%'")) == 1
    assert len(rig.replies) == 1


def test_a_redelivery_whose_content_differs_is_kept_for_review(
    rig: MailRig, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    to = f"update+CF-10+{rig.token('priya.shah@example.org')}@localhost"
    assert rig.send(update_mail("<reused@example.org>"), to=to)[0] == 250
    assert rig.send(update_mail("<reused@example.org>", "Postponed to November."), to=to)[0] == 250
    assert rig.states() == ["update", "redelivery_differs"]
    assert rig.query("SELECT 1 FROM updates WHERE note LIKE '%November%'") == []
    assert len(rig.replies) == 1  # only the first was answered
    listed = subprocess.run(
        [deliverabot_exe, "mail", "review"],
        env={**cli_env, "DELIVERABOT_DB": str(rig.db_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "redelivery_differs" in listed and "same Message-ID as inbound 1" in listed


def test_retrying_a_differing_redelivery_processes_it_as_a_new_message(rig: MailRig) -> None:
    rig.send(letter(1, message_id="<again@example.org>"))
    rig.send(letter(2, message_id="<again@example.org>"))
    store = open_store(rig.db_path)
    try:
        assert [r["id"] for r in store.inbound_list(REVIEW_STATES)] == [2]
        requeue_inbound(store, 2)  # what `mail review --retry 2` does
        assert process_inbound(store, 2, rig.worker.policy).state == "counted"
    finally:
        store.close()
    assert rig.query("SELECT COUNT(*) FROM correspondence") == [(2,)]


def test_retrying_a_differing_update_redelivery_asks_for_it_again(rig: MailRig) -> None:
    # The personal code is removed from the stored copy once a message is processed (it is
    # kept only in the person's row), so the retried copy proves nobody: refused, with why.
    to = f"update+CF-10+{rig.token('priya.shah@example.org')}@localhost"
    rig.send(update_mail("<again@example.org>"), to=to)
    rig.send(update_mail("<again@example.org>", "Postponed to November."), to=to)
    store = open_store(rig.db_path)
    try:
        requeue_inbound(store, 2)
        result = process_inbound(store, 2, rig.worker.policy)
    finally:
        store.close()
    assert result.state == "update_refused"
    assert "send it again" in result.detail
    assert rig.query("SELECT note FROM updates WHERE note LIKE '%November%'") == []


def test_correspondence_reusing_a_message_id_with_other_content_is_kept_for_review(
    rig: MailRig,
) -> None:
    assert rig.send(letter(1, message_id="<twice@example.org>"))[0] == 250
    assert rig.send(letter(2, message_id="<twice@example.org>"))[0] == 250
    assert rig.states() == ["counted", "redelivery_differs"]
    assert rig.query("SELECT COUNT(*) FROM correspondence") == [(1,)]


def test_a_backfill_is_not_skipped_for_an_update_with_the_same_message_id(rig: MailRig) -> None:
    to = f"update+CF-10+{rig.token('priya.shah@example.org')}@localhost"
    rig.send(update_mail("<both@example.org>"), to=to)
    store = open_store(rig.db_path)
    try:
        kept = accept_message(
            store,
            letter(1, message_id="<both@example.org>"),
            mail_from=None,
            rcpt_tos=["correspondence@localhost"],
            source="import",
            skip_seen=rig.worker.policy,
        )
        assert kept is not None
        assert process_inbound(store, kept, rig.worker.policy).state == "counted"
        # Run again, the same backfill is skipped: seen in its own mailbox, same content.
        again = accept_message(
            store,
            letter(1, message_id="<both@example.org>"),
            mail_from=None,
            rcpt_tos=["correspondence@localhost"],
            source="import",
            skip_seen=rig.worker.policy,
        )
        assert again is None
    finally:
        store.close()


def test_messages_processed_before_the_upgrade_keep_their_dedup(
    tmp_path: Path, example_plan: Path, free_port: int
) -> None:
    db_path = tmp_path / "old.db"
    old = Database(sqlite3.connect(db_path))
    migrations.apply(old, stop_before="m009_inbound_purpose")
    legacy = [
        ("update+CF-10+0123456789abcdef0123@localhost", "<old-update@x>", "update"),
        ("correspondence@localhost", "<old-letter@x>", "counted"),
        ("correspondence+mp@localhost", "<purged@x>", "counted"),
    ]
    for to, mid, state in legacy:
        raw = update_mail(mid) if state == "update" else letter(1, message_id=mid)
        old["inbound"].insert(
            {
                "received_at": "2022-09-14T10:00:00+00:00",
                "source": "smtp",
                "mail_from": "priya.shah@example.org",
                "rcpt_tos": to,
                "message_id": mid,
                "size": len(raw),
                "raw": None if mid == "<purged@x>" else raw,
                "state": state,
            }
        )
    old.conn.close()
    rig = MailRig(db_path, example_plan, free_port).start()  # opening it applies m009
    try:
        assert [r[0] for r in rig.query("SELECT purpose FROM inbound ORDER BY id")] == [
            "updates",
            "correspondence",
            "correspondence",
        ]
        to = f"update+CF-10+{rig.token('priya.shah@example.org')}@localhost"
        assert rig.send(update_mail("<old-update@x>"), to=to)[0] == 250
        assert rig.send(letter(1, message_id="<old-letter@x>"))[0] == 250
        assert (
            rig.send(letter(1, message_id="<purged@x>"), to="correspondence+mp@localhost")[0] == 250
        )
        assert rig.states()[3:] == ["redelivered", "redelivered", "redelivery_differs"]
        assert rig.query("SELECT 1 FROM updates WHERE note LIKE '%Guildhall%'") == []
    finally:
        rig.stop()


# -- item 18: 100 commands per session, whatever the verbs ----------------------------------


def test_the_101st_command_of_a_session_gets_421_whatever_the_verbs(rig: MailRig) -> None:
    client = smtplib.SMTP("127.0.0.1", rig.port, timeout=10)
    verbs = ["NOOP", "RSET", "HELP", "EHLO mixed"]
    codes = []
    try:
        for i in range(120):
            codes.append(client.docmd(verbs[i % len(verbs)])[0])
    except smtplib.SMTPServerDisconnected:
        pass
    finally:
        client.close()
    assert codes[:100] == [250] * 100
    assert codes[100:] == [421]  # and the session is closed
    with smtplib.SMTP("127.0.0.1", rig.port, timeout=10) as again:
        assert again.noop()[0] == 250


# -- item 17: a cap on sessions, DATA spooled to disk ------------------------------------


@pytest.mark.parametrize("rig", [{"max_sessions": 3}], indirect=True)
def test_a_session_over_the_cap_gets_421_at_connect_and_is_closed(rig: MailRig) -> None:
    held = [smtplib.SMTP("127.0.0.1", rig.port, timeout=10) for _ in range(3)]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", rig.port, timeout=10)
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error.startswith(b"4.7.0")
        assert all(c.noop()[0] == 250 for c in held)  # the three open ones are unaffected
    finally:
        for c in held:
            c.quit()
    deadline = time.monotonic() + 5
    while True:  # the slots come back once those sessions are closed
        try:
            assert rig.send(letter(1, "after"))[0] == 250
            break
        except smtplib.SMTPConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def _open_data(port: int) -> tuple[socket.socket, Callable[[], bytes]]:
    """A raw session left in DATA after ``354``, and a function reading the next reply."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = sock.makefile("rb")

    def reply() -> bytes:
        while True:
            line = reader.readline()
            if line[3:4] != b"-":
                return line

    assert reply().startswith(b"220")
    for command, code in (
        (b"EHLO spool", b"250"),
        (b"MAIL FROM:<priya.shah@example.org>", b"250"),
        (b"RCPT TO:<correspondence@localhost>", b"250"),
        (b"DATA", b"354"),
    ):
        sock.sendall(command + b"\r\n")
        assert reply().startswith(code)
    return sock, reply


@pytest.mark.parametrize("rig", [{"data_size_limit": 10 * 1024 * 1024}], indirect=True)
def test_unfinished_large_data_is_spooled_not_held_in_memory(rig: MailRig) -> None:
    sessions, size = 8, 2 * 1024 * 1024
    crlf = b"x" * 998 + b"\r\n"
    bare = b"y" * 998 + b"\n"  # bare LF: one "line" as long as the message
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        socks = [_open_data(rig.port)[0] for _ in range(sessions)]
        for n, sock in enumerate(socks):
            sock.sendall((crlf if n % 2 else bare) * (size // 1000))
        time.sleep(2)  # the server reads what it is sent at once
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    for sock in socks:
        sock.close()
    print(f"\n{sessions} unfinished DATA of {size >> 20} MB: {held / 2**20:.1f} MB held")
    assert held < sessions * size / 8  # before spooling: all of it (16 MB)


@pytest.mark.parametrize("rig", [{"data_size_limit": 10 * 1024 * 1024}], indirect=True)
def test_a_large_message_is_stored_byte_exact_after_spooling(rig: MailRig) -> None:
    head = b"From: priya.shah@example.org\r\nSubject: big\r\nMessage-ID: <big@x>\r\n\r\n"
    body = b"".join(
        b"..a line that began with a dot\r\n" if i % 7 == 0 else b"line %d\r\n" % i
        for i in range(100_000)
    )
    sock, reply = _open_data(rig.port)
    sock.sendall(head + body + b"a bare\nLF line\n.\nnot the end\r\n.\r\n")
    code = reply()
    sock.close()
    rig.drain()
    assert code.startswith(b"250")
    raw = rig.query("SELECT raw FROM inbound")[0][0]
    sent = head + body + b"a bare\nLF line\n.\nnot the end\r\n"
    assert raw == sent.replace(b"\r\n..", b"\r\n.")  # dots unstuffed after CRLF only
    assert rig.states() == ["counted"]


def test_an_oversized_message_with_bare_lf_gets_552_after_data(rig: MailRig) -> None:
    sock, reply = _open_data(rig.port)  # the rig's limit is 64 KB
    sock.sendall(b"Subject: big\n\n" + b"z" * 200_000 + b"\n\r\n.\r\n")
    code = reply()
    sock.sendall(b"NOOP\r\n")
    after = reply()
    sock.close()
    assert code.startswith(b"552 5.3.4") and after.startswith(b"250")
    assert rig.states() == []
