"""`deliverabot mail sync`: the first run on a mailbox, against a real Dovecot."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import PASSWORD, Dovecot, missing_reason

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.close()


def _letter(i: int) -> bytes:
    return (
        f"From: Resident {i} <r{i}@example.com>\r\nSubject: Case {i}\r\n"
        f"Message-ID: <sync-{i}@example.com>\r\nDate: Mon, 12 Sep 2022 09:00:00 +0100\r\n\r\n"
        f"Letter {i}.\r\n"
    ).encode()


def test_mail_sync_counts_with_a_progress_bar_and_a_summary(
    dovecot: Dovecot, deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    auto = (FIXTURES / "auto-reply.eml").read_bytes()
    dovecot.append([*(_letter(i) for i in range(30)), _letter(3), auto])
    env = {**cli_env, "MAILBOX_URL": dovecot.url(), "MAILBOX_PASSWORD": PASSWORD}
    subprocess.run([deliverabot_exe, "plan", "import", str(example_plan)], env=env, check=True)
    run = subprocess.run(
        [deliverabot_exe, "mail", "sync"], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "32/32" in run.stderr and "msg" in run.stderr  # tqdm, as mail import shows it
    lines = run.stdout.splitlines()
    assert lines[0] == "32 messages read from bot@opcc.example.org@127.0.0.1"
    assert "  counted            30" in lines
    assert "  duplicates         1" in lines
    assert "  skipped as noise   1" in lines
    assert dovecot.count("Processed") == 32 and dovecot.count("INBOX") == 0
    again = subprocess.run(
        [deliverabot_exe, "mail", "sync", "--no-progress"], env=env, capture_output=True, text=True
    )
    assert again.stdout.splitlines()[0].startswith("0 messages read")


def test_mail_sync_with_a_wrong_password_is_one_clear_line(
    dovecot: Dovecot, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "MAILBOX_URL": dovecot.url(), "MAILBOX_PASSWORD": "not-it"}
    run = subprocess.run([deliverabot_exe, "mail", "sync"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("deliverabot: bot@opcc.example.org@127.0.0.1: the mailbox refused")
    assert "not-it" not in run.stderr and "Traceback" not in run.stderr
