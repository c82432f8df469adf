"""`deliverabot serve` as a real process: HTTP, SMTP, signals and start-up errors."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_health(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                assert r.status == 200
                return json.loads(r.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz in time")


@pytest.fixture
def served(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> Iterator[dict]:
    http, smtp = _free_port(), _free_port()
    env = {**cli_env, "PORT": str(http), "SMTP_PORT": str(smtp)}
    subprocess.run(
        [deliverabot_exe, "plan", "import", str(example_plan)],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [deliverabot_exe, "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        health = _wait_for_health(http, proc)
        yield {"proc": proc, "http": http, "smtp": smtp, "health": health, "env": env}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_healthz_reports_status_and_database(served: dict) -> None:
    health = served["health"]
    assert health["status"] == "ok"
    assert health["database"] == served["env"]["DELIVERABOT_DB"]
    assert health["slack"] == "off"


def _health(port: int) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            status, body = r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        status, body = err.code, json.loads(err.read())
    return status, body, time.monotonic() - started


def test_healthz_stays_fast_and_says_degraded_while_the_database_is_locked(
    served: dict,
) -> None:
    import threading

    locker = sqlite3.connect(served["env"]["DELIVERABOT_DB"], timeout=1)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        # A message arrives: the store's own thread now waits on the lock (busy timeout).
        sending = threading.Thread(
            target=lambda: smtplib.SMTP("127.0.0.1", served["smtp"], timeout=30).sendmail(
                "priya.shah@example.org",
                ["correspondence@localhost"],
                b"From: priya.shah@example.org\r\nSubject: x\r\nMessage-ID: <l@x>\r\n\r\nx\r\n",
            ),
            daemon=True,
        )
        sending.start()
        time.sleep(0.3)
        status, body, took = _health(served["http"])
        assert status == 503 and body["status"] == "degraded"
        assert "locked" in body["reason"] or "did not answer" in body["reason"]
        assert took < 1.0, took  # the promise is 100 ms; this guards against waiting on the lock
    finally:
        locker.rollback()
        locker.close()
    sending.join(30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body, _ = _health(served["http"])
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200 and body["status"] == "ok" and body["reason"] is None


def test_smtp_accepts_a_connection_and_commits_before_250(served: dict) -> None:
    with smtplib.SMTP("127.0.0.1", served["smtp"], timeout=10) as client:
        code, banner = client.ehlo()
        assert code == 250
        assert b"SIZE 10485760" in banner
        assert client.docmd("MAIL FROM:<stranger@example.com>")[0] == 250
        assert client.docmd("RCPT TO:<correspondence@localhost>") == (
            550,
            b"5.7.1 Sender not allowed to use this mailbox",
        )
        client.rset()
        assert client.docmd("MAIL FROM:<priya.shah@example.org>")[0] == 250
        assert client.docmd("RCPT TO:<nobody@localhost>")[0] == 550
        client.rset()
        client.sendmail(
            "priya.shah@example.org",
            ["correspondence@localhost"],
            b"From: priya.shah@example.org\r\nSubject: Fwd: speeding\r\n"
            b"Message-ID: <fwd-1@example.org>\r\n\r\n"
            b"---------- Forwarded message ---------\r\n"
            b"From: Resident <resident@example.com>\r\nDate: Mon, 5 Sep 2022 at 10:12\r\n"
            b"Subject: speeding on the High Street\r\nTo: PCC <pcc@example.org>\r\n\r\n"
            b"Cars race past the school every morning.\r\n",
        )
    db = sqlite3.connect(served["env"]["DELIVERABOT_DB"])
    deadline = time.monotonic() + 10
    state = None
    while time.monotonic() < deadline:
        state = db.execute("SELECT state FROM inbound").fetchone()[0]
        if state != "pending":
            break
        time.sleep(0.05)
    assert state == "counted"
    assert db.execute(
        "SELECT received_on, category, sender_domain FROM correspondence"
    ).fetchall() == [("2022-09-05", "public", "example.com")]


def test_sigterm_shuts_down_cleanly(served: dict) -> None:
    proc: subprocess.Popen[str] = served["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    err = proc.stderr.read() if proc.stderr else ""
    assert err.count("Slack is off") == 1
    assert "stopped" in err
    assert "Traceback" not in err


def test_sigint_shuts_down_cleanly(served: dict) -> None:
    proc: subprocess.Popen[str] = served["proc"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(15) == 0


def test_port_in_use_is_one_clear_error(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**cli_env, "PORT": str(port), "SMTP_PORT": str(_free_port())}
        result = subprocess.run(
            [deliverabot_exe, "serve"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"PORT={port}: 127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr
