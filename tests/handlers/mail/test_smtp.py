"""The SMTP side against a real aiosmtpd Controller, with smtplib as the client."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import os
import re
import smtplib
import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.mail.parse import parse_message, sender_address
from handlers.plan import load_plan
from handlers.service import import_plan, mail_token
from handlers.service.writer import Writer
from store import Status, Store, open_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
RULES = [("parliament.uk", "mp"), ("*.gov.uk", "partner")]


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


class Rig:
    def __init__(
        self,
        controller: _Controller,
        handler: MailHandler,
        db_path: Path,
        replies: list[EmailMessage],
    ) -> None:
        self.controller = controller
        self.handler = handler
        self.db_path = db_path
        self.replies = replies

    @property
    def port(self) -> int:
        return self.controller.port

    def send(
        self,
        raw: bytes,
        *,
        sender: str = "priya.shah@example.org",
        to: str = "correspondence@localhost",
    ) -> tuple[int, bytes]:
        # Line endings as a sending MTA puts them on the wire (smtplib leaves bytes alone).
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.ehlo("test")
            code, resp = client.mail(sender)
            if code != 250:
                return code, resp
            code, resp = client.rcpt(to)
            if code != 250:
                return code, resp
            code, resp = client.data(raw)
        self.drain()
        return code, resp

    def drain(self) -> None:
        asyncio.run_coroutine_threadsafe(self.handler.worker.drain(), self.controller.loop).result(
            30
        )

    def store(self) -> Store:
        return open_store(self.db_path)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path)

    def states(self) -> list[str]:
        return [r[0] for r in self.db().execute("SELECT state FROM inbound ORDER BY id")]


@pytest.fixture
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, example_plan: Path, free_port: int
) -> Iterator[Rig]:
    db_path = tmp_path / "mail.db"
    seed = open_store(db_path)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    store = open_store(db_path)
    replies: list[EmailMessage] = []

    async def capture(msg: EmailMessage) -> str:
        replies.append(msg)
        return "captured"

    policy = MailPolicy(
        mail_domain="localhost",
        hash_key=b"test-key",
        allowed_senders=("@partner.example.net",),
        category_rules=RULES,
    )
    handler = MailHandler(InboundWorker(Writer(store), policy, send_mail=capture))
    controller = _Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port,
        server_hostname="localhost",
        data_size_limit=getattr(request, "param", 64 * 1024),
        command_call_limit=100,
    )
    controller.start()
    yield Rig(controller, handler, db_path, replies)
    controller.stop()
    store.close()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def correspondence(rig: Rig) -> list[tuple]:
    return (
        rig.db()
        .execute(
            "SELECT received_on, category, sender_domain, subject, flags FROM correspondence ORDER BY id"
        )
        .fetchall()
    )


# -- what counts, per client ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "to", "sender", "expected"),
    [
        (
            "gmail-forward.eml",
            "correspondence@localhost",
            "priya.shah@example.org",
            ("2022-09-05", "public", "gmail.com", "Speeding on Mill Road", None),
        ),
        (
            "outlook-forward.eml",
            "correspondence@localhost",
            "tom.fletcher@example.org",
            ("2022-09-06", "mp", "parliament.uk", "Knife crime funding question", None),
        ),
        (
            "apple-forward.eml",
            "correspondence+complaint@localhost",
            "grace.okafor@example.org",
            ("2022-09-07", "complaint", "outlook.com", "Complaint about response time", None),
        ),
        (
            "thunderbird-forward.eml",
            "correspondence@localhost",
            "dan.hughes@example.org",
            ("2022-09-08", "media", "localpaper.co.uk", "Interview request", None),
        ),
        (
            "attached-forward.eml",
            "correspondence@localhost",
            "alex.morgan@example.org",
            (
                "2022-09-08",
                "partner",
                "cambridgeshire.gov.uk",
                "Road safety partnership meeting",
                None,
            ),
        ),
    ],
)
def test_each_client_forward_counts_the_original(
    rig: Rig, name: str, to: str, sender: str, expected: tuple
) -> None:
    code, _ = rig.send(fixture(name), sender=sender, to=to)
    assert code == 250
    assert rig.states() == ["counted"]
    assert correspondence(rig) == [expected]


def test_original_sender_is_kept_only_as_domain_and_keyed_hash(rig: Rig) -> None:
    rig.send(fixture("gmail-forward.eml"))
    row = rig.db().execute("SELECT * FROM correspondence").fetchone()
    assert "sam.resident" not in repr(row)
    forwarders = rig.db().execute("SELECT forwarder FROM correspondence_forwards").fetchall()
    assert forwarders == [("priya.shah@example.org",)]


def test_same_original_forwarded_by_two_people_counts_once(rig: Rig) -> None:
    rig.send(fixture("attached-forward.eml"), sender="alex.morgan@example.org")
    second = (
        fixture("attached-forward.eml")
        .replace(
            b"From: Alex Morgan <alex.morgan@example.org>",
            b"From: Priya Shah <priya.shah@example.org>",
        )
        .replace(b"<attach-fwd-1@example.org>", b"<attach-fwd-2@example.org>")
    )
    assert rig.send(second)[0] == 250
    assert rig.states() == ["counted", "duplicate"]
    assert len(correspondence(rig)) == 1
    forwarders = [
        r[0]
        for r in rig.db().execute("SELECT forwarder FROM correspondence_forwards ORDER BY rowid")
    ]
    assert forwarders == ["alex.morgan@example.org", "priya.shah@example.org"]


def test_inline_forwards_without_message_id_dedup_by_content(rig: Rig) -> None:
    rig.send(fixture("gmail-forward.eml"))
    again = (
        fixture("gmail-forward.eml")
        .replace(b"<CAgmail-fwd-1@mail.gmail.com>", b"<CAgmail-fwd-2@mail.gmail.com>")
        .replace(b"FYI - another one", b"Sending again")
        .replace(
            b"From: Priya Shah <priya.shah@example.org>",
            b"From: Alex Morgan <alex.morgan@example.org>",
        )
    )
    rig.send(again, sender="alex.morgan@example.org")
    assert rig.states() == ["counted", "duplicate"]
    assert len(correspondence(rig)) == 1


def test_redelivery_with_the_same_message_id_is_a_no_op_that_answers_250(rig: Rig) -> None:
    assert rig.send(fixture("outlook-forward.eml"), sender="tom.fletcher@example.org")[0] == 250
    assert rig.send(fixture("outlook-forward.eml"), sender="tom.fletcher@example.org")[0] == 250
    assert rig.states() == ["counted", "redelivered"]
    assert len(correspondence(rig)) == 1


def test_forward_without_a_recognisable_original_counts_itself_flagged(rig: Rig) -> None:
    raw = b"From: priya.shah@example.org\r\nSubject: note from the phone\r\nMessage-ID: <n1@example.org>\r\n\r\nA resident rang about parking.\r\n"
    rig.send(raw)
    assert correspondence(rig) == [
        (dt.date.today().isoformat(), "public", "example.org", "note from the phone", "no-original")
    ]


# -- the SMTP conversation ----------------------------------------------------------------


def test_unknown_mailbox_is_refused_at_rcpt(rig: Rig) -> None:
    assert rig.send(b"Subject: x\r\n\r\nx", to="sales@localhost") == (
        550,
        b"5.1.1 No such mailbox here",
    )
    assert rig.send(b"Subject: x\r\n\r\nx", to="correspondence@elsewhere.org")[0] == 550
    assert rig.states() == []


def test_unknown_sender_is_refused_but_allowed_domains_and_postmaster_are_not(rig: Rig) -> None:
    assert rig.send(b"Subject: x\r\n\r\nx", sender="someone@example.com") == (
        550,
        b"5.7.1 Sender not allowed to use this mailbox",
    )
    assert (
        rig.send(
            b"From: a@partner.example.net\r\nSubject: hi\r\n\r\nx", sender="a@partner.example.net"
        )[0]
        == 250
    )
    assert (
        rig.send(
            b"Subject: abuse report\r\n\r\nx",
            sender="someone@example.com",
            to="postmaster@localhost",
        )[0]
        == 250
    )
    assert rig.states() == ["counted", "postmaster"]


def test_null_sender_is_accepted_but_never_counted(rig: Rig) -> None:
    assert (
        rig.send(
            b"From: MAILER-DAEMON@example.net\r\nSubject: Undelivered\r\n\r\nbounce", sender="<>"
        )[0]
        == 250
    )
    assert rig.states() == ["noise"]
    assert correspondence(rig) == []


def test_oversized_message_gets_552_5_3_4(rig: Rig) -> None:
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 80
    code, resp = rig.send(big)
    assert code == 552
    assert resp.startswith(b"5.3.4")
    with smtplib.SMTP("127.0.0.1", rig.port) as client:
        client.ehlo()
        code, resp = client.docmd("MAIL FROM:<priya.shah@example.org> SIZE=999999")
        assert (code, resp[:5]) == (552, b"5.3.4")
    assert rig.states() == []


def test_store_failure_gets_451_and_the_retry_is_kept(rig: Rig) -> None:
    rig.handler.worker.reader.db.execute("PRAGMA busy_timeout = 100")
    blocker = sqlite3.connect(rig.db_path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        code, resp = rig.send(fixture("gmail-forward.eml"))
        assert (code, resp) == (451, b"4.3.0 Temporary storage failure, please retry")
    finally:
        blocker.rollback()
        blocker.close()
    # The sending server retries later; this time it is stored and counted.
    assert rig.send(fixture("gmail-forward.eml"))[0] == 250
    assert rig.states() == ["counted"]
    raw = rig.db().execute("SELECT raw FROM inbound").fetchone()[0]
    assert raw == fixture("gmail-forward.eml")


def test_noise_is_not_counted_and_never_answered(rig: Rig) -> None:
    rig.send(fixture("auto-reply.eml"))
    list_mail = b"From: priya.shah@example.org\r\nList-Id: <news.example.org>\r\nSubject: newsletter\r\n\r\nx"
    rig.send(list_mail)
    bulk = b"From: priya.shah@example.org\r\nPrecedence: bulk\r\nSubject: offer\r\n\r\nx"
    rig.send(bulk)
    assert rig.states() == ["noise", "noise", "noise"]
    assert correspondence(rig) == []
    assert rig.replies == []


def test_staff_reply_bcc_marks_the_correspondence_answered(rig: Rig) -> None:
    rig.send(fixture("gmail-forward.eml"))
    rig.send(fixture("staff-reply.eml"))
    assert rig.states() == ["counted", "reply"]
    assert rig.db().execute("SELECT answered_on FROM correspondence").fetchone() == ("2022-09-14",)


def test_reply_matched_by_references(rig: Rig) -> None:
    rig.send(fixture("attached-forward.eml"), sender="alex.morgan@example.org")
    reply = (
        b"From: alex.morgan@example.org\r\nSubject: Re: agenda\r\nDate: Mon, 12 Sep 2022 09:00:00 +0100\r\n"
        b"In-Reply-To: <original-123@cambridgeshire.gov.uk>\r\nMessage-ID: <r2@example.org>\r\n\r\nThanks, we will attend.\r\n"
    )
    rig.send(reply, sender="alex.morgan@example.org")
    assert rig.db().execute("SELECT answered_on FROM correspondence").fetchone() == ("2022-09-12",)


# -- updates by mail -----------------------------------------------------------------------


def _token(rig: Rig, email: str) -> str:
    store = rig.store()
    person = store.person_by_email(email)
    assert person is not None
    return mail_token(store, person=person)


def test_update_by_mail_records_and_confirms(rig: Rig) -> None:
    token = _token(rig, "priya.shah@example.org")
    to = f"update+CF-10+{token}@localhost"
    assert rig.send(fixture("update-by-mail.eml"), to=to)[0] == 250
    store = rig.store()
    d = store.deliverable_by_ref("CF-10")
    assert d.status is Status.COMPLETED
    newest = store.updates(deliverable_id=d.id, newest_first=True)[0]
    assert newest.note == "The business community event took place at the Guildhall."
    assert newest.source.value == "email"
    assert newest.person_id == store.person_by_email("priya.shah@example.org").id
    assert len(rig.replies) == 1
    reply = rig.replies[0]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["To"] == "priya.shah@example.org"
    assert reply["In-Reply-To"] == "<update-1@example.org>"
    assert "Status: Ongoing -> Completed" in reply.get_content()
    assert "proven by personal address" in reply.get_content()


def _trusting(rig: Rig) -> None:
    # The test client is the office's relay (127.0.0.1); tests/handlers/mail/test_trust.py
    # sends from an untrusted peer too.
    rig.handler.policy = dataclasses.replace(
        rig.handler.policy,
        trusted_relays=("mx.opcc.example",),
        trusted_peers=(ipaddress.ip_network("127.0.0.1/32"),),
    )


AR_PASS = (
    b"Authentication-Results: mx.opcc.example; dkim=pass header.d=example.org header.s=s1; "
    b"spf=pass smtp.mailfrom=example.org; dmarc=pass (p=reject) header.from=example.org\r\n"
)


def test_update_by_mail_grammar_in_subject_with_a_trusted_relay(rig: Rig) -> None:
    _trusting(rig)
    raw = (
        AR_PASS
        + b"From: priya.shah@example.org\r\nSubject: Re: Fwd: CF-9 ongoing due Q4 2022/23\r\nMessage-ID: <u2@example.org>\r\n\r\nBusiness case resubmitted.\r\n"
    )
    rig.send(raw, to="updates@localhost")
    d = rig.store().deliverable_by_ref("CF-9")
    assert d.due == "Q4 2022/23"
    assert "Due: none -> Q4 2022/23" in rig.replies[0].get_content()
    assert "DMARC/DKIM pass for example.org" in rig.replies[0].get_content()


def test_update_by_mail_sets_dependencies_from_the_subject(rig: Rig) -> None:
    _trusting(rig)
    assert rig.store().deliverable_by_ref("CF-9").dependencies is True
    raw = (
        AR_PASS
        + b"From: priya.shah@example.org\r\nSubject: CF-9 no deps\r\nMessage-ID: <u4@example.org>\r\n\r\nSoftware supplier confirmed.\r\n"
    )
    rig.send(raw, to="updates@localhost")
    store = rig.store()
    d = store.deliverable_by_ref("CF-9")
    assert d.dependencies is False
    assert store.updates(deliverable_id=d.id, newest_first=True)[0].dependencies is False
    assert "Dependencies: none" in rig.replies[0].get_content()


def test_update_by_mail_that_names_a_later_quarter_says_how_to_set_it(rig: Rig) -> None:
    _trusting(rig)
    raw = (
        AR_PASS
        + b"From: priya.shah@example.org\r\nSubject: CF-10\r\nMessage-ID: <u5@example.org>\r\n\r\nslipping to Q4 2022/23 - venue closed for works\r\n"
    )
    rig.send(raw, to="updates@localhost")
    assert rig.store().deliverable_by_ref("CF-10").due == "Q3 2022/23"  # nothing guessed
    body = rig.replies[0].get_content()
    assert (
        "Your note says Q4 2022/23, later than the due quarter Q3 2022/23, which this update "
        "left as it was." in body
    )
    assert "To move it, send an update with the subject: CF-10 due Q4 2022/23" in body
    assert (
        "If Q3 2022/23 stands, send the subject: CF-10: No change to the due quarter: "
        "Q3 2022/23 stands." in body
    )


def test_update_by_mail_errors_are_explained_once(rig: Rig) -> None:
    token = _token(rig, "tom.fletcher@example.org")
    raw = b"From: tom.fletcher@example.org\r\nSubject: CF-9 done\r\nMessage-ID: <u3@example.org>\r\n\r\nnot mine\r\n"
    rig.send(raw, sender="tom.fletcher@example.org", to=f"updates+{token}@localhost")
    assert rig.states() == ["update_refused"]
    assert len(rig.replies) == 1
    assert "Only Priya Shah or an editor can update CF-9" in rig.replies[0].get_content()
    assert rig.store().deliverable_by_ref("CF-9").status is Status.ONGOING


FORGED = b"From: Priya Shah <priya.shah@example.org>\r\nSubject: CF-10 done\r\nMessage-ID: <f@x>\r\n\r\nforged\r\n"


@pytest.mark.parametrize(
    "prefix",
    [
        b"",  # the envelope alone
        # a relay we do not trust
        AR_PASS.replace(b"mx.opcc.example", b"mx.attacker.example"),
        # a pass for another domain
        AR_PASS.replace(b"example.org", b"attacker.example"),
        # our relay says fail; a forged pass further down proves nothing
        b"Authentication-Results: mx.opcc.example; dkim=fail header.d=example.org; dmarc=fail header.from=example.org\r\n"
        + AR_PASS,
        # unparseable
        b"Authentication-Results: ;;; = = =\r\n",
    ],
)
def test_an_unproven_update_by_mail_changes_nothing(rig: Rig, prefix: bytes) -> None:
    _trusting(rig)
    before = len(rig.store().updates())
    assert rig.send(prefix + FORGED, to="update+CF-10@localhost")[0] == 250
    store = rig.store()
    assert store.deliverable_by_ref("CF-10").status is Status.ONGOING
    assert len(store.updates()) == before
    assert rig.states() == ["update_refused"]
    assert correspondence(rig) == []  # counted nowhere
    assert rig.replies == []  # a reply would go to whatever From: the message carried


def test_a_wrong_or_replaced_personal_code_is_refused(rig: Rig) -> None:
    store = rig.store()
    priya = store.person_by_email("priya.shah@example.org")
    old = mail_token(store, person=priya)
    new = mail_token(store, person=priya, rotate=True)
    assert old != new and len(new) == 20
    for i, code in enumerate((old, "0" * 20)):
        rig.send(
            FORGED.replace(b"<f@x>", f"<f{i}@x>".encode()), to=f"update+CF-10+{code}@localhost"
        )
    assert rig.states() == ["update_refused", "update_refused"]
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING
    rig.send(FORGED.replace(b"<f@x>", b"<g@x>"), to=f"update+CF-10+{new}@localhost")
    assert rig.store().deliverable_by_ref("CF-10").status is Status.COMPLETED


def test_correspondence_whose_from_and_envelope_disagree_is_quarantined(rig: Rig) -> None:
    raw = fixture("gmail-forward.eml")  # From: Priya Shah
    assert rig.send(raw, sender="alex.morgan@example.org")[0] == 250
    assert rig.states() == ["quarantined"]
    assert correspondence(rig) == []
    reason = rig.db().execute("SELECT reason FROM inbound").fetchone()[0]
    assert "disagree" in reason


@pytest.mark.parametrize(
    "raw",
    [
        bytes(range(256)) * 40,
        b"\x00\xff\xfe binary \x01\x02" * 500,
        b"no headers here, just a line of text\r\nand another\r\n",
        b"X-Weird: 1\r\n\r\n" + bytes(range(1, 30)) * 200,
    ],
)
def test_unreadable_mail_from_an_allowed_sender_is_quarantined(rig: Rig, raw: bytes) -> None:
    assert rig.send(raw)[0] == 250
    assert rig.states() == ["quarantined"]
    assert correspondence(rig) == []


@pytest.mark.parametrize("rig", [10 * 1024 * 1024], indirect=True)
def test_long_lines_with_bare_lf_are_accepted(rig: Rig) -> None:
    body = b"x" * 150_000
    raw = b"From: priya.shah@example.org\nSubject: long\nMessage-ID: <long@x>\n\n" + body + b"\n"
    with smtplib.SMTP("127.0.0.1", rig.port, timeout=10) as client:
        client.ehlo("test")
        client.mail("priya.shah@example.org")
        client.rcpt("correspondence@localhost")
        # Bare LF line ends, as some clients send them: no CRLF for 150 KB.
        code, _ = client.data(raw)
    rig.drain()
    assert code == 250
    assert rig.states() == ["counted"]


def test_commands_per_session_are_limited(rig: Rig) -> None:
    codes = []
    client = smtplib.SMTP("127.0.0.1", rig.port)
    try:
        for _ in range(110):
            codes.append(client.noop()[0])
    except smtplib.SMTPServerDisconnected:
        pass
    assert codes[-1] == 421 and len(codes) <= 101
    # The server itself is fine: the next session works.
    with smtplib.SMTP("127.0.0.1", rig.port) as again:
        assert again.noop()[0] == 250


# -- robustness ------------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "mail-corpus"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/mail-corpus is not beside the project")
@pytest.mark.parametrize("rig", [10 * 1024 * 1024], indirect=True)
def test_real_world_corpus_gets_proper_codes_and_counts_nothing_twice(rig: Rig) -> None:
    files = sorted(CORPUS.glob("*.eml"))
    assert len(files) >= 50
    # Each message arrives as its own sending server would send it: envelope sender = From
    # (the From and the envelope must agree), from senders the office has allowed.
    envelopes = {f.name: sender_address(parse_message(f.read_bytes())) for f in files}
    domains = {"@" + a.rsplit("@", 1)[1] for a in envelopes.values() if "@" in a}
    rig.handler.policy = dataclasses.replace(rig.handler.policy, allowed_senders=tuple(domains))

    def send(f: Path) -> int:
        return rig.send(f.read_bytes(), sender=envelopes[f.name] or "priya.shah@example.org")[0]

    codes = {f.name: send(f) for f in files}
    assert set(codes.values()) <= {250, 552}, {
        k: v for k, v in codes.items() if v not in (250, 552)
    }
    first = len(correspondence(rig))
    states = rig.states()
    assert "pending" not in states
    assert first >= 20  # most of the corpus is ordinary mail and counts
    assert states.count("noise") >= 5  # bounces, delivery reports, read receipts
    for f in files:
        assert send(f) in (250, 552)
    assert len(correspondence(rig)) == first
    # The server still answers.
    with smtplib.SMTP("127.0.0.1", rig.port) as client:
        assert client.noop()[0] == 250


_header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "In-Reply-To",
        "References",
        "X-Forwarded-Message-Id",
        "Auto-Submitted",
        "Content-Disposition",
    ]
)
_header_values = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        max_size=80,
    ),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b"',
            "multipart/mixed",
            "message/rfc822",
            "text/plain; charset=klingon",
            "base64",
            "quoted-printable",
            "=?utf-8?b?invalid===?=",
            "=?x-unknown?q?=FF=FE?=",
            "<broken@",
            "Mon, 99 Foo 20222 25:61:61 +9999",
        ]
    ),
)
_bodies = st.one_of(
    st.binary(max_size=600),
    st.sampled_from(
        [
            b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x\r\n\r\n--b",
            b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n",
            b"---------- Forwarded message ---------\r\nFrom: <>\r\nDate: never\r\n",
            b"Begin forwarded message:\r\n\r\nFrom: =?utf-8?q?=FF?= <a@b>\r\n",
        ]
    ),
)


@given(headers=st.lists(st.tuples(_header_names, _header_values), max_size=8), body=_bodies)
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_broken_mime_never_crashes_the_server(
    rig: Rig, headers: list[tuple[str, str]], body: bytes
) -> None:
    head = b"".join(f"{k}: {v}\r\n".encode("utf-8", "surrogateescape") for k, v in headers)
    code, _ = rig.send(head + b"\r\n" + body)
    assert code in (250, 451, 552, 500), code
    assert "pending" not in rig.states()
    with smtplib.SMTP("127.0.0.1", rig.port) as client:
        assert client.noop()[0] == 250


def test_raw_copies_are_purged_after_retention_but_counts_stay(rig: Rig) -> None:
    import datetime as _dt

    rig.send(fixture("gmail-forward.eml"))
    store = rig.store()
    assert store.purge_raw(_dt.datetime.now(_dt.UTC)) == 0  # retention not over yet
    later = _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=31)
    with store.transaction():
        assert store.purge_raw(later) == 1
    assert rig.db().execute("SELECT raw IS NULL, state FROM inbound").fetchone() == (1, "counted")
    assert len(correspondence(rig)) == 1


def test_unexpected_errors_get_451_without_leaking_details(rig: Rig) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    rig.handler.reader.call = boom  # type: ignore[method-assign]
    code, resp = rig.send(fixture("gmail-forward.eml"))
    assert code == 451
    assert b"secret" not in resp and b"RuntimeError" not in resp
    with smtplib.SMTP("127.0.0.1", rig.port) as client:
        assert client.noop()[0] == 250


def test_subjects_can_be_turned_off(rig: Rig) -> None:
    import dataclasses

    rig.handler.policy = dataclasses.replace(rig.handler.policy, keep_subjects=False)
    rig.send(fixture("gmail-forward.eml"))
    assert correspondence(rig) == [("2022-09-05", "public", "gmail.com", None, None)]
