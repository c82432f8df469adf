"""A running BotProcess with Slack on, its `/slack/events` fed signed requests, and the Web
API served by the fake on 127.0.0.1 (shared by the Slack tests)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from fake_slack import FakeSlack, sign

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import import_plan
from store import Store, open_store

SECRET = "test-signing-secret"
NOW = dt.datetime(2022, 9, 14, 12, 0, tzinfo=dt.UTC)
USERS = {
    "U0COMMUNITY": "priya.shah@example.org",
    "U0PREVENT": "tom.fletcher@example.org",
    "U0PLANLEAD": "alex.morgan@example.org",
    "UNEWGRACE": "Grace.Okafor@example.org",  # not in the plan by Slack id: matched by email
    "USTRANGER": "stranger@example.com",
}


@dataclasses.dataclass
class Rig:
    fake: FakeSlack
    base: str
    session: aiohttp.ClientSession
    db_path: Path
    process: BotProcess

    def store(self) -> Store:
        return open_store(self.db_path)

    async def post(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with self.session.post(
            f"{self.base}/slack/events", data=body.encode(), headers=headers or sign(SECRET, body)
        ) as r:
            return r.status, await r.text()

    def command_body(self, text: str, user: str = "U0COMMUNITY", name: str = "r") -> str:
        return urllib.parse.urlencode(
            {
                "token": "legacy",
                "team_id": "T1",
                "channel_id": "C1",
                "user_id": user,
                "user_name": "someone",
                "command": "/deliverable",
                "text": text,
                "response_url": self.fake.response_url(name),
                "trigger_id": "trig-1",
            }
        )

    async def command(
        self, text: str, user: str = "U0COMMUNITY", name: str = "r"
    ) -> tuple[int, str]:
        return await self.post(self.command_body(text, user, name))

    @staticmethod
    def interaction_body(payload: dict[str, Any]) -> str:
        payload = {"team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy", **payload}
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    async def interact(
        self, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = self.interaction_body(payload)
        return await self.post(body, headers)

    async def event(self, event: dict[str, Any]) -> tuple[int, str]:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A1",
                "event": event,
                "event_id": f"Ev{time.time_ns()}",
                "event_time": int(time.time()),
            }
        )
        headers = {**sign(SECRET, body), "Content-Type": "application/json"}
        return await self.post(body, headers)

    async def response(self, name: str = "r", count: int = 1) -> dict[str, Any]:
        await self.fake.wait_for(
            lambda: len([r for n, r in self.fake.responses if n == name]) >= count
        )
        return [r for n, r in self.fake.responses if n == name][count - 1]


def form_state(
    ref: str | None, status: str | None, due: str | None, note: str | None, deps: bool = False
) -> dict[str, Any]:
    """The ``state`` of a submitted update form."""

    def sel(v: str | None) -> dict[str, Any]:
        return {"selected_option": {"value": v} if v else None}

    return {
        "values": {
            "deliverable": {"deliverable_picker": {"type": "external_select", **sel(ref)}},
            "status": {"status": {"type": "radio_buttons", **sel(status)}},
            "due": {"due": {"type": "static_select", **sel(due)}},
            "flags": {
                "dependencies": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "dependencies"}] if deps else [],
                }
            },
            "note": {"note": {"type": "plain_text_input", "value": note}},
        }
    }


@contextlib.asynccontextmanager
async def slack_rig(
    tmp_path: Path, example_plan: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Rig]:
    db_path = tmp_path / "slack.db"
    seed = open_store(db_path)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    fake = FakeSlack(users=USERS)
    await fake.start()
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db_path),
            "PORT": "0",
            "SMTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            **(env or {}),
        },
        env_file=None,
    )
    store = open_store(db_path)
    process = BotProcess(settings=settings, store=store, clock=lambda: NOW)
    await process.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Rig(fake, f"http://127.0.0.1:{process.http_port}", session, db_path, process)
    finally:
        await process.stop()
        store.close()
        await fake.stop()
