"""Digest delivery exactly once: the ledger, catch-up, retries, reminders, destinations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import io
import json
import sqlite3
import subprocess
import threading
import zoneinfo
from pathlib import Path
from typing import Any

import docx
import pytest
from aiosmtpd.controller import Controller
from cli_runner import run_cli
from fake_slack import FakeSlack

from bot.config import DigestSchedule, load_settings
from bot.jobs import DigestService, latest_schedule, period_for
from bot.wiring import digest_service, slack_web_client
from digests.digest import build_digest, week_bounds
from digests.report import build_report, render_docx
from handlers.plan import load_plan
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    import_plan,
    record_correspondence,
    record_update,
)
from handlers.slack import SlackNotifier
from store import Office, Source, Store, open_store

LONDON = zoneinfo.ZoneInfo("Europe/London")


def slack_notifier(settings: Any) -> SlackNotifier:
    return SlackNotifier(slack_web_client(settings))


def _settings(tmp_path: Path, **env: str) -> Any:
    base = {
        "DELIVERABOT_DB": str(tmp_path / "d.db"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    return load_settings({**base, **env}, env_file=None)


@pytest.fixture
def db(tmp_path: Path, example_plan: Path) -> Path:
    """The example plan, and one letter in week 37 (so the digest has a chart)."""
    path = tmp_path / "d.db"
    store = open_store(path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    record_correspondence(
        store, CorrespondenceRequest(dedup_key="w37-letter", received_on=dt.date(2022, 9, 13))
    )
    store.close()
    return path


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _service(
    db: Path, settings: Any, clock: Clock, slack: Any = None
) -> tuple[DigestService, Store]:
    store = open_store(db)
    return (
        digest_service(settings, store, slack=slack, clock=clock),
        store,
    )


# -- the schedule and the period -------------------------------------------------------------


def test_latest_schedule_and_period() -> None:
    mon9 = DigestSchedule("mon", dt.time(9))
    now = dt.datetime(2022, 9, 19, 8, 30, tzinfo=LONDON)  # Monday, before 09:00
    assert latest_schedule(mon9, now, LONDON) == dt.datetime(2022, 9, 12, 9, tzinfo=LONDON)
    at = latest_schedule(mon9, dt.datetime(2022, 9, 19, 9, 0, tzinfo=LONDON), LONDON)
    assert at == dt.datetime(2022, 9, 19, 9, tzinfo=LONDON)
    assert period_for(at) == "2022-W37"  # Monday's digest covers the week that just ended
    fri = latest_schedule(DigestSchedule("fri", dt.time(16)), now, LONDON)
    assert period_for(fri) == "2022-W37"


def test_dst_weeks_are_local_weeks() -> None:
    # The clocks went back on Sunday 30 October 2022: the week is 169 hours long.
    start, end = week_bounds(2022, 43, LONDON)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=169)
    assert start.astimezone(dt.UTC) == dt.datetime(2022, 10, 23, 23, tzinfo=dt.UTC)
    # The clocks went forward on Sunday 26 March 2023: 167 hours.
    start, end = week_bounds(2023, 12, LONDON)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=167)


def test_updates_fall_in_the_local_week_across_dst(db: Path) -> None:
    store = open_store(db)
    alex = store.person_by_email("alex.morgan@example.org")
    # 23:30 UTC on Sunday 23 October is 00:30 BST on Monday 24 October: week 43.
    for at, note in [
        (dt.datetime(2022, 10, 23, 23, 30, tzinfo=dt.UTC), "first minutes of week 43"),
        (dt.datetime(2022, 10, 30, 23, 30, tzinfo=dt.UTC), "last minutes of week 43 (GMT)"),
        (dt.datetime(2022, 10, 31, 0, 30, tzinfo=dt.UTC), "week 44"),
    ]:
        record_update(
            store,
            UpdateRequest(
                deliverable="CF-9", actor=alex, source=Source.CLI, note=note, recorded_at=at
            ),
        )
    w43 = build_digest(store, year=2022, week=43, office=Office(tz=LONDON))
    notes = [n for _, _, n in w43.week_notes]
    assert notes == ["first minutes of week 43", "last minutes of week 43 (GMT)"]


# -- exactly once ------------------------------------------------------------------------------


def test_concurrent_claims_only_one_wins(db: Path) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        store = open_store(db)
        barrier.wait()
        with store.transaction():
            results.append(store.claim("digest", "2022-W37", "slack:#leaders") is not None)
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


async def test_two_processes_on_one_database_post_once(db: Path, tmp_path: Path) -> None:
    import asyncio

    settings = _settings(tmp_path)
    clock = Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC))
    one, s1 = _service(db, settings, clock)
    two, s2 = _service(db, settings, clock)
    a, b = await asyncio.gather(one.reconcile(), two.reconcile())
    states = sorted(o.state for o in a + b)
    assert states == ["sent", "skipped"]
    assert len(list((tmp_path / "outbox").glob("*-digest-2022-W37.md"))) == 1
    s1.close()
    s2.close()


async def test_catch_up_after_downtime_within_grace_only(db: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    clock = Clock(dt.datetime(2022, 9, 19, 7, tzinfo=dt.UTC))  # 08:00 BST: before the run
    service, store = _service(db, settings, clock)
    assert [o.reference for o in await service.reconcile()] == []  # last Monday is > 2 days ago
    clock.now = dt.datetime(2022, 9, 20, 15, tzinfo=dt.UTC)  # down over Monday 09:00; back Tuesday
    sent = await service.reconcile()
    assert [(o.destination, o.state) for o in sent] == [("outbox", "sent")]
    assert await service.reconcile() == [
        dataclasses.replace(sent[0], state="skipped", reference="already claimed")
    ]
    clock.now = dt.datetime(2022, 9, 22, 12, tzinfo=dt.UTC)  # Thursday: past the grace period
    assert await service.reconcile() == []
    ledger = store.ledger()
    assert [(r["period"], r["state"]) for r in ledger] == [("2022-W37", "sent")]


def test_crash_between_claim_and_post_is_visible_and_retried(
    db: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    store = open_store(db)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with store.transaction():  # ...and then the process died; its lease has run out
        assert store.claim("digest", "2022-W37", "outbox", now=an_hour_ago)
    env = {**cli_env, "DELIVERABOT_DB": str(db), "OUTBOX_DIR": str(tmp_path / "outbox")}
    status = run_cli(env, "digest", "--status")
    assert "claimed, not sent" in status.stdout
    rows = json.loads(run_cli(env, "digest", "--status", "--json").stdout)
    assert [(r["period"], r["state"]) for r in rows] == [("2022-W37", "claimed")]
    # A normal run does not post it again behind the ledger's back...
    posted = run_cli(env, "digest", "--week", "2022-W37", "--post")
    assert "outbox: skipped already claimed" in posted.stdout
    # ...but --retry does.
    retried = run_cli(env, "digest", "--retry")
    assert retried.stdout.startswith("outbox: sent outbox ")
    assert [r["state"] for r in store.ledger()] == ["sent"]
    again = run_cli(env, "digest", "--retry")
    assert again.stdout.strip() == "Nothing to retry."


async def test_retry_leaves_a_post_in_flight_alone(db: Path, tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC))
    service, store = _service(db, _settings(tmp_path), clock)
    with store.transaction():  # another process claimed it a minute ago and is posting now
        assert store.claim("digest", "2022-W37", "outbox", now=clock.now - dt.timedelta(minutes=1))
    assert await service.retry() == []
    assert [r["state"] for r in store.ledger()] == ["claimed"]
    assert not list((tmp_path / "outbox").glob("*.md"))
    # Once its lease has run out the sender is taken to be dead, and one retry resends.
    clock.now += dt.timedelta(minutes=30)
    other, other_store = _service(db, _settings(tmp_path), clock)
    import asyncio

    a, b = await asyncio.gather(service.retry(), other.retry())
    assert [o.state for o in a + b] == ["sent"]
    assert len(list((tmp_path / "outbox").glob("*-digest-2022-W37.md"))) == 1
    assert [r["state"] for r in store.ledger()] == ["sent"]
    other_store.close()


async def test_two_concurrent_retries_of_a_failed_row_post_once(db: Path, tmp_path: Path) -> None:
    import asyncio

    clock = Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC))
    service, store = _service(db, _settings(tmp_path), clock)
    with store.transaction():
        token = store.claim("digest", "2022-W37", "outbox", now=clock.now)
        assert token and store.mark_failed("digest", "2022-W37", "outbox", "boom", token=token)
    other, other_store = _service(db, _settings(tmp_path), clock)
    a, b = await asyncio.gather(service.retry(), other.retry())
    assert [o.state for o in a + b] == ["sent"]
    assert len(list((tmp_path / "outbox").glob("*-digest-2022-W37.md"))) == 1
    other_store.close()


def test_a_stale_owner_cannot_mark_a_taken_over_claim(db: Path) -> None:
    store = open_store(db)
    long_ago = dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC)
    with store.transaction():
        first = store.claim("digest", "2022-W37", "outbox", now=long_ago)
        second = store.reclaim(store.ledger()[0]["id"], now=long_ago + dt.timedelta(hours=1))
        assert first and second and first != second
        assert not store.mark_failed("digest", "2022-W37", "outbox", "late", token=first)
        assert store.mark_sent("digest", "2022-W37", "outbox", "ok", token=second)
    assert [r["state"] for r in store.ledger()] == ["sent"]


def _slack_service(db: Path, tmp_path: Path, fake: FakeSlack) -> tuple[DigestService, Store]:
    """A digest service posting to ``fake`` (channel C0LEADERS) on Monday 19 September."""
    settings = _settings(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-t",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=fake.api_url,
        DIGEST_CHANNEL="C0LEADERS",
    )
    clock = Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC))
    return _service(db, settings, clock, slack_notifier(settings))


async def test_a_failed_chart_upload_is_a_warning_not_a_second_post(
    db: Path, tmp_path: Path
) -> None:

    fake = FakeSlack()
    await fake.start()
    fake.upload_base = "http://127.0.0.1:9/upload"  # nothing listens there: a network error
    try:
        service, store = _slack_service(db, tmp_path, fake)
        outcomes = await service.send("2022-W37")
        assert [o.state for o in outcomes] == ["sent"]
        [row] = store.ledger()
        assert row["state"] == "sent" and "chart not attached" in row["warning"]
        assert await service.retry() == []
        assert len(fake.calls_to("chat.postMessage")) == 1
    finally:
        await fake.stop()


# -- destinations ------------------------------------------------------------------------------


async def test_slack_digest_posts_blocks_and_uploads_the_chart(db: Path, tmp_path: Path) -> None:

    fake = FakeSlack()
    await fake.start()
    try:
        service, _ = _slack_service(db, tmp_path, fake)
        outcomes = await service.send("2022-W37")
        assert [o.state for o in outcomes] == ["sent"]
        post = fake.calls_to("chat.postMessage")[0]
        assert post["channel"] == "C0LEADERS"
        blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
        assert blocks[0]["type"] == "header" and len(blocks) <= 50
        assert post["text"].startswith("Police and Crime Plan 2021-24 weekly digest, Week 37")
        # Slack is told not to turn typed names into mentions.
        assert post["parse"] == "none" and post["link_names"] in (False, 0, "0", "false")
        assert all(
            e["verbatim"] is True
            for b in blocks
            for e in ([b["text"]] if "text" in b else b.get("elements", []))
            if e.get("type") == "mrkdwn"
        )
        complete = fake.calls_to("files.completeUploadExternal")[0]
        assert complete["channel_id"] == "C0LEADERS"
        assert next(iter(fake.uploads.values())).startswith(b"\x89PNG")
        assert outcomes[0].reference.startswith("slack ts ")
    finally:
        await fake.stop()


async def test_a_week_without_mail_gets_one_line_and_no_chart(
    tmp_path: Path, example_plan: Path
) -> None:
    path = tmp_path / "quiet.db"
    store = open_store(path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    record_update(
        store,
        UpdateRequest(
            deliverable="CF-10",
            actor=store.person_by_email("priya.shah@example.org"),
            source=Source.SLACK,
            note="Venue booked.",
            recorded_at=dt.datetime(2022, 9, 13, 9, tzinfo=dt.UTC),
        ),
    )
    store.close()
    fake = FakeSlack()
    await fake.start()
    try:
        service, _ = _slack_service(path, tmp_path, fake)
        outcomes = await service.send("2022-W37")
        assert [o.state for o in outcomes] == ["sent"]
        post = fake.calls_to("chat.postMessage")[0]
        blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
        text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        assert ":envelope: *Correspondence:* No correspondence recorded this week." in text
        assert fake.calls_to("files.getUploadURLExternal") == [] and fake.uploads == {}
    finally:
        await fake.stop()


class _Capture:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


async def test_email_digest_is_multipart_with_inline_chart(
    db: Path, tmp_path: Path, free_port: int
) -> None:
    capture = _Capture()
    relay = Controller(capture, hostname="127.0.0.1", port=free_port)
    relay.start()
    try:
        settings = _settings(
            tmp_path,
            SMTP_RELAY=f"127.0.0.1:{free_port}",
            DIGEST_EMAILS="pcc@example.org,ceo@example.org",
        )
        service, _ = _service(db, settings, Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC)))
        outcomes = await service.send("2022-W37")
    finally:
        relay.stop()
    assert outcomes[0].destination == "email:pcc@example.org,ceo@example.org"
    msg = email.message_from_bytes(capture.messages[0], policy=email.policy.default)
    assert msg["To"] == "pcc@example.org, ceo@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in msg.walk()]
    assert types == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html
    assert msg["Message-ID"] in outcomes[0].reference


async def test_without_slack_the_channel_digest_goes_to_the_outbox(
    db: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, DIGEST_CHANNEL="C0LEADERS")
    service, _ = _service(db, settings, Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC)))
    outcomes = await service.send("2022-W37")
    saved = list((tmp_path / "outbox").glob("*-slack.json"))
    assert outcomes[0].reference == f"outbox {saved[0]}"
    payload = json.loads(saved[0].read_text())
    assert payload["channel"] == "C0LEADERS" and payload["blocks"][0]["type"] == "header"
    assert list((tmp_path / "outbox").glob("*-chart.png"))


# -- reminders -----------------------------------------------------------------------------------


async def test_reminders_once_a_week_not_on_bank_holidays_nor_when_away(
    db: Path, tmp_path: Path
) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        settings = _settings(
            tmp_path, SLACK_BOT_TOKEN="xoxb-t", SLACK_SIGNING_SECRET="s", SLACK_API_URL=fake.api_url
        )
        clock = Clock(dt.datetime(2022, 9, 16, 9, 30, tzinfo=dt.UTC))  # Friday 10:30 BST
        service, store = _service(db, settings, clock, slack_notifier(settings))
        with store.transaction():
            store.set_person_away(
                store.person_by_email("dan.hughes@example.org").id, dt.date(2022, 9, 30)
            )
        outcomes = await service.remind()
        dms = fake.calls_to("chat.postMessage")
        # Grace owns stale VW-3; Dan (stale EP-5) is away.
        assert [d["channel"] for d in dms] == ["U0VICTIMS"]
        blocks = (
            dms[0]["blocks"] if isinstance(dms[0]["blocks"], list) else json.loads(dms[0]["blocks"])
        )
        assert blocks[1]["accessory"]["action_id"] == "open_update"
        assert blocks[1]["accessory"]["value"] == "VW-3"
        assert [o.state for o in outcomes] == ["sent"]
        assert await service.remind() == []  # one nudge a week
        # Good Friday 2023 is a bank holiday in England: no nudges at all.
        clock.now = dt.datetime(2023, 4, 7, 9, 30, tzinfo=dt.UTC)
        assert await service.remind() == []
        assert len(fake.calls_to("chat.postMessage")) == 1
    finally:
        await fake.stop()


# -- Word --------------------------------------------------------------------------------------------


def test_docx_reopens_and_holds_every_deliverable(db: Path) -> None:
    store = open_store(db)
    priya = store.person_by_email("priya.shah@example.org")
    record_update(
        store,
        UpdateRequest(
            deliverable="CF-9",
            actor=priya,
            source=Source.SLACK,
            note="<!channel> <script>alert(1)</script> {{ 7*7 }} *bold* & <w:p/>",
            recorded_at=dt.datetime(2022, 9, 1, tzinfo=dt.UTC),
        ),
    )
    report = build_report(
        store, day_from=dt.date(2022, 3, 1), day_to=dt.date(2022, 9, 14), office=Office(tz=LONDON)
    )
    document = docx.Document(io.BytesIO(render_docx(report)))
    text = "\n".join(p.text for p in document.paragraphs)
    for theme in report.themes:
        assert f"{theme.name} – Priorities for Action" in text
        for item in theme.completed + theme.current + theme.new:
            assert item.title in text
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "5.1\tPutting Communities First – Priorities for Action"
    # Staff text is literal in Word: escaped XML, never markup or template code.
    assert (
        "Update: Activities ongoing. <!channel> <script>alert(1)</script> {{ 7*7 }} *bold* & <w:p/>."
        in text
    )
    # The fixture's one letter (13 September): a table by month and category (with none, one
    # sentence instead: tests/digests/test_paper.py).
    table = document.tables[0]
    assert table.rows[0].cells[0].text == "Month"
    assert table.rows[1].cells[0].text == "Mar 2022"


def test_demo_runs_end_to_end(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "tour"
    result = subprocess.run(
        [deliverabot_exe, "demo", "--dir", str(out)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Week 37, 12–18 September 2022" in result.stdout
    assert "14 counted, 1 duplicate, 1 reply" in result.stdout
    assert f"Wrote report.md, report.docx and chart.png to {out.resolve()}" in result.stdout
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert (
        "## Supporting Victims and Witnesses – Priorities for Action"
        in (out / "report.md").read_text()
    )
    assert (
        docx.Document(str(out / "report.docx"))
        .paragraphs[0]
        .text.startswith("Police and Crime Plan 2021-24")
    )
    assert sqlite3.connect(out / "demo.db").execute(
        "SELECT COUNT(*) FROM correspondence"
    ).fetchone() == (14,)


async def test_failed_slack_post_is_kept_in_the_outbox_and_retried(
    db: Path, tmp_path: Path
) -> None:

    fake = FakeSlack()
    await fake.start()
    try:
        service, store = _slack_service(db, tmp_path, fake)
        fake.fail_next("chat.postMessage", 500)
        outcomes = await service.send("2022-W37")
        assert [o.state for o in outcomes] == ["failed"]
        kept = list((tmp_path / "outbox").glob("*undelivered-digest-2022-W37.md"))
        assert kept and "weekly digest" in kept[0].read_text()
        assert [r["state"] for r in store.ledger()] == ["failed"]
        retried = await service.retry()
        assert [o.state for o in retried] == ["sent"]
        assert len(fake.calls_to("chat.postMessage")) == 1
    finally:
        await fake.stop()


async def test_the_posted_digest_links_to_the_board_and_counts_down_to_the_panel(
    db: Path, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path,
        DIGEST_CHANNEL="C0LEADERS",
        BOARD_URL="https://deliverabot.example.org/board",
        PANEL_DATES="2022-09-14,2023-02-08",
    )
    service, _ = _service(db, settings, Clock(dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC)))
    await service.send("2022-W37")
    [saved] = list((tmp_path / "outbox").glob("*-slack.json"))
    text = "\n".join(
        b["text"]["text"] for b in json.loads(saved.read_text())["blocks"] if b["type"] == "section"
    )
    assert "<https://deliverabot.example.org/board/CF-8|CF-8>" in text  # on hold
    assert ":calendar: Next panel Wednesday 8 February 2023, in 142 days: " in text
    assert text.rstrip().endswith("<https://deliverabot.example.org/board|Open the board>")
