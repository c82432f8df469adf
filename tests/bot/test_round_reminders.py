"""Round reminders with a pinned clock, across the August bank holiday of 2022 (Monday 29
August, in England) and an "away until": at most one a working day, a last call on the
morning of the due date, none once everything of theirs is answered."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fake_slack import FakeSlack

from bot.config import load_settings
from bot.round_jobs import RoundJobs
from handlers.plan import load_plan
from handlers.service import import_plan, set_away
from handlers.service.round import approve_waiting
from handlers.service.round_admin import OpenRound
from handlers.service.writer import Writer
from handlers.slack import SlackNotifier, make_web_client
from store import Store, open_store

ROUND = OpenRound(
    "summer", dt.date(2022, 3, 1), dt.date(2022, 8, 24), dt.date(2022, 9, 7), dt.date(2022, 9, 1)
)
SLACK_IDS = {
    "U0COMMUNITY": "Priya",
    "U0PLANLEAD": "Alex",
    "U0PREVENT": "Tom",
    "U0VICTIMS": "Grace",
    "U0JUSTICE": "Sam",
    "U0ETHICS": "Dan",
}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2022, 8, 25, 8, 0, tzinfo=dt.UTC)  # Thu 25 Aug, 09:00 BST

    def __call__(self) -> dt.datetime:
        return self.now

    def on(self, day: int, month: int = 8, hour: int = 9, minute: int = 30) -> None:
        self.now = dt.datetime(2022, month, day, hour, minute, tzinfo=dt.UTC)  # 10:30 BST


class NoMail:
    async def send(self, msg: EmailMessage) -> str:
        raise AssertionError("everyone in this plan is in Slack")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def store(tmp_path: Path, example_plan: Path) -> Store:
    s = open_store(tmp_path / "r.db")
    import_plan(s, load_plan(example_plan), today=dt.date(2022, 8, 1))
    yield s
    s.close()


def _who(slack: FakeSlack, since: int) -> list[str]:
    return sorted(SLACK_IDS[p["channel"]] for p in slack.calls_to("chat.postMessage")[since:])


async def test_reminders_skip_weekends_the_bank_holiday_and_the_away_and_end_when_done(
    store: Store, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(tmp_path / "r.db"),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "BANK_HOLIDAYS": "ENG",
            "REMINDER_SCHEDULE": "fri 10:00",  # round reminders go at its time of day
        },
        env_file=None,
    )
    clock = Clock()
    jobs = RoundJobs(
        settings=settings,
        writer=Writer(store),
        mailer=NoMail(),  # type: ignore[arg-type]
        slack=SlackNotifier(make_web_client("xoxb-test", slack.api_url)),
        office=settings.office.with_clock(clock),
    )
    alex = store.person_by_email("alex.morgan@example.org")
    tom = store.person_by_email("tom.fletcher@example.org")
    priya = store.person_by_email("priya.shah@example.org")
    assert alex and tom and priya
    await jobs.open(ROUND, actor=alex)
    await jobs.deliver()
    assert _who(slack, 0) == sorted(SLACK_IDS.values())  # Thursday: asked, no reminder
    set_away(store, actor=tom, until=dt.date(2022, 8, 31), today=dt.date(2022, 8, 25))
    sent = len(slack.calls_to("chat.postMessage"))
    clock.on(25, hour=15)
    await jobs.deliver()
    assert _who(slack, sent) == []  # never on the day they were asked

    seen: dict[str, list[str]] = {}
    for day, month in ((26, 8), (27, 8), (28, 8), (29, 8), (30, 8), (31, 8), (1, 9), (2, 9)):
        clock.on(day, month, hour=8, minute=30)  # 09:30 BST: before the reminder time
        if (day, month) == (30, 8):  # Priya answers everything on Tuesday morning
            approve_waiting(store, "summer", actor=priya, now=clock(), source="slack")
        before = len(slack.calls_to("chat.postMessage"))
        await jobs.deliver()
        assert _who(slack, before) == [], f"{day}/{month} before 10:00"
        clock.on(day, month)  # 10:30 BST
        for _ in range(3):  # serve passes every minute: one reminder a day, whatever
            await jobs.deliver()
        seen[f"{day}/{month}"] = _who(slack, before)
    print("\nreminders by day:", seen)
    everyone = sorted(SLACK_IDS.values())
    assert seen == {
        "26/8": sorted(set(everyone) - {"Tom"}),  # Friday; Tom is away from Thursday
        "27/8": [],  # Saturday
        "28/8": [],  # Sunday
        "29/8": [],  # the Summer bank holiday
        "30/8": sorted(set(everyone) - {"Priya", "Tom"}),  # Priya answered; Tom is away
        "31/8": sorted(set(everyone) - {"Priya", "Tom"}),  # Tom is away until today
        "1/9": sorted(set(everyone) - {"Priya"}),  # the due date: the last call, Tom too
        "2/9": [],  # after the due date
    }
    posts = slack.calls_to("chat.postMessage")
    last_call = [p for p in posts if p["text"] and "Last call" in p["blocks"][1]["text"]["text"]]
    assert sorted(SLACK_IDS[p["channel"]] for p in last_call) == seen["1/9"]
    friday = next(
        p
        for p in posts
        if p["channel"] == "U0VICTIMS" and "reminder" in p["blocks"][1]["text"]["text"]
    )
    assert "13 of your lines for the panel paper are waiting" in friday["blocks"][1]["text"]["text"]
    ledger = store.ledger(kind="round-reminder")
    assert len(ledger) == 5 + 4 + 4 + 5 and all(r["state"] == "sent" for r in ledger)
