"""The mailbox source against a real Dovecot on 127.0.0.1: messages put in with APPEND."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from dovecot import PASSWORD, USER, Dovecot, missing_reason

from handlers.mail import InboundWorker, MailHandler, MailPolicy, accept_message, process_inbound
from handlers.mail.mailbox import FolderRoute, MailboxConfig, MailboxSource
from handlers.mail.mailbox_auth import PasswordLogin, SignInError
from handlers.mail.mailbox_imap import ImapServer, throttle_seconds
from handlers.plan import load_plan
from handlers.service import MailboxKey, import_plan, take_mailbox_message
from handlers.service.writer import Writer
from store import Store, open_store

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "mail-corpus"
RULES = [("parliament.uk", "mp"), ("*.gov.uk", "partner")]
ACCOUNT = f"{USER}@127.0.0.1"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _store(path: Path, example_plan: Path) -> Store:
    store = open_store(path)
    if not store.people():
        import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    return store


def _policy() -> MailPolicy:
    return MailPolicy(mail_domain="localhost", hash_key=b"test-key", category_rules=RULES)


def _source(
    dovecot: Dovecot,
    store: Store,
    *,
    folders: tuple[tuple[str, str], ...] = (("INBOX", "correspondence@localhost"),),
    after: str = "move",
    since: dt.date | None = None,
    password: str = PASSWORD,
) -> MailboxSource:
    config = MailboxConfig(
        server=ImapServer("127.0.0.1", dovecot.port, "starttls", timeout=10),
        account=ACCOUNT,
        folders=tuple(FolderRoute(f, r) for f, r in folders),
        since=since,
        after=after,
        idle_seconds=60,
        poll_seconds=1,
    )
    return MailboxSource(config, writer=Writer(store), login=PasswordLogin(USER, password))


def _sync(source: MailboxSource, store: Store) -> int:
    async def go() -> int:
        handler = MailHandler(InboundWorker(Writer(store), _policy()))
        return await source.sync_once(handler.worker.take)

    return asyncio.run(go())


def _db(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def _message(n: int, *, sender: str = "resident@gmail.com") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <{sender}>"
    msg["To"] = "opcc@opcc.example.org"
    msg["Subject"] = f"Street lighting on road {n}"
    msg["Date"] = "Mon, 05 Sep 2022 10:00:00 +0100"
    msg["Message-ID"] = f"<letter-{n}@gmail.com>"
    msg.set_content(f"Letter number {n} about the lights.")
    return msg.as_bytes()


def _correspondence(db_path: Path) -> list[tuple]:
    return (
        _db(db_path)
        .execute(
            "SELECT received_on, category, sender_domain, subject, flags FROM correspondence "
            "ORDER BY id"
        )
        .fetchall()
    )


# -- what counts ------------------------------------------------------------------------------


def test_each_forward_style_counts_the_original_and_is_moved_to_processed(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    dovecot.append(
        [
            (FIXTURES / name).read_bytes()
            for name in (
                "gmail-forward.eml",
                "outlook-forward.eml",
                "thunderbird-forward.eml",
                "attached-forward.eml",
            )
        ]
    )
    dovecot.append([(FIXTURES / "apple-forward.eml").read_bytes()], folder="Complaints")
    source = _source(
        dovecot,
        store,
        folders=(
            ("INBOX", "correspondence@localhost"),
            ("Complaints", "correspondence+complaint@localhost"),
        ),
    )
    assert _sync(source, store) == 5
    # The same rows as the same forwards sent over SMTP (tests/handlers/mail/test_smtp.py).
    assert sorted(_correspondence(db_path)) == sorted(
        [
            ("2022-09-05", "public", "gmail.com", "Speeding on Mill Road", None),
            ("2022-09-06", "mp", "parliament.uk", "Knife crime funding question", None),
            ("2022-09-07", "complaint", "outlook.com", "Complaint about response time", None),
            ("2022-09-08", "media", "localpaper.co.uk", "Interview request", None),
            (
                "2022-09-08",
                "partner",
                "cambridgeshire.gov.uk",
                "Road safety partnership meeting",
                None,
            ),
        ]
    )
    assert dovecot.count("INBOX") == 0 and dovecot.count("Complaints") == 0
    assert dovecot.count("Processed") == 5  # made by the source; nothing deleted
    sources = {r[0] for r in _db(db_path).execute("SELECT source FROM inbound")}
    assert sources == {"mailbox"}
    # A second run finds nothing new and counts nothing twice.
    assert _sync(source, store) == 0
    assert len(_correspondence(db_path)) == 5


def _import_states(raws: list[bytes], db_path: Path, example_plan: Path) -> dict[str, int]:
    store = _store(db_path, example_plan)
    states: dict[str, int] = {}
    for raw in raws:
        inbound_id = accept_message(
            store, raw, mail_from=None, rcpt_tos=["correspondence@localhost"], source="import"
        )
        assert inbound_id is not None
        state = process_inbound(store, inbound_id, _policy()).state
        states[state] = states.get(state, 0) + 1
    return states


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/mail-corpus is not beside the project")
def test_the_corpus_counts_as_mail_import_counts_it_and_only_once(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    raws = [f.read_bytes() for f in sorted(CORPUS.glob("*.eml"))]
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    dovecot.append(raws)
    source = _source(dovecot, store)
    assert _sync(source, store) == len(raws)
    states = dict(
        _db(db_path).execute("SELECT state, COUNT(*) FROM inbound GROUP BY state").fetchall()
    )
    # The same intake as `mail import`: the same outcome for every message. A copy whose
    # Message-ID and content were already processed is not stored again (mail import
    # stores it and calls it redelivered); other content under a Message-ID already seen is
    # kept for review on both paths.
    imported = _import_states(raws, tmp_path / "import.db", example_plan)
    skipped = len(raws) - sum(states.values())
    assert {**states, **({"redelivered": skipped} if skipped else {})} == imported
    assert states["counted"] >= 35
    reasons = [r[0] for r in _db(db_path).execute("SELECT reason FROM inbound")]
    assert not any("disagree" in (r or "") for r in reasons)
    counted = len(_correspondence(db_path))
    # The same letters again (delivered twice, or copied back by someone): counted once.
    dovecot.append(raws)
    assert _sync(source, store) == len(raws)
    assert len(_correspondence(db_path)) == counted
    assert dovecot.count("Processed") == 2 * len(raws)


def test_only_mail_since_mailbox_since_is_taken(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    with dovecot.client() as client:
        for n in range(3):
            client.append("INBOX", _message(n), msg_time=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
        for n in range(3, 5):
            client.append("INBOX", _message(n), msg_time=dt.datetime(2022, 5, 1, tzinfo=dt.UTC))
    source = _source(dovecot, store, since=dt.date(2022, 4, 1))
    assert _sync(source, store) == 2
    assert len(_correspondence(db_path)) == 2
    assert dovecot.count("INBOX") == 3  # older mail is left where it is


# -- exactly once ---------------------------------------------------------------------------


def test_committed_but_unmarked_messages_are_marked_and_not_taken_again(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    dovecot.append([_message(n) for n in range(6)])
    with dovecot.client() as client:
        uidvalidity = int(client.select_folder("INBOX")[b"UIDVALIDITY"])
    # A run that committed the first three and was killed before it moved them.
    for uid in (1, 2, 3):
        key = MailboxKey(ACCOUNT, "INBOX", uidvalidity, uid)
        raw = _message(uid - 1)
        taken, _ = take_mailbox_message(
            store,
            key,
            raw=raw,
            message_id=f"<letter-{uid - 1}@gmail.com>",
            rcpt_tos=["correspondence@localhost"],
            now=dt.datetime.now(dt.UTC),
        )
        assert taken
    assert _sync(_source(dovecot, store), store) == 3  # only 4, 5 and 6 are new
    rows = _db(db_path).execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
    assert rows == 6
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 6
    unmarked = _db(db_path).execute("SELECT COUNT(*) FROM mailbox_messages WHERE marked_at IS NULL")
    assert unmarked.fetchone()[0] == 0


def test_two_pollers_on_one_mailbox_count_each_message_once(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    _store(db_path, example_plan).close()
    total = 60

    async def go() -> None:
        stores = [open_store(db_path), open_store(db_path)]
        sources = [_source(dovecot, s) for s in stores]
        handlers = [MailHandler(InboundWorker(Writer(s), _policy())) for s in stores]
        tasks = [
            asyncio.create_task(src.run(h.worker.take))
            for src, s, h in zip(sources, stores, handlers, strict=True)
        ]
        for batch in range(3):
            await asyncio.to_thread(dovecot.append, [_message(batch * 20 + n) for n in range(20)])
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and await asyncio.to_thread(dovecot.count, "Processed") < total
        ):
            await asyncio.sleep(0.2)
        for src in sources:
            src.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in stores:
            s.close()

    asyncio.run(go())
    db = _db(db_path)
    assert dovecot.count("Processed") == total and dovecot.count("INBOX") == 0
    assert db.execute("SELECT COUNT(*) FROM correspondence").fetchone()[0] == total
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == total
    assert db.execute("SELECT COUNT(DISTINCT message_id) FROM inbound").fetchone()[0] == total


def test_a_uidvalidity_change_counts_nothing_twice(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    letters = [_message(n) for n in range(8)]
    dovecot.append(letters, folder="Correspondence")
    source = _source(
        dovecot, store, folders=(("Correspondence", "correspondence@localhost"),), after="seen"
    )
    assert _sync(source, store) == 8
    assert all(rb"\Seen" in f for f in dovecot.flags("Correspondence"))
    # The server rebuilds the folder: new UIDVALIDITY, the same messages under new UIDs.
    with dovecot.client() as client:
        before = client.select_folder("Correspondence")[b"UIDVALIDITY"]
        client.close_folder()
        client.delete_folder("Correspondence")
        client.create_folder("Correspondence")
    dovecot.append([*letters, _message(99)], folder="Correspondence")
    with dovecot.client() as client:
        assert client.select_folder("Correspondence")[b"UIDVALIDITY"] != before
    with caplog.at_level(logging.WARNING, logger="handlers.mail.mailbox"):
        assert _sync(source, store) == 9
    assert "UIDVALIDITY changed" in caplog.text
    assert len(_correspondence(db_path)) == 9  # the eight once, and the new letter
    assert _db(db_path).execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 9


# -- following the folder -----------------------------------------------------------------


async def _until(predicate, timeout: float = 20.0, step: float = 0.02) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(step)
    return time.monotonic() - started


def _inbound_count(db_path: Path) -> int:
    return int(_db(db_path).execute("SELECT COUNT(*) FROM inbound").fetchone()[0])


def test_idle_wakes_the_poller_within_a_second_and_reconnects_after_bye(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    source = _source(dovecot, store)
    handler = MailHandler(InboundWorker(Writer(store), _policy()))

    async def go() -> tuple[float, float]:
        task = asyncio.create_task(source.run(handler.worker.take))
        await _until(lambda: source.health["INBOX"].contact is not None)
        await asyncio.sleep(0.3)  # idling now
        await asyncio.to_thread(dovecot.append, [_message(1)])
        woke = await _until(lambda: _inbound_count(db_path) == 1)
        # The server says BYE to every session: the source connects again and carries on.
        await asyncio.to_thread(dovecot.kick)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(dovecot.append, [_message(2)])
        after_bye = await _until(lambda: len(_correspondence(db_path)) == 2)
        source.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return woke, after_bye

    woke, after_bye = asyncio.run(go())
    assert woke < 1.0, f"IDLE took {woke:.2f} s to bring the message in"
    assert after_bye < 10
    assert len(_correspondence(db_path)) == 2


def test_a_server_that_goes_away_shows_in_health_and_is_reconnected(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    source = _source(dovecot, store)
    handler = MailHandler(InboundWorker(Writer(store), _policy()))

    async def go() -> str | None:
        task = asyncio.create_task(source.run(handler.worker.take))
        await _until(lambda: source.health["INBOX"].contact is not None)
        await asyncio.to_thread(dovecot.stop)
        await _until(lambda: source.health["INBOX"].error is not None)
        # Past the staleness limit the problem shows (as /healthz reports it).
        source.config = dataclasses.replace(source.config, stale_after=dt.timedelta(0))
        problem = source.problem()
        await asyncio.to_thread(dovecot.start)
        await asyncio.to_thread(dovecot.append, [_message(1)])
        await _until(lambda: _inbound_count(db_path) == 1, timeout=30)
        await _until(lambda: source.health["INBOX"].error is None)
        source.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return problem

    problem = asyncio.run(go())
    assert problem is not None and "not reached" in problem and ACCOUNT in problem
    assert source.health["INBOX"].error is None


def test_a_wrong_password_is_one_clear_error(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    store = _store(tmp_path / "box.db", example_plan)
    source = _source(dovecot, store, password="wrong")
    with pytest.raises(SignInError) as err:
        _sync(source, store)
    assert "refused the password" in str(err.value) and "wrong" not in str(err.value)


def test_throttling_answers_set_the_wait() -> None:
    assert (
        throttle_seconds("NO Request is throttled. Suggested Backoff Time: 12345 milliseconds")
        == 12.345
    )
    assert throttle_seconds("NO [UNAVAILABLE] Server busy, try later") == 60.0
    assert throttle_seconds("socket error: EOF") is None


def test_an_updates_folder_takes_updates_proven_by_the_mailbox_servers_word(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    proven = (
        b"Authentication-Results: mx.opcc.example; dmarc=pass header.from=example.org\r\n"
        b"From: Alex Morgan <alex.morgan@example.org>\r\nTo: bot@opcc.example.org\r\n"
        b"Subject: CF-10 completed\r\nMessage-ID: <upd-1@example.org>\r\n"
        b"Date: Mon, 12 Sep 2022 09:00:00 +0100\r\n\r\nSurvey published.\r\n"
    )
    unproven = proven.replace(b"dmarc=pass", b"dmarc=fail").replace(b"upd-1", b"upd-2")
    dovecot.append([proven, unproven], folder="Bot updates")
    source = _source(dovecot, store, folders=(("Bot updates", "updates@localhost"),))
    policy = dataclasses.replace(_policy(), trusted_relays=("mx.opcc.example",))

    async def go() -> None:
        handler = MailHandler(InboundWorker(Writer(store), policy))
        await source.sync_once(handler.worker.take)

    asyncio.run(go())
    states = [r[0] for r in _db(db_path).execute("SELECT state FROM inbound ORDER BY id")]
    assert states == ["update", "update_refused"]
    assert store.deliverable_by_ref("CF-10").status.value == "completed"


def _follow(source: MailboxSource, store: Store, db_path: Path, action, moved=None) -> float:  # type: ignore[no-untyped-def]
    """Run the source, do ``action`` once it has synced, return how long until one letter
    is counted (and, with ``moved``, wait until that says it was moved before stopping)."""
    handler = MailHandler(InboundWorker(Writer(store), _policy()))

    async def go() -> float:
        task = asyncio.create_task(source.run(handler.worker.take))
        await _until(lambda: source.health["INBOX"].contact is not None)
        await action()
        took = await _until(lambda: len(_correspondence(db_path)) == 1)
        if moved is not None:  # the move follows the commit: stopping at once may cut it
            await _until(moved)
        source.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return took

    return asyncio.run(go())


def test_idle_is_reissued_and_still_brings_mail(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    source = _source(dovecot, store)
    source.config = dataclasses.replace(source.config, idle_seconds=0.3)
    contacts: list[dt.datetime] = []

    async def wait_then_send() -> None:
        for _ in range(8):  # about six IDLE periods, each ended with DONE and begun again
            await asyncio.sleep(0.25)
            contact = source.health["INBOX"].contact
            assert contact is not None
            contacts.append(contact)
        await asyncio.to_thread(dovecot.append, [_message(1)])

    with caplog.at_level(logging.WARNING, logger="handlers.mail.mailbox"):
        assert _follow(source, store, db_path, wait_then_send) < 2
    assert len(set(contacts)) >= 4  # each renewal is a contact with the server
    assert "connecting again" not in caplog.text  # one connection throughout


def test_without_idle_the_folder_is_polled(tmp_path: Path, example_plan: Path) -> None:
    server = Dovecot(extra="imap_capability = IMAP4rev1 LITERAL+ UIDPLUS MOVE\n")
    server.start()
    try:
        with server.client() as client:
            assert not client.has_capability("IDLE")
        db_path = tmp_path / "box.db"
        store = _store(db_path, example_plan)
        source = _source(server, store)

        async def send() -> None:
            await asyncio.to_thread(server.append, [_message(1)])

        took = _follow(source, store, db_path, send, moved=lambda: server.count("Processed") == 1)
        assert took < 3  # poll_seconds=1: a NOOP and a look
        assert server.count("Processed") == 1
    finally:
        server.close()


def test_mail_that_arrives_during_a_sync_is_not_left_for_the_next_idle(
    dovecot: Dovecot, tmp_path: Path, example_plan: Path
) -> None:
    db_path = tmp_path / "box.db"
    store = _store(db_path, example_plan)
    source = _source(dovecot, store)  # IDLE renewed only after 60 s
    handler = MailHandler(InboundWorker(Writer(store), _policy()))

    async def go() -> None:
        task = asyncio.create_task(source.run(handler.worker.take))
        await _until(lambda: source.health["INBOX"].contact is not None)
        await asyncio.to_thread(dovecot.append, [_message(n) for n in range(300)])
        await _until(lambda: _inbound_count(db_path) > 10)  # the sync is under way
        await asyncio.to_thread(dovecot.append, [_message(300)])
        # The server announced it in an answer during the sync, not in the next IDLE.
        await _until(lambda: len(_correspondence(db_path)) == 301, timeout=15)
        # The move to Processed follows each commit; stopping at once could cut the last one.
        await _until(lambda: dovecot.count("Processed") == 301, timeout=15, step=0.2)
        source.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert dovecot.count("Processed") == 301
