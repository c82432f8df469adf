"""Slash-command ack latency: 20 concurrent signed requests to `deliverabot serve`'s
/slack/events, next to a bare Bolt app on the same machine in the same run.

Each command is measured REPEATS times, each time right after the bare Bolt app, and the
goal row is the median of the p99 ratios (one run alone varies by a factor of two on a shared
machine). The work a command leaves after its ack is drained before the next measure, so each
measure pays only for its own. Run at 1x and 100x an office with three years of history.

The fake Slack (the Web API and the response_urls the commands answer on) runs in a child
process, as Slack is not in ours: only the bot, the bare Bolt app and the client share the
event loop being measured."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp
from aiohttp import web
from common import percentile, summarise
from fake_slack import FakeSlack, sign
from scale_data import populate
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from bot.server import BotProcess
from store import open_store

SECRET = "bench-secret"
CONCURRENCY = 20
ROUNDS = 8
REPEATS = 7
SCALES = (1, 100)
YEARS = 3
COMMANDS = {"list": "list", "update": "update CF-9: bench note", "help": "help"}
USERS = {"U0COMMUNITY": "priya.shah@example.org"}


async def _serve_fake_slack() -> None:
    """The child process: a FakeSlack until stdin closes; its port on stdout."""
    fake = FakeSlack(users=USERS)
    await fake.start()
    print(fake.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await fake.stop()


class RemoteSlack:
    """A FakeSlack in a child process."""

    def __init__(self) -> None:
        here = Path(__file__).resolve().parent
        self._child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import asyncio, slack_ack; asyncio.run(slack_ack._serve_fake_slack())",
            ],
            cwd=here,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        self.port = int(self._child.stdout.readline())

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def stop(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()
        self._child.wait(timeout=30)


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


async def _bare_bolt(fake: RemoteSlack) -> tuple[web.AppRunner, str]:
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


async def _settle(process: BotProcess) -> None:
    """Wait until the work acknowledged so far is done (so the next measure starts clean)."""
    if process.slack_deps is not None:
        await process.slack_deps.drain(timeout=120)
    await asyncio.sleep(0.2)


async def _at_scale(fake: RemoteSlack, scale: int) -> dict[str, list[tuple[float, float]]]:
    """(p99 ours, p99 bare) for each command, REPEATS times."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seed = open_store(db)
        populate(seed, scale, years=YEARS)
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
            await asyncio.sleep(1.0)  # let the start-up catch-up settle
            for _ in range(REPEATS):
                for name, text in COMMANDS.items():
                    base = await _measure(bare_url, "list", fake.response_url("bare"))
                    ours = await _measure(ours_url, text, fake.response_url(name))
                    results[name].append((percentile(ours, 99), percentile(base, 99)))
                    await _settle(process)
        finally:
            await bare_runner.cleanup()
            await process.stop()
            store.close()
    return results


async def main() -> None:
    fake = RemoteSlack()
    print(
        f"slash-command ack p99, {CONCURRENCY} concurrent signed requests x {ROUNDS} rounds, "
        f"{REPEATS} runs, each next to a bare Bolt app (ack only); {YEARS} years of history"
    )
    try:
        for scale in SCALES:
            started = time.perf_counter()
            results = await _at_scale(fake, scale)
            print(f"  ({scale}x measured in {time.perf_counter() - started:.0f} s)")
            for name, runs in results.items():
                ratios = [ours / bare for ours, bare in runs]
                ratio = statistics.median(ratios)
                ours_ms = statistics.median(o for o, _ in runs) * 1000
                bare_ms = statistics.median(b for _, b in runs) * 1000
                spread = ", ".join(f"{r:.2f}" for r in ratios)
                print(
                    f"  {scale:>3}x {name:<7} p99 {ours_ms:6.1f} ms vs bare {bare_ms:6.1f} ms; "
                    f"median ratio {ratio:4.2f}x (runs: {spread})"
                )
                summarise(
                    f"slash ack p99, {name}, {scale}x",
                    f"{ours_ms:.0f} ms",
                    f"{bare_ms:.0f} ms bare Bolt",
                    ratio,
                    "<= 1.5x (median of runs)",
                )
    finally:
        fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
    from common import print_summary

    print_summary()
