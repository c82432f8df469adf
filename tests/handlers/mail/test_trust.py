"""Who may write by mail, attacked through a real aiosmtpd server with smtplib as the client.

The client connects from 127.0.0.1 (an untrusted peer) or from 127.0.0.2 (the office's relay,
named in ``trusted_peers``): Linux answers on the whole of 127/8, so one server sees two peers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import re
import smtplib
import sqlite3
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.mail.trust import CodeThrottle, peer_trusted
from handlers.plan import load_plan
from handlers.service import import_plan, mail_token
from handlers.service.writer import Writer
from store import Status, Store, open_store

UNTRUSTED = "127.0.0.1"
RELAY = "127.0.0.2"  # the office's own mail server, in trusted_peers


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, controller: _Controller, handler: MailHandler, db_path: Path) -> None:
        self.controller = controller
        self.handler = handler
        self.db_path = db_path
        self.replies: list[EmailMessage] = []
        self.clock = Clock()

    def session(self, peer: str = UNTRUSTED) -> smtplib.SMTP:
        client = smtplib.SMTP(
            "127.0.0.1", self.controller.port, timeout=10, source_address=(peer, 0)
        )
        client.ehlo("test")
        return client

    def rcpt(self, to: str, *, peer: str = UNTRUSTED, sender: str = "alex.morgan@example.org"):
        with self.session(peer) as client:
            client.mail(sender)
            return client.rcpt(to)

    def send(
        self,
        raw: bytes,
        *,
        peer: str = UNTRUSTED,
        sender: str = "alex.morgan@example.org",
        to: str = "updates@localhost",
    ) -> int:
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        with self.session(peer) as client:
            client.mail(sender)
            code, _ = client.rcpt(to)
            if code != 250:
                return code
            code, _ = client.data(raw)
        asyncio.run_coroutine_threadsafe(self.handler.worker.drain(), self.controller.loop).result(
            30
        )
        return code

    def store(self) -> Store:
        return open_store(self.db_path)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path)

    def inbound(self) -> list[tuple[str, str]]:
        return list(self.db().execute("SELECT state, reason FROM inbound ORDER BY id"))

    def updates(self) -> int:
        return len(self.store().updates())


@pytest.fixture
def rig(tmp_path: Path, example_plan: Path, free_port: int) -> Iterator[Rig]:
    db_path = tmp_path / "mail.db"
    seed = open_store(db_path)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    store = open_store(db_path)
    policy = MailPolicy(
        mail_domain="localhost",
        hash_key=b"test-key",
        trusted_relays=("mx.opcc.example",),
        trusted_peers=(ipaddress.ip_network(RELAY),),
    )
    handler = MailHandler(InboundWorker(Writer(store), policy))
    controller = _Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port,
        server_hostname="localhost",
        data_size_limit=64 * 1024,
        command_call_limit=100,
    )
    rig = Rig(controller, handler, db_path)

    async def capture(msg: EmailMessage) -> str:
        rig.replies.append(msg)
        return "captured"

    handler.worker.send_mail = capture
    handler.codes.clock = rig.clock
    controller.start()
    yield rig
    controller.stop()
    store.close()


def _token(rig: Rig, email: str) -> str:
    store = rig.store()
    person = store.person_by_email(email)
    assert person is not None
    return mail_token(store, person=person)


# -- 1. a forged Authentication-Results proves nothing ---------------------------------------

AR = "Authentication-Results:"
PASS = f"{AR} mx.opcc.example; dmarc=pass header.from=example.org"
FAIL = f"{AR} mx.opcc.example; dmarc=fail header.from=example.org"
ALEX = "From: Alex Morgan <alex.morgan@example.org>"  # an editor, who may update any deliverable

# (name, header lines above Subject, proven when it comes from the trusted relay).
# CF-10 is Priya's; the attack records an editor's "completed" on it.
VARIANTS: list[tuple[str, list[str], bool]] = [
    ("plain pass", [PASS, ALEX], True),
    ("authserv-id upper case", [PASS.replace("mx.opcc", "MX.OPCC"), ALEX], True),
    ("dmarc=PASS", [PASS.replace("pass", "PASS"), ALEX], True),
    ("header name lower case", [PASS.replace(AR, AR.lower()), ALEX], True),
    (
        "folded header",
        [f"{AR} mx.opcc.example;\r\n\tdmarc=pass\r\n header.from=example.org", ALEX],
        True,
    ),
    ("aligned dkim pass", [f"{AR} mx.opcc.example; dkim=pass header.d=example.org", ALEX], True),
    (
        "version, comments, domain case",
        [
            f"{AR} mx.opcc.example 1; spf=pass smtp.mailfrom=example.org;"
            " dmarc=pass (p=reject dis=none) header.from=EXAMPLE.ORG",
            ALEX,
        ],
        True,
    ),
    (
        "the relay's two headers, both pass",
        [PASS, f"{AR} mx.opcc.example; dkim=pass header.d=example.org", ALEX],
        True,
    ),
    (
        "encoded-word header",
        [f"{AR} =?utf-8?q?mx.opcc.example=3B_dmarc=3Dpass_header.from=3Dexample.org?=", ALEX],
        False,
    ),
    (
        "encoded-word domain",
        [f"{AR} mx.opcc.example; dmarc=pass header.from==?utf-8?q?example.org?=", ALEX],
        False,
    ),
    (
        "dmarc=fail; dkim=pass in one header",
        [f"{AR} mx.opcc.example; dmarc=fail; dkim=pass header.d=example.org", ALEX],
        False,
    ),
    ("a pass header above a fail header", [PASS, FAIL, ALEX], False),
    ("a fail header above a pass header", [FAIL, PASS, ALEX], False),
    (
        "pass then fail in one header",
        [
            f"{AR} mx.opcc.example; dmarc=pass header.from=example.org;"
            " dmarc=fail header.from=example.org",
            ALEX,
        ],
        False,
    ),
    (
        "dkim fail for the domain beside a dmarc pass",
        [
            f"{AR} mx.opcc.example; dkim=fail header.d=example.org;"
            " dmarc=pass header.from=example.org",
            ALEX,
        ],
        False,
    ),
    (
        "the relay's fail further down, below another relay",
        [PASS, f"{AR} mx.other.example; none", FAIL, ALEX],
        False,
    ),
    (
        "dkim pass for another domain",
        [f"{AR} mx.opcc.example; dkim=pass header.d=attacker.example", ALEX],
        False,
    ),
    ("header.from mismatch", [PASS.replace("=example.org", "=attacker.example"), ALEX], False),
    (
        "a lookalike domain",
        [PASS.replace("=example.org", "=example.org.attacker.example"), ALEX],
        False,
    ),
    ("an untrusted authserv-id", [PASS.replace("mx.opcc", "mx.attacker"), ALEX], False),
    ("our relay's pass below another relay's", [f"{AR} mx.other.example; none", PASS, ALEX], False),
    (
        "the pass only in a comment",
        [
            f"{AR} mx.opcc.example; dmarc=fail (dmarc=pass header.from=example.org)"
            " header.from=example.org",
            ALEX,
        ],
        False,
    ),
    ("dmarc=pass naming no domain", [f"{AR} mx.opcc.example; dmarc=pass", ALEX], False),
    ("dmarc=temperror", [PASS.replace("=pass", "=temperror"), ALEX], False),
    ("unparseable", [f"{PASS}; ;;; = =", ALEX], False),
    (
        "ARC-Authentication-Results",
        [
            "ARC-Authentication-Results: i=1; mx.opcc.example; dmarc=pass header.from=example.org",
            ALEX,
        ],
        False,
    ),
    ("duplicate From", [PASS, ALEX, "From: Mallory <mallory@attacker.example>"], False),
    ("two From addresses", [PASS, f"{ALEX}, mallory@attacker.example"], False),
    (
        "encoded-word From",
        [PASS, "From: =?utf-8?q?alex.morgan=40example.org?= <mallory@attacker.example>"],
        False,
    ),
    ("no Authentication-Results", [ALEX], False),
]


def _message(lines: list[str], tag: str) -> bytes:
    head = "\r\n".join(lines)
    return (
        f"{head}\r\nTo: updates@localhost\r\nSubject: CF-10 done\r\n"
        f"Message-ID: <{tag}@attacker.example>\r\n\r\nForged completion.\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("lines", "proven"), [(v[1], v[2]) for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_only_a_trusted_peer_relays_proof(rig: Rig, lines: list[str], proven: bool) -> None:
    before = rig.updates()
    # Straight to the bot's port, from a peer that is not the relay: never proof.
    assert rig.send(_message(lines, "direct")) == 250
    assert rig.updates() == before
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING
    assert [state for state, _ in rig.inbound()] == ["update_refused"]
    # The same message through the office's relay: proof only when the relay really said so.
    assert rig.send(_message(lines, "relayed"), peer=RELAY) == 250
    states = [state for state, _ in rig.inbound()]
    if proven:
        assert states == ["update_refused", "update"]
        assert rig.updates() == before + 1
        store = rig.store()
        cf10 = store.deliverable_by_ref("CF-10")
        assert cf10.status is Status.COMPLETED
        newest = store.updates(deliverable_id=cf10.id, newest_first=True)[0]
        assert newest.person_id == store.person_by_email("alex.morgan@example.org").id
    else:
        assert states == ["update_refused", "update_refused"]
        assert rig.updates() == before
        assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


def test_without_trusted_peers_relay_proof_is_off(rig: Rig) -> None:
    import dataclasses

    rig.handler.policy = dataclasses.replace(rig.handler.policy, trusted_peers=())
    assert rig.send(_message([PASS, ALEX], "p"), peer=RELAY) == 250
    [(state, reason)] = rig.inbound()
    assert state == "update_refused"
    assert "SMTP_TRUSTED_PEERS" in reason
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


# -- 3. a refused update makes no reply, unless a staff address proved itself ----------------

MALLORY = "From: Mallory <mallory@attacker.example>"


@pytest.mark.parametrize(
    ("lines", "to"),
    [
        ([MALLORY], "updates@localhost"),  # an outsider, no proof
        ([ALEX], "update+CF-10@localhost"),  # a staff From:, no proof
        ([PASS, MALLORY], "updates@localhost"),  # a forged relay pass
        ([MALLORY], f"update+CF-10+{'0' * 20}@localhost"),  # a wrong code
    ],
    ids=["outsider", "staff From", "forged pass", "wrong code"],
)
def test_an_unproven_update_is_recorded_as_refused_and_answered_to_nobody(
    rig: Rig, lines: list[str], to: str
) -> None:
    raw = _message(lines, "x").replace(b"CF-10 done", b"CF-10 done - click http://evil.example")
    assert rig.send(raw, to=to) == 250
    [(state, reason)] = rig.inbound()
    assert state == "update_refused"
    assert reason  # why, for `mail review` and the operator
    assert rig.replies == []  # no backscatter to whatever From: it carried
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


def test_a_refusal_with_a_valid_code_is_answered_to_the_persons_own_address(rig: Rig) -> None:
    token = _token(rig, "tom.fletcher@example.org")  # CF-10 is Priya's, not Tom's
    assert rig.send(_message([MALLORY], "t"), to=f"updates+{token}@localhost") == 250
    assert [state for state, _ in rig.inbound()] == ["update_refused"]
    [reply] = rig.replies
    assert reply["To"] == "tom.fletcher@example.org"
    assert "Only Priya Shah or an editor can update CF-10" in reply.get_content()


# -- 4. personal codes: only in the person's row; guessing is throttled ----------------------


def test_a_personal_code_is_kept_nowhere_but_the_persons_row(
    rig: Rig, caplog: pytest.LogCaptureFixture, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="handlers")  # aiosmtpd's mail.log: WARNING in serve
    good = _token(rig, "priya.shah@example.org")
    wrong = "0123456789abcdef0123"
    sent = [
        (f"update+CF-10+{good}@localhost", b"CF-10 done"),  # recorded
        (f"updates+{wrong}@localhost", b"CF-10 done"),  # refused
        (f"update+{good.upper()}+CF-10@localhost", b"CF-10 ongoing"),  # recorded, any case
    ]
    for i, (to, subject) in enumerate(sent):
        raw = (
            (
                f"From: priya.shah@example.org\r\nTo: {to}\r\nDelivered-To: {to}\r\n"
                f"Message-ID: <c{i}@example.org>\r\n"
            ).encode()
            + b"Subject: "
            + subject
            + b"\r\n\r\nNote.\r\n"
        )
        assert rig.send(raw, sender="priya.shah@example.org", to=to) == 250
    # unreadable mail to a personal address: quarantined for review
    binary = b"From: priya.shah@example.org\r\n\r\n" + bytes(range(1, 30)) * 300
    assert rig.send(binary, sender="priya.shah@example.org", to=f"updates+{good}@localhost") == 250
    states = [state for state, _ in rig.inbound()]
    assert states == ["update", "update_refused", "update", "quarantined"]
    rows = rig.db().execute("SELECT * FROM inbound").fetchall()
    stored = repr(rows).lower()
    assert good not in stored and wrong not in stored
    assert "update+cf-10+code-removed@localhost" in stored  # the address stays readable
    review = subprocess.run(
        [deliverabot_exe, "mail", "review", "--json"],
        env={**cli_env, "DELIVERABOT_DB": str(rig.db_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "code-removed" in review and good not in review.lower()
    assert good not in caplog.text.lower() and wrong not in caplog.text
    owner = rig.db().execute("SELECT mail_token FROM people WHERE mail_token = ?", [good])
    assert owner.fetchone() == (good,)  # the one place it is kept


def test_ten_wrong_codes_from_one_peer_get_450_for_an_hour(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers")
    good = _token(rig, "alex.morgan@example.org")
    guesses = [f"{i:020x}" for i in range(1, 11)]
    for guess in guesses:
        assert rig.rcpt(f"updates+{guess}@localhost")[0] == 250
    # The next hour: every update address from that peer, a valid code included, gets 450.
    for to in (f"updates+{good}@localhost", f"updates+{'f' * 20}@localhost", "updates@localhost"):
        code, text = rig.rcpt(to)
        assert code == 450, to
        assert b"try again later" in text
    assert rig.rcpt("correspondence@localhost")[0] == 250  # correspondence still flows
    assert rig.rcpt(f"updates+{good}@localhost", peer=RELAY)[0] == 250  # another peer
    lines = [r.getMessage() for r in caplog.records if "wrong personal codes" in r.getMessage()]
    assert len(lines) == 1
    assert "127.0.0.1" in lines[0]
    assert not any(g in caplog.text for g in guesses)
    rig.clock.now += 3600
    assert rig.rcpt(f"updates+{good}@localhost")[0] == 250


def test_wrong_codes_spread_over_more_than_an_hour_are_not_throttled(rig: Rig) -> None:
    for i in range(1, 20):
        assert rig.rcpt(f"updates+{i:020x}@localhost")[0] == 250
        rig.clock.now += 400  # nine an hour


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),  # an IPv4 peer on a dual-stack listener
        ("2001:db8::25", True),
        ("10.2.0.1", False),
        ("2001:db9::1", False),
        (None, False),  # mail import: no peer, no relay proof
        ("not-an-address", False),
    ],
)
def test_trusted_peers_are_matched_by_address(peer: str | None, trusted: bool) -> None:
    networks = [ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("2001:db8::/32")]
    assert peer_trusted(peer, networks) is trusted


def test_an_ipv6_peer_is_throttled_by_its_64() -> None:
    throttle = CodeThrottle(limit=3)
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
        assert not throttle.blocked(host)
        throttle.wrong(host)
    assert throttle.blocked("2001:db8:1:2::99")  # the same /64
    assert not throttle.blocked("2001:db8:1:3::1")
    assert not throttle.blocked("192.0.2.1")
