"""The fault suite's harness (tests/reliability): a real `deliverabot serve` process on 127.0.0.1, and clients.

Each test prints its figure ("accepted N, found N", ...). Sizes come from the environment,
so CI runs the fast part and `make reliability` the long one:
RELIABILITY_MESSAGES, RELIABILITY_FUZZ, RELIABILITY_SOAK_SECONDS, RELIABILITY_GARBAGE_SECONDS,
RELIABILITY_FORMS, RELIABILITY_REPLAYS, RELIABILITY_IMPORT_ROWS, RELIABILITY_BACKLOG,
RELIABILITY_DATA_SESSIONS, RELIABILITY_DATA_MB.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def scale(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(port: int, timeout: float = 5) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as r:
            return r.status, json.loads(r.read()), time.monotonic() - started
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), time.monotonic() - started


def message(i: int, tag: str = "rel") -> bytes:
    return (
        f"From: priya.shah@example.org\r\nTo: correspondence@localhost\r\n"
        f"Subject: Fwd: case {tag}-{i}\r\nMessage-ID: <{tag}-{i}@example.org>\r\n"
        f"Date: Mon, 12 Sep 2022 10:00:00 +0100\r\n\r\n"
        f"---------- Forwarded message ---------\r\nFrom: Resident {i} <r{i}@example.com>\r\n"
        f"Date: Mon, 12 Sep 2022 at 09:00\r\nSubject: Speeding, case {tag}-{i}\r\n\r\n"
        f"Cars speed on Mill Road, case {tag}-{i}.\r\n"
    ).encode()


def send(port: int, raw: bytes, timeout: float = 30) -> int:
    """The DATA reply code (or the first failing one); 0 if the connection failed."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as client:
            client.ehlo("rel")
            code = client.mail("priya.shah@example.org")[0]
            if code != 250:
                return code
            code = client.rcpt("correspondence@localhost")[0]
            if code != 250:
                return code
            client.putcmd("data")
            code = client.getreply()[0]
            if code != 354:
                return code
            client.send(raw + b"\r\n.\r\n")
            return client.getreply()[0]
    except (OSError, smtplib.SMTPException):
        return 0


def seed_pending(db: Path, n: int, tag: str) -> None:
    """What a crash leaves behind: ``n`` raw messages committed and answered ``250`` but
    never parsed (state ``pending``), as the SMTP group commit stores them."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    rows = [
        (
            now,
            "smtp",
            "priya.shah@example.org",
            "correspondence@localhost",
            f"<{tag}-{i}@example.org>",
            len(raw),
            raw,
        )
        for i, raw in ((i, message(i, tag)) for i in range(n))
    ]
    with sqlite3.connect(db, timeout=10) as conn:
        conn.executemany(
            "INSERT INTO inbound (received_at, source, mail_from, rcpt_tos, message_id, size, "
            "raw, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
            rows,
        )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@dataclass
class Served:
    exe: str
    env: dict[str, str]
    cwd: Path
    http: int = field(default_factory=free_port)
    smtp: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    log: Path | None = None  # stderr goes to this file instead of a pipe (for big logs)

    @property
    def db(self) -> Path:
        return Path(self.env["DELIVERABOT_DB"])

    def start(self) -> None:
        env = {**self.env, "PORT": str(self.http), "SMTP_PORT": str(self.smtp)}
        log = self.log.open("a") if self.log is not None else None
        self.proc = subprocess.Popen(
            [self.exe, "serve"],
            env=env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if log is None else log,
            text=True,
        )
        if log is not None:
            log.close()  # the child has its own copy
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            try:
                status, _, _ = health(self.http, timeout=1)
                if status in (200, 503):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("serve did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if self.log is not None:
            err = self.log.read_text(errors="replace")
        return self.proc.returncode, err or ""

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.db, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()


class SlackThread:
    """The fake Slack Web API on a loop of its own, for a `serve` in another process."""

    SECRET = "reliability-secret"

    def __init__(self, users: dict[str, str] | None = None) -> None:
        import asyncio
        import threading

        from fake_slack import FakeSlack

        self.fake = FakeSlack(users=users)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)

    def env(self) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": "xoxb-reliability",
            "SLACK_SIGNING_SECRET": self.SECRET,
            "SLACK_API_URL": self.fake.api_url,
        }

    def command_body(self, text: str, user: str, name: str) -> str:
        import urllib.parse

        return urllib.parse.urlencode(
            {
                "command": "/deliverable",
                "text": text,
                "user_id": user,
                "team_id": "T1",
                "channel_id": "C1",
                "response_url": self.fake.response_url(name),
                "trigger_id": "t",
            }
        )

    def command(self, http_port: int, text: str, user: str, name: str) -> int:
        """POST a signed /deliverable command to serve; the HTTP status (0: no answer)."""
        return self.post(http_port, self.command_body(text, user, name))[0]

    def post(
        self, http_port: int, body: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST ``body`` to serve's /slack/events, signed unless ``headers`` are given:
        (status, text); status 0 when there was no answer."""
        from fake_slack import sign

        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/slack/events",
            data=body.encode(),
            headers=sign(self.SECRET, body) if headers is None else headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")
        except OSError:
            return 0, ""

    def replies(self) -> list[tuple[str, dict]]:
        return list(self.fake.responses)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
