"""Parsing in the parse pool: the same decisions as parsing step by step on the store's
thread, batches committed whole or not at all, and a worker killed mid-run loses nothing."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email.policy
import ipaddress
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mail_rig import MailRig

import handlers.mail.process as process_module
from handlers.mail import MailPolicy, ParsePool, process_inbound
from handlers.mail.analysis import ParseJob, analyse
from handlers.mail.parse import parse_message, unreadable_reason
from handlers.mail.process import job_of, process_inbound_batch
from handlers.plan import load_plan
from handlers.service import import_plan
from store import Store, StoreUnavailable, open_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
CORPUS = Path("/work/shared/mail-corpus")  # real mail from other projects, where present
POLICY = MailPolicy(
    mail_domain="localhost",
    hash_key=b"test-key",
    trusted_peers=(ipaddress.ip_network("127.0.0.0/8"),),
    category_rules=[("parliament.uk", "mp"), ("*.gov.uk", "partner")],
)


def _letter(i: int, *, sender: str = "priya.shah@example.org", body: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: correspondence@localhost\r\nSubject: Fwd: case {i}\r\n"
        f"Message-ID: <pool-{i}@example.org>\r\nDate: Mon, 12 Sep 2022 10:00:00 +0100\r\n\r\n"
        f"---------- Forwarded message ---------\r\nFrom: Resident <r{i}@example.com>\r\n"
        f"Date: Mon, 12 Sep 2022 at 09:00\r\nSubject: Speeding, case {i}\r\n\r\n"
        f"Cars speed on Mill Road, case {i}.{body}\r\n"
    ).encode()


def _mail() -> list[tuple[bytes, str | None, str]]:
    """(raw, envelope sender, recipient): real and awkward messages of every outcome."""
    files = sorted(FIXTURES.glob("*.eml"))
    if CORPUS.is_dir():
        files += [f for f in sorted(CORPUS.glob("*.eml")) if f.stat().st_size < 300_000]
    out: list[tuple[bytes, str | None, str]] = []
    for f in files:
        raw = f.read_bytes()
        out.append((raw, "priya.shah@example.org", "correspondence@localhost"))
        out.append((raw, "stranger@elsewhere.example", "correspondence+mp@localhost"))
    out += [
        (_letter(1), "", "correspondence@localhost"),  # a bounce
        (_letter(2), "priya.shah@example.org", "postmaster@localhost"),
        (_letter(3), "priya.shah@example.org", "nobody@elsewhere.example"),
        (_letter(4, body="\x00\x01\x02" * 400), "priya.shah@example.org", "c@localhost"),
        (
            _letter(4, body="\x00\x01\x02" * 400),
            "priya.shah@example.org",
            "correspondence@localhost",
        ),
        (_letter(5), "priya.shah@example.org", "correspondence@localhost"),
        (_letter(5), "priya.shah@example.org", "correspondence@localhost"),  # redelivered
        (b"not a mail message at all\r\n", None, "correspondence@localhost"),
        (b"", "priya.shah@example.org", "correspondence@localhost"),
    ]
    return out


def _store(path: Path, example_plan: Path) -> Store:
    store = open_store(path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    return store


def _seed(store: Store, mail: list[tuple[bytes, str | None, str]]) -> list[int]:
    with store.transaction():
        return [
            store.insert_inbound(
                raw=raw,
                mail_from=sender,
                rcpt_tos=[to],
                peer="127.0.0.1",
                received_at=dt.datetime(2022, 9, 12, 9, 30, tzinfo=dt.UTC),
                message_id=process_module.message_id_of(raw),
            )
            for raw, sender, to in mail
        ]


def _outcomes(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        inbound = conn.execute(
            "SELECT id, state, reason, correspondence_id, purpose, fingerprint, attempts "
            "FROM inbound ORDER BY id"
        ).fetchall()
        letters = conn.execute(
            "SELECT id, dedup_key, received_on, category, forwarder_id, sender_domain, "
            "sender_hash, subject, flags, message_id, subject_key, inbound_id, answered_on "
            "FROM correspondence ORDER BY id"
        ).fetchall()
    return [*inbound, *letters]


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    parse_pool = ParsePool(2)
    yield parse_pool
    parse_pool.shutdown()


def test_the_pool_decides_every_message_as_parsing_step_by_step_does(
    tmp_path: Path, example_plan: Path, pool: ParsePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = _mail()
    stepwise, pooled = (
        _store(tmp_path / "a.db", example_plan),
        _store(tmp_path / "b.db", example_plan),
    )
    ids = _seed(stepwise, mail)
    assert _seed(pooled, mail) == ids

    # The pool's analyses, from another process, committed in batches of 16.
    rows = pooled.pending_inbound_rows(ids)
    found = asyncio.run(pool.analyse([job_of(r) for r in rows], POLICY))
    assert pool.analysed == sum(a is not None for a in found) > len(mail) // 2
    pooled_results = []
    for k in range(0, len(ids), 16):
        items = list(zip(ids[k : k + 16], found[k : k + 16], strict=True))
        pooled_results += process_inbound_batch(pooled, items, POLICY)

    # Today's way: each message parsed on the store's thread, decided step by step.
    with monkeypatch.context() as m:
        m.setattr(process_module, "analyse", lambda *a, **k: None)
        stepwise_results = [process_inbound(stepwise, i, POLICY) for i in ids]

    assert [(r.state, r.detail) for r in pooled_results] == [
        (r.state, r.detail) for r in stepwise_results
    ]
    states = collections.Counter(r.state for r in pooled_results)
    assert {"counted", "noise", "quarantined", "redelivered", "postmaster"} <= set(states)
    stepwise.close()
    pooled.close()
    assert _outcomes(tmp_path / "b.db") == _outcomes(tmp_path / "a.db")


def test_a_batch_the_store_cannot_commit_leaves_every_message_pending(
    tmp_path: Path, example_plan: Path
) -> None:
    store = _store(tmp_path / "m.db", example_plan)
    ids = _seed(
        store,
        [(_letter(i), "priya.shah@example.org", "correspondence@localhost") for i in range(3)],
    )
    store.db.execute("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(tmp_path / "m.db")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable):
            process_inbound_batch(store, [(i, None) for i in ids], POLICY)
    finally:
        blocker.rollback()
        blocker.close()
    states = store.db.execute("SELECT state, attempts FROM inbound").fetchall()
    assert states == [("pending", 0)] * 3
    results = process_inbound_batch(store, [(i, None) for i in ids], POLICY)
    assert [r.state for r in results] == ["counted"] * 3
    store.close()


def test_bad_mail_in_a_batch_is_quarantined_alone(
    tmp_path: Path, example_plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path / "m.db", example_plan)
    ids = _seed(
        store,
        [(_letter(i), "priya.shah@example.org", "correspondence@localhost") for i in range(3)],
    )
    record = process_module.record_correspondence

    def failing(store: Store, request: Any) -> Any:
        outcome = record(store, request)  # written, then the failure: none of it may stay
        if request.inbound_id == ids[1]:
            raise RuntimeError("a bug in the middle of a batch")
        return outcome

    monkeypatch.setattr(process_module, "record_correspondence", failing)
    results = process_inbound_batch(store, [(i, None) for i in ids], POLICY)
    assert [r.state for r in results] == ["counted", "quarantined", "counted"]
    assert "cannot process: RuntimeError" in results[1].detail
    assert store.correspondence_count() == 2
    store.close()


def test_an_analysis_of_another_copy_is_not_used(tmp_path: Path, example_plan: Path) -> None:
    store = _store(tmp_path / "m.db", example_plan)
    [first, second] = _seed(
        store,
        [
            (_letter(1), "priya.shah@example.org", "correspondence@localhost"),
            (_letter(2), "", "correspondence@localhost"),
        ],
    )
    bounce = analyse(job_of(store.inbound(second) or {}), "localhost", b"test-key", ())
    assert bounce is not None and bounce.noise
    assert process_inbound(store, first, POLICY, analysis=bounce).state == "counted"
    store.close()


def test_each_header_of_a_message_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    fetch = email.policy.EmailPolicy.header_fetch_parse

    def counting(self: email.policy.EmailPolicy, name: str, value: str) -> Any:
        fetched.append(name.lower())
        return fetch(self, name, value)

    monkeypatch.setattr(email.policy.EmailPolicy, "header_fetch_parse", counting)
    raw = (FIXTURES / "gmail-forward.eml").read_bytes()
    job = ParseJob(1, raw, "priya.shah@example.org", ("correspondence@localhost",), "smtp", None)
    assert analyse(job, "localhost", b"k", ()) is not None
    assert fetched and max(collections.Counter(fetched).values()) == 1


def test_junk_is_counted_as_before() -> None:
    body = "x" * 100 + "\x0b\x0e\x1f\x00\ufffd" * 2 + "\t\r\n\f" * 50
    msg = parse_message(f"From: a@b.example\r\nSubject: s\r\n\r\n{body}".encode())
    assert unreadable_reason(msg) == "the body is binary, not text"  # 10 > max(8, ...)
    msg = parse_message(f"From: a@b.example\r\nSubject: s\r\n\r\n{body[:105]}".encode())
    assert unreadable_reason(msg) is None


@pytest.fixture
def rig(tmp_path: Path, example_plan: Path, free_port: int) -> Iterator[MailRig]:
    server = MailRig(tmp_path / "mail.db", example_plan, free_port).start()
    yield server
    server.stop()


def test_the_backlog_is_parsed_by_the_pool_and_live_mail_still_answers(
    rig: MailRig, pool: ParsePool
) -> None:
    rig.worker.pool = pool
    store = open_store(rig.db_path)
    _seed(
        store,
        [(_letter(i), "priya.shah@example.org", "correspondence@localhost") for i in range(300)],
    )
    store.close()
    rig.run(rig.worker.process_pending())
    codes = [rig.send(_letter(1000 + i))[0] for i in range(3)]  # send() waits for the drain
    assert codes == [250, 250, 250]
    assert rig.query("SELECT state, COUNT(*) FROM inbound GROUP BY state") == [("counted", 303)]
    assert rig.query("SELECT MAX(attempts) FROM inbound") == [(1,)]
    assert pool.analysed >= 300


def test_a_killed_worker_loses_no_message(rig: MailRig, pool: ParsePool) -> None:
    rig.worker.pool = pool
    rig.run(pool.start())
    [victim, *_] = pool.pids()
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)
    codes = [rig.send(_letter(i))[0] for i in range(5)]
    assert codes == [250] * 5
    assert rig.query("SELECT state, COUNT(*) FROM inbound GROUP BY state") == [("counted", 5)]
    assert pool.restarts == 1
    # A new pool takes the next batches.
    before = pool.analysed
    assert rig.send(_letter(99))[0] == 250
    assert rig.query("SELECT COUNT(*) FROM inbound WHERE state = 'counted'") == [(6,)]
    assert pool.analysed > before and victim not in pool.pids()


def test_shutdown_stops_the_workers(pool: ParsePool) -> None:
    asyncio.run(pool.start())
    pids = pool.pids()
    assert len(pids) == 2
    pool.shutdown()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_batch_past_its_budget_commits_what_it_did_and_leaves_the_rest(
    tmp_path: Path, example_plan: Path
) -> None:
    store = _store(tmp_path / "m.db", example_plan)
    ids = _seed(
        store,
        [(_letter(i), "priya.shah@example.org", "correspondence@localhost") for i in range(3)],
    )
    results = process_inbound_batch(store, [(i, None) for i in ids], POLICY, budget=0)
    assert [r.state for r in results] == ["counted"]
    states = store.db.execute("SELECT state FROM inbound ORDER BY id").fetchall()
    assert states == [("counted",), ("pending",), ("pending",)]
    store.close()


def test_a_header_too_long_to_read_is_quarantined_without_decoding_it() -> None:
    """A 200 KB Subject of encoded words: decoding it costs seconds, so it is never decoded."""
    words = " ".join(["=?utf-8?b?w6nDqcOp?="] * 10_000)
    raw = f"From: a@example.org\r\nSubject: {words}\r\n\r\nhello\r\n".encode()
    msg = parse_message(raw)
    reason = unreadable_reason(msg)
    assert reason is not None and reason.startswith("a Subject header of 210,006 characters")
    ok = parse_message(b"From: a@example.org\r\nSubject: " + b"x" * 5000 + b"\r\n\r\nhello\r\n")
    assert unreadable_reason(ok) is None
