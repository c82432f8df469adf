"""Slash-command ack latency: 20 concurrent signed requests to `deliverabot serve`'s
/slack/events, next to a bare Bolt app on the same machine in the same run."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp
from aiohttp import web
from common import EXAMPLE_PLAN, percentile, summarise
from fake_slack import FakeSlack, sign
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import import_plan
from store import open_store

SECRET = "bench-secret"
CONCURRENCY = 20
ROUNDS = 15


async def _fire(session: aiohttp.ClientSession, url: str, text: str, response_url: str) -> float:
    body = urllib.parse.urlencode(
        {
            "command": "/deliverable",
            "text": text,
            "user_id": "U0COMMUNITY",
            "team_id": "T1",
            "channel_id": "C1",
            "response_url": response_url,
            "trigger_id": "t",
        }
    )
    start = time.perf_counter()
    async with session.post(url, data=body.encode(), headers=sign(SECRET, body)) as r:
        await r.read()
        assert r.status == 200, r.status
    return time.perf_counter() - start


async def _measure(url: str, text: str, response_url: str) -> list[float]:
    samples: list[float] = []
    async with aiohttp.ClientSession() as session:
        await _fire(session, url, text, response_url)  # warm-up (auth.test, imports)
        for _ in range(ROUNDS):
            samples += await asyncio.gather(
                *(_fire(session, url, text, response_url) for _ in range(CONCURRENCY))
            )
    return samples


async def _bare_bolt(fake: FakeSlack) -> tuple[web.AppRunner, str]:
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench", base_url=fake.api_url), signing_secret=SECRET
    )

    @app.command("/deliverable")
    async def handle(ack):  # type: ignore[no-untyped-def]
        await ack()

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"


async def main() -> None:
    fake = FakeSlack(users={"U0COMMUNITY": "priya.shah@example.org"})
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seed = open_store(db)
        import_plan(seed, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
        seed.close()
        settings = load_settings(
            {
                "DELIVERABOT_DB": str(db),
                "PORT": "0",
                "SMTP_PORT": "0",
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "OUTBOX_DIR": str(Path(tmp) / "outbox"),
            },
            env_file=None,
        )
        store = open_store(db)
        process = BotProcess(settings=settings, store=store)
        await process.start()
        bare_runner, bare_url = await _bare_bolt(fake)
        ours_url = f"http://127.0.0.1:{process.http_port}/slack/events"
        try:
            base = await _measure(bare_url, "list", fake.response_url("bare"))
            rows = [
                ("bare Bolt app (ack only)", base),
                ("deliverabot: list", await _measure(ours_url, "list", fake.response_url("l"))),
                (
                    "deliverabot: update",
                    await _measure(ours_url, "update CF-9: bench note", fake.response_url("u")),
                ),
                ("deliverabot: help", await _measure(ours_url, "help", fake.response_url("h"))),
            ]
        finally:
            await bare_runner.cleanup()
            await process.stop()
            store.close()
    await fake.stop()
    b50, b99 = percentile(base, 50), percentile(base, 99)
    print(f"slash-command ack latency, {CONCURRENCY} concurrent signed requests x {ROUNDS} rounds")
    for name, samples in rows:
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        print(
            f"  {name:<26} p50 {p50 * 1000:7.2f} ms ({p50 / b50:4.2f}x)   "
            f"p99 {p99 * 1000:7.2f} ms ({p99 / b99:4.2f}x)"
        )
        if name.startswith("deliverabot"):
            summarise(
                f"slash ack p99, {name.split(': ')[1]}",
                f"{p99 * 1000:.0f} ms",
                f"{b99 * 1000:.0f} ms bare Bolt",
                p99 / b99,
                "<= 1.5x and <= 150 ms",
            )


if __name__ == "__main__":
    asyncio.run(main())
