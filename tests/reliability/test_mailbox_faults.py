"""The mailbox source in a real `deliverabot serve` against a real Dovecot: kill -9 in the
middle of a batch, and two serve processes reading one mailbox into one database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import PASSWORD, Dovecot, missing_reason
from reliability_harness import Served, health, scale

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.close()


def _letter(i: int) -> bytes:
    return (
        f"From: Resident {i} <r{i}@example.com>\r\nTo: opcc@opcc.example.org\r\n"
        f"Subject: Speeding, case box-{i}\r\nMessage-ID: <box-{i}@example.com>\r\n"
        f"Date: Mon, 12 Sep 2022 09:00:00 +0100\r\n\r\nCars speed on Mill Road, case {i}.\r\n"
    ).encode()


def _mailbox_env(served: Served, dovecot: Dovecot) -> None:
    served.env.update(
        {
            "MAILBOX_URL": dovecot.url(),
            "MAILBOX_PASSWORD": PASSWORD,
            "MAILBOX_SINCE": "2000-01-01",
        }
    )


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _once(served: Served, total: int) -> None:
    assert served.query("SELECT COUNT(*) FROM correspondence") == [(total,)]
    assert served.query("SELECT COUNT(*) FROM inbound") == [(total,)]
    assert served.query("SELECT COUNT(DISTINCT message_id) FROM inbound") == [(total,)]
    assert served.query("SELECT COUNT(*) FROM inbound WHERE state != 'counted'") == [(0,)]


def test_kill9_during_a_batch_then_restart_counts_every_message_once(
    served: Served, dovecot: Dovecot
) -> None:
    total = scale("RELIABILITY_MAILBOX", 400)
    dovecot.append([_letter(i) for i in range(total)])
    _mailbox_env(served, dovecot)
    served.start()
    _wait(lambda: served.query("SELECT COUNT(*) FROM mailbox_messages")[0][0] > total // 10)
    served.kill9()
    taken = served.query("SELECT COUNT(*) FROM mailbox_messages")[0][0]
    assert 0 < taken < total, f"the kill did not land in the batch ({taken} of {total})"
    served.start()
    _wait(lambda: dovecot.count("Processed") == total and dovecot.count("INBOX") == 0)
    _wait(lambda: served.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'") == [(0,)])
    status, body, _ = health(served.http)
    assert status == 200 and body["mailbox"]["folders"]["INBOX"]["error"] is None
    code, _ = served.stop()
    assert code == 0
    _once(served, total)
    assert sorted(dovecot.message_ids("Processed")) == sorted(
        f"<box-{i}@example.com>" for i in range(total)
    )


def test_two_serve_processes_on_one_mailbox_count_each_message_once(
    served: Served, dovecot: Dovecot, deliverabot_exe: str, tmp_path: Path
) -> None:
    total = scale("RELIABILITY_MAILBOX", 400) // 2
    _mailbox_env(served, dovecot)
    other = Served(deliverabot_exe, dict(served.env), tmp_path)
    served.start()
    other.start()
    try:
        for batch in range(4):
            dovecot.append([_letter(batch * (total // 4) + i) for i in range(total // 4)])
            time.sleep(0.1)
        _wait(lambda: dovecot.count("Processed") >= total, timeout=120)
        _wait(
            lambda: served.query("SELECT COUNT(*) FROM inbound WHERE state = 'pending'") == [(0,)]
        )
    finally:
        logs = other.stop()[1] + served.stop()[1]
    warnings = [line for line in logs.splitlines() if "WARNING" in line or "ERROR" in line]
    assert dovecot.count("Processed") == total, warnings
    _once(served, total)
