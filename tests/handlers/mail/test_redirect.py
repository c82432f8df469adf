"""Redirected and auto-forwarded correspondence over SMTP (a real aiosmtpd, smtplib as the
client), and STARTTLS on the SMTP port."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import re
import smtplib
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from certs import make_certificate

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import open_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "mail-corpus"
STAFF = "alex.morgan@example.org"


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


@dataclasses.dataclass
class Rig:
    controller: _Controller
    handler: MailHandler
    db_path: Path

    def send(
        self,
        raw: bytes,
        *,
        sender: str = STAFF,
        to: str = "correspondence@localhost",
        tls: ssl.SSLContext | None = None,
    ) -> int:
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        with smtplib.SMTP("127.0.0.1", self.controller.port, timeout=10) as client:
            client.ehlo("test")
            if tls is not None:
                client.starttls(context=tls)
                client.ehlo("test")
            code, _ = client.mail(sender)
            if code == 250:
                code, _ = client.rcpt(to)
            if code == 250:
                code, _ = client.data(raw)
        fut = asyncio.run_coroutine_threadsafe(self.handler.worker.drain(), self.controller.loop)
        fut.result(30)
        return code

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path)

    def states(self) -> list[str]:
        return [r[0] for r in self.db().execute("SELECT state FROM inbound ORDER BY id")]

    def counted(self) -> int:
        return int(self.db().execute("SELECT COUNT(*) FROM correspondence").fetchone()[0])


def _rig(tmp_path: Path, example_plan: Path, port: int, **smtp: object) -> Rig:
    db_path = tmp_path / "mail.db"
    store = open_store(db_path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    policy = MailPolicy(mail_domain="localhost", hash_key=b"test-key")
    handler = MailHandler(InboundWorker(Writer(store), policy))
    controller = _Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        data_size_limit=10 * 1024 * 1024,
        **smtp,
    )
    controller.start()
    return Rig(controller, handler, db_path)


@pytest.fixture
def rig(tmp_path: Path, example_plan: Path, free_port: int) -> Iterator[Rig]:
    r = _rig(tmp_path, example_plan, free_port)
    yield r
    r.controller.stop()


def _redirected(raw: bytes, by: str = STAFF) -> bytes:
    """What a mail client's Redirect sends: the message as it came, with Resent-* on top."""
    return (
        f"Resent-From: Alex Morgan <{by}>\r\n"
        "Resent-Date: Tue, 06 Sep 2022 09:00:00 +0100\r\n"
        "Resent-To: correspondence@localhost\r\n"
        f"Resent-Message-ID: <resent-{abs(hash(raw))}@example.org>\r\n"
    ).encode() + raw


def test_a_redirect_with_resent_from_is_counted(rig: Rig) -> None:
    raw = (FIXTURES / "gmail-forward.eml").read_bytes()  # From: Priya Shah, not the envelope
    assert rig.send(_redirected(raw)) == 250
    assert rig.states() == ["counted"]


def test_a_redirect_by_someone_else_is_quarantined_and_review_says_why(
    rig: Rig, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    raw = (FIXTURES / "gmail-forward.eml").read_bytes()
    assert rig.send(_redirected(raw, by="someone@elsewhere.example")) == 250
    assert rig.send(raw.replace(b"Message-ID: <", b"Message-ID: <plain-")) == 250
    assert rig.states() == ["quarantined", "quarantined"]
    env = {**cli_env, "DELIVERABOT_DB": str(rig.db_path)}
    review = subprocess.run(
        [deliverabot_exe, "mail", "review"], env=env, capture_output=True, text=True
    )
    assert review.returncode == 0, review.stderr
    assert f"neither a redirect by {STAFF}" in review.stdout
    assert "Resent-From/Resent-Sender: someone@elsewhere.example" in review.stdout
    assert "Resent-From/Resent-Sender: none" in review.stdout
    assert "SMTP_TRUSTED_PEERS" in review.stdout


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/mail-corpus is not beside the project")
def test_the_corpus_sent_as_redirects_is_counted_once(rig: Rig) -> None:
    files = sorted(CORPUS.glob("*.eml"))
    for f in files:
        assert rig.send(_redirected(f.read_bytes())) in (250, 552)
    states = rig.states()
    counted = rig.counted()
    # Before, 1 was counted and 52 quarantined ("From and envelope sender disagree").
    assert counted >= 35
    reasons = [r[0] or "" for r in rig.db().execute("SELECT reason FROM inbound")]
    assert not any("disagree" in r for r in reasons)
    assert "pending" not in states
    for f in files:  # redirected again: nothing counts twice
        rig.send(_redirected(f.read_bytes()))
    assert rig.counted() == counted


def test_a_forward_from_a_trusted_relay_is_counted_whatever_its_envelope(rig: Rig) -> None:
    raw = (FIXTURES / "gmail-forward.eml").read_bytes()
    srs = "SRS0=abcd=QX=gmail.com=resident@relay.opcc.example.org"
    assert rig.send(raw, sender=srs) == 550  # an unknown envelope from an untrusted peer
    rig.handler.policy = dataclasses.replace(
        rig.handler.policy, trusted_peers=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    assert rig.send(raw, sender=srs) == 250
    assert rig.states() == ["counted"]


# -- STARTTLS ---------------------------------------------------------------------------------


def test_starttls_on_the_smtp_port(tmp_path: Path, example_plan: Path, free_port: int) -> None:
    cert, key = make_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert), str(key))
    rig = _rig(tmp_path, example_plan, free_port, tls_context=server_tls, require_starttls=True)
    try:
        raw = (FIXTURES / "gmail-forward.eml").read_bytes()
        client_tls = ssl.create_default_context(cafile=str(cert))
        assert rig.send(raw, sender="priya.shah@example.org", tls=client_tls) == 250
        assert rig.states() == ["counted"]
        # Without STARTTLS the personal codes in RCPT TO would travel in clear: refused.
        with smtplib.SMTP("127.0.0.1", free_port, timeout=10) as client:
            client.ehlo("test")
            assert client.mail("priya.shah@example.org")[0] == 530
    finally:
        rig.controller.stop()


def test_serve_offers_starttls_with_the_configured_certificate(
    tmp_path: Path, deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    from dovecot import free_port as port

    cert, key = make_certificate(tmp_path)
    smtp, http = port(), port()
    env = {
        **cli_env,
        "PORT": str(http),
        "SMTP_PORT": str(smtp),
        "SMTP_TLS_CERT": str(cert),
        "SMTP_TLS_KEY": str(key),
    }
    subprocess.run([deliverabot_exe, "plan", "import", str(example_plan)], env=env, check=True)
    proc = subprocess.Popen([deliverabot_exe, "serve"], env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                client = smtplib.SMTP("127.0.0.1", smtp, timeout=5)
                break
            except OSError:
                subprocess.run([sys.executable, "-c", "import time; time.sleep(0.05)"])
        with client:
            client.ehlo("test")
            assert client.has_extn("starttls")
            client.starttls(context=ssl.create_default_context(cafile=str(cert)))
            client.ehlo("test")
            assert client.mail("priya.shah@example.org")[0] == 250
    finally:
        proc.terminate()
        proc.wait(20)
    # A key that does not fit the certificate: one clear line naming the settings.
    other_cert, _ = make_certificate(tmp_path, "other")
    bad = {**env, "SMTP_TLS_CERT": str(other_cert)}
    run = subprocess.run(
        [deliverabot_exe, "serve"], env=bad, capture_output=True, text=True, timeout=30
    )
    assert run.returncode != 0
    assert "SMTP_TLS_CERT/SMTP_TLS_KEY" in run.stderr and "Traceback" not in run.stderr
