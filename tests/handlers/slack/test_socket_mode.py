"""Socket Mode: with SLACK_APP_TOKEN the bot connects out over a websocket (no public URL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from fake_slack import FakeSlack

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import import_plan
from store import Status, open_store


async def test_socket_mode_slash_command_round_trip(tmp_path: Path, example_plan: Path) -> None:
    db_path = tmp_path / "socket.db"
    seed = open_store(db_path)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    fake = FakeSlack(users={"U0COMMUNITY": "priya.shah@example.org"})
    await fake.start()
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db_path),
            "PORT": "0",
            "SMTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_API_URL": fake.api_url,
        },
        env_file=None,
    )
    store = open_store(db_path)
    process = BotProcess(settings=settings, store=store)
    await process.start()
    try:
        assert "/slack/events" not in [
            r.resource.canonical for r in process.web_app.router.routes()
        ]
        opened = await fake.wait_for(lambda: fake.calls_to("apps.connections.open"))
        assert len(opened) == 1
        await fake.socket_send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T1",
                    "channel_id": "C1",
                    "user_id": "U0COMMUNITY",
                    "command": "/deliverable",
                    "text": "update CF-10 done: Event held",
                    "response_url": fake.response_url("sock"),
                    "trigger_id": "t1",
                },
            }
        )
        acks = await fake.wait_for(
            lambda: [a for a in fake.socket_acks if a.get("envelope_id") == "env-1"]
        )
        assert acks[0]["envelope_id"] == "env-1"
        await fake.wait_for(lambda: fake.responses)
        assert "Ongoing → *Completed*" in fake.responses[0][1]["blocks"][0]["text"]["text"]
        check = open_store(db_path)
        assert check.deliverable_by_ref("CF-10").status is Status.COMPLETED
        check.close()
    finally:
        await process.stop()
        store.close()
        await fake.stop()


async def test_unreachable_slack_does_not_stop_the_bot(
    tmp_path: Path, free_port: int, caplog
) -> None:
    import logging

    import aiohttp

    settings = load_settings(
        {
            "DELIVERABOT_DB": str(tmp_path / "x.db"),
            "PORT": "0",
            "SMTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_API_URL": f"http://127.0.0.1:{free_port}/api/",  # nothing listens here
        },
        env_file=None,
    )
    store = open_store(settings.db_path)
    process = BotProcess(settings=settings, store=store)
    caplog.set_level(logging.WARNING)
    await process.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{process.http_port}/healthz") as r,
        ):
            assert r.status == 200
        failed = ("Slack Socket Mode connection failed", "Failed to connect")
        for _ in range(200):
            if any(f in caplog.text for f in failed):
                break
            await asyncio.sleep(0.05)
        assert any(f in caplog.text for f in failed)
        assert "xapp-1-test" not in caplog.text and "xoxb-test" not in caplog.text
        async with (  # still serving
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{process.http_port}/healthz") as r,
        ):
            assert r.status == 200
    finally:
        await process.stop()
        store.close()
