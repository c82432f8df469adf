"""The paper round by mail, through the real SMTP server (aiosmtpd) with smtplib: an owner
without a Slack id gets one mail listing their lines, and answers by replying to their
personal address; a reply without the personal code changes nothing."""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fake_slack import FakeSlack
from mail_rig import MailRig

from bot.config import load_settings
from bot.round_jobs import RoundJobs
from handlers.service.round_admin import OpenRound
from handlers.service.writer import Writer
from handlers.slack import SlackNotifier, make_web_client
from store import Source, open_store
from store.round import EventKind, LineState

NOW = dt.datetime(2022, 9, 12, 9, 0, tzinfo=dt.UTC)
SEPT = OpenRound(
    "sept-2022",
    dt.date(2022, 3, 1),
    dt.date(2022, 9, 14),
    dt.date(2022, 9, 21),
    dt.date(2022, 9, 16),
)
SAM = "sam.lee@example.org"


class Outgoing:
    """What the bot sends, kept as the bytes a relay would get."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, msg: EmailMessage) -> str:
        self.sent.append(email.message_from_bytes(msg.as_bytes(), policy=default_policy))  # type: ignore[arg-type]
        return "captured"


@pytest.fixture
def rig(tmp_path: Path, example_plan: Path, free_port: int) -> Iterator[MailRig]:
    plan = tmp_path / "plan.yaml"  # Sam Lee has no Slack id: the round reaches him by mail
    plan.write_text(example_plan.read_text().replace(", slack: U0JUSTICE", ""))
    rig = MailRig(tmp_path / "mail.db", plan, free_port).start()
    yield rig
    rig.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


async def _open(rig: MailRig, slack: FakeSlack, tmp_path: Path) -> tuple[RoundJobs, Outgoing]:
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(rig.db_path),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        env_file=None,
    )
    store = open_store(rig.db_path)
    outgoing = Outgoing()
    jobs = RoundJobs(
        settings=settings,
        writer=Writer(store),
        mailer=outgoing,  # type: ignore[arg-type]
        slack=SlackNotifier(make_web_client("xoxb-test", slack.api_url)),
        office=settings.office.with_clock(lambda: NOW),
    )
    alex = store.person_by_email("alex.morgan@example.org")
    assert alex is not None
    await jobs.open(SEPT, actor=alex)
    await jobs.deliver()
    return jobs, outgoing


def _reply(to: str, subject: str, body: str, message_id: str) -> bytes:
    return (
        f"From: Sam Lee <{SAM}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}@example.org>\r\nDate: Mon, 12 Sep 2022 11:00:00 +0100\r\n"
        f"\r\n{body}"
    ).encode()


def _events(rig: MailRig) -> list[tuple[str, str, str | None]]:
    return [
        (kind, ref, text)
        for kind, ref, text in rig.query(
            "SELECT e.kind, d.ref, e.text FROM round_events e JOIN deliverables d "
            "ON d.id = e.deliverable_id WHERE e.kind != 'asked' ORDER BY e.id"
        )
    ]


async def test_an_owner_without_slack_approves_and_edits_by_replying(
    rig: MailRig, slack: FakeSlack, tmp_path: Path
) -> None:
    jobs, outgoing = await _open(rig, slack, tmp_path)
    assert len(slack.calls_to("chat.postMessage")) == 5  # everyone else, in Slack
    [ask] = outgoing.sent
    assert ask["To"] == SAM and ask["Subject"] == "Your lines for the panel paper [round sept-2022]"
    code = rig.token(SAM)
    assert ask["Reply-To"] == f"updates+{code}@localhost"
    body = ask.get_content()
    for ref in ("VW-8", "RE-1", "RE-2", "RE-3", "RE-4", "RE-5", "RE-6"):
        assert re.search(rf"^{ref}  ", body, re.MULTILINE), ref
    assert "  approve CF-3            the line stands as it is" in body

    quoted = "\r\n".join(f"> {line}" for line in body.splitlines())
    reply = (
        "approve RE-1\r\nRE-2: Serious and organised crime operations continued; 14 county "
        "lines closed.\r\nThree more under investigation.\r\n\r\nThanks\r\n\r\n"
        f"On Mon, 12 Sep 2022 at 10:00, Deliverabot <updates@localhost> wrote:\r\n{quoted}\r\n"
    )
    code_250, _ = rig.send(
        _reply(ask["Reply-To"], f"Re: {ask['Subject']}", reply, "r1"),
        sender=SAM,
        to=ask["Reply-To"],
    )
    assert code_250 == 250
    assert rig.states()[-1] == "update"
    assert _events(rig) == [
        ("approved", "RE-1", jobs.reader.round_book("sept-2022").by_ref()["RE-1"].line.draft),
        (
            "edited",
            "RE-2",
            "Serious and organised crime operations continued; 14 county lines closed. "
            "Three more under investigation.",
        ),
    ]
    [update] = rig.query(
        "SELECT u.source, u.summary, p.email FROM updates u JOIN people p ON p.id = u.person_id "
        "WHERE u.note LIKE 'Serious and organised%'"
    )
    assert update == (str(Source.EMAIL), 1, SAM)
    [confirmation] = rig.replies
    assert confirmation["To"] == SAM
    text = confirmation.get_content()
    assert "done: RE-1: approved" in text and "done: RE-2: the paper prints your words" in text
    assert "line 5: Thanks" in text  # said, not guessed at

    # The same reply delivered twice (a retrying relay) records nothing new.
    rig.send(
        _reply(ask["Reply-To"], f"Re: {ask['Subject']}", reply, "r1"),
        sender=SAM,
        to=ask["Reply-To"],
    )
    assert len(_events(rig)) == 2

    # "approve all" approves what is still waiting, as it was shown.
    rig.send(
        _reply(ask["Reply-To"], f"Re: {ask['Subject']}", "approve all\r\n", "r2"),
        sender=SAM,
        to=ask["Reply-To"],
    )
    book = jobs.reader.round_book("sept-2022")
    assert book is not None
    mine = [v for v in book.views if book.owner_name(v) == "Sam Lee"]
    assert [v.state for v in mine].count(LineState.APPROVED) == 6
    assert [v.state for v in mine].count(LineState.EDITED) == 1
    jobs.reader.close()


async def test_a_reply_without_the_personal_code_changes_nothing(
    rig: MailRig, slack: FakeSlack, tmp_path: Path
) -> None:
    jobs, outgoing = await _open(rig, slack, tmp_path)
    [ask] = outgoing.sent
    subject = f"Re: {ask['Subject']}"
    forged = "approve RE-1\r\nRE-2: Words a forger wants in the paper.\r\n"
    for to in ("updates@localhost", "updates+0123456789abcdef0123@localhost"):
        code, _ = rig.send(_reply(to, subject, forged, f"f-{to[:9]}"), sender=SAM, to=to)
        assert code == 250  # accepted, then refused: a forger learns nothing from the answer
    assert rig.states()[-2:] == ["update_refused", "update_refused"]
    assert _events(rig) == [] and rig.replies == []  # nothing changed, nobody answered
    assert rig.query("SELECT COUNT(*) FROM updates WHERE note LIKE 'Words a forger%'") == [(0,)]

    # After the round closes, a proven reply gets a clear answer and changes nothing.
    alex = jobs.reader.person_by_email("alex.morgan@example.org")
    assert alex is not None
    await jobs.close("sept-2022", actor=alex)
    rig.send(
        _reply(ask["Reply-To"], subject, "approve RE-1\r\n", "late"), sender=SAM, to=ask["Reply-To"]
    )
    assert _events(rig) == []
    [late] = rig.replies
    assert (
        "The round sept-2022 closed on 12 September 2022, so nothing was changed"
        in late.get_content()
    )
    jobs.reader.close()


async def test_asks_are_delivered_once_however_often_the_round_is_passed(
    rig: MailRig, slack: FakeSlack, tmp_path: Path
) -> None:
    jobs, outgoing = await _open(rig, slack, tmp_path)
    for _ in range(3):
        assert await jobs.deliver() == []
    assert len(outgoing.sent) == 1 and len(slack.calls_to("chat.postMessage")) == 5
    asked = rig.query("SELECT COUNT(*) FROM round_events WHERE kind = ?", (str(EventKind.ASKED),))
    assert asked == [(50,)]
    ledger = rig.query("SELECT kind, state, COUNT(*) FROM digest_ledger GROUP BY kind, state")
    assert ledger == [("round-ask", "sent", 6)]
    jobs.reader.close()
