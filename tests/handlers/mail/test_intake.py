"""SMTP's group commit: concurrent sessions share transactions, and each ``250`` still
means that session's message is committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from handlers.mail import GroupCommit
from handlers.service.writer import Writer
from store import Store, StoreUnavailable, open_store


def _raw(i: int) -> bytes:
    return f"From: a@example.org\r\nMessage-ID: <gc-{i}@x>\r\nSubject: {i}\r\n\r\nbody {i}\r\n".encode()


async def test_concurrent_messages_share_commits_and_all_are_stored(fresh_store: Store) -> None:
    commits: list[str] = []
    fresh_store.db.conn.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
    )
    intake = GroupCommit(Writer(fresh_store))
    ids = await asyncio.gather(
        *(
            intake.submit(raw=_raw(i), mail_from="a@example.org", rcpt_tos=["c@x"])
            for i in range(40)
        )
    )
    fresh_store.db.conn.set_trace_callback(None)
    assert sorted(ids) == list(range(1, 41))
    stored = fresh_store.db.execute("SELECT message_id FROM inbound ORDER BY id").fetchall()
    assert [r[0] for r in stored] == [f"<gc-{i}@x>" for i in range(40)]
    assert 1 <= len(commits) < 40  # batched: far fewer transactions than messages


async def test_a_failed_batch_fails_every_sender_in_it_and_stores_none(tmp_path: Path) -> None:
    store = open_store(tmp_path / "gc.db")
    locker = sqlite3.connect(tmp_path / "gc.db")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        intake = GroupCommit(Writer(store))
        results = await asyncio.gather(
            *(intake.submit(raw=_raw(i), mail_from=None, rcpt_tos=["c@x"]) for i in range(5)),
            return_exceptions=True,
        )
    finally:
        locker.rollback()
        locker.close()
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert store.db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 0
    # The next message, once the lock is gone, is committed as usual.
    assert (
        await GroupCommit(Writer(store)).submit(raw=_raw(9), mail_from=None, rcpt_tos=["c@x"]) == 1
    )
    store.close()


@pytest.mark.parametrize("n", [1])
async def test_one_message_alone_is_committed_at_once(fresh_store: Store, n: int) -> None:
    intake = GroupCommit(Writer(fresh_store))
    assert await intake.submit(raw=_raw(0), mail_from=None, rcpt_tos=["c@x"]) == n
