"""Slack faults on the digest: 429 with Retry-After, 500, a hang past the timeout, a failed
chart upload. Each digest is posted exactly once, and the ledger says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fake_slack import FakeSlack

from bot.config import load_settings
from bot.wiring import digest_service
from handlers.plan import load_plan
from handlers.service import CorrespondenceRequest, import_plan, record_correspondence
from handlers.slack import SlackNotifier, make_web_client
from store import open_store


async def test_every_digest_is_posted_once_whatever_slack_does(
    tmp_path: Path, example_plan: Path
) -> None:
    db = tmp_path / "d.db"
    store = open_store(db)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    for week in (33, 34, 35, 36):  # a letter each week: every digest has a chart to upload
        day = dt.date.fromisocalendar(2022, week, 2)
        record_correspondence(store, CorrespondenceRequest(dedup_key=f"w{week}", received_on=day))
    fake = FakeSlack()
    await fake.start()
    try:
        settings = load_settings(
            {
                "DELIVERABOT_DB": str(db),
                "OUTBOX_DIR": str(tmp_path / "outbox"),
                "SLACK_BOT_TOKEN": "xoxb-t",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_API_URL": fake.api_url,
                "DIGEST_CHANNEL": "C0LEADERS",
            },
            env_file=None,
        )
        now = dt.datetime(2022, 9, 19, 10, tzinfo=dt.UTC)
        client = make_web_client(settings.slack_bot_token, settings.slack_api_url, timeout=1)
        service = digest_service(settings, store, slack=SlackNotifier(client), clock=lambda: now)
        faults = {
            "2022-W33": ("chat.postMessage", 429, {"Retry-After": "1"}),
            "2022-W34": ("chat.postMessage", 500, {}),
            "2022-W35": ("chat.postMessage", 0, {}),  # hangs past the client's timeout
            "2022-W36": ("files.getUploadURLExternal", 500, {}),  # the chart fails
        }
        first: dict[str, str] = {}
        for period, (method, status, headers) in faults.items():
            fake.fail_next(method, status, headers)
            [outcome] = await service.send(period)
            first[period] = outcome.state
        retried = [o.state for o in await service.retry()]
        again = await service.retry()
        posts = [p for p in fake.calls_to("chat.postMessage") if p["text"].startswith("Police")]
        ledger = {r["period"]: (r["state"], r["warning"]) for r in store.ledger()}
        print(f"\nSlack faults: first tries {first}; retries {retried}")
        print(f"posts per digest: {len(posts)} for {len(faults)} digests; ledger {ledger}")
        assert len(posts) == len(faults)
        assert {p for p, (state, _) in ledger.items() if state == "sent"} == set(faults)
        assert ledger["2022-W36"][1] and "chart" in ledger["2022-W36"][1]
        assert again == []
    finally:
        store.close()
        await fake.stop()
