"""Bad input at volume: mutated MIME at the SMTP server of a real `serve`, and fuzzed
`/deliverable` texts through signed requests. No crash, no traceback to a user, and the
server answers afterwards. Sizes: RELIABILITY_FUZZ (300 here, 10,000 in make reliability)."""

from __future__ import annotations

import datetime as dt
import random
import smtplib
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import aiohttp
from fake_slack import FakeSlack, sign
from reliability_harness import Served, health, scale, send

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import import_plan
from store import open_store

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "mail").glob("*.eml"))
CORPUS = sorted((Path(__file__).resolve().parents[3] / "shared" / "mail-corpus").glob("*.eml"))


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randrange(1, 6)):
        kind = rng.randrange(6)
        at = rng.randrange(len(data) or 1)
        if kind == 0 and data:  # flip bytes
            data[at] = rng.randrange(256)
        elif kind == 1:  # cut
            del data[at : at + rng.randrange(1, 400)]
        elif kind == 2:  # duplicate a stretch
            data[at:at] = data[at : at + rng.randrange(1, 400)]
        elif kind == 3:  # binary noise
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind == 4:  # a broken boundary or header
            data[at:at] = rng.choice(
                [
                    b"\r\n--",
                    b"\r\nContent-Type: multipart/mixed; boundary=",
                    b"=?utf-8?b?",
                    b"\r\n\r\n",
                ]
            )
        else:  # a line ending of another kind
            data = bytearray(bytes(data).replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\n"])))
    return bytes(data).replace(b"\r\n.\r\n", b"\r\n..\r\n")


def test_mutated_mime_never_crashes_the_server(served: Served) -> None:
    served.start()
    rng = random.Random(2022)
    seeds = [p.read_bytes() for p in FIXTURES + CORPUS]
    codes: Counter[int] = Counter()
    for _ in range(scale("RELIABILITY_FUZZ", 300)):
        codes[send(served.smtp, _mutate(rng, rng.choice(seeds)), timeout=10)] += 1
    with smtplib.SMTP("127.0.0.1", served.smtp, timeout=10) as client:
        assert client.noop()[0] == 250
    status, _, _ = health(served.http)
    code, err = served.stop()  # what is not parsed yet stays pending, committed
    served.start()  # ...and the next start parses it
    deadline = time.monotonic() + 600
    while served.query("SELECT 1 FROM inbound WHERE state = 'pending' LIMIT 1"):
        assert time.monotonic() < deadline, "pending messages were not processed"
        time.sleep(0.5)
    code_again, err_again = served.stop()
    err += err_again
    states = dict(served.query("SELECT state, COUNT(*) FROM inbound GROUP BY state"))
    print(f"\nmutated MIME: replies {dict(codes)}; outcomes {states}")
    assert set(codes) <= {250, 550, 552}  # accepted, refused at RCPT by a broken From, too big
    assert status == 200 and code == 0 and code_again == 0
    assert "Traceback" not in err
    assert "pending" not in states


_WORDS = [
    "update",
    "list",
    "show",
    "add",
    "away",
    "until",
    "due",
    "done",
    "ongoing",
    "on-hold",
    "bau",
    "summary",
    "CF-1",
    "CF-99",
    "cf-3",
    "VW-11",
    "Q3",
    "2022/23",
    "Q3/Q4,",
    "Q2/3",
    ":",
    "::",
    "<!channel>",
    "@here",
    "*bold*",
    "`code`",
    "\n",
    "\u202e",
    "💥",
    "'",
    '"',
    "%",
    "&amp;",
    "<script>",
    "mine",
    "stale",
    "help",
    "digest",
    "stats",
    "-",
    "",
    " ",
]


def _fuzzed(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 80)))
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(0, 10)))[:3000]


async def test_fuzzed_commands_get_answers_never_errors(tmp_path: Path, example_plan: Path) -> None:
    db = tmp_path / "f.db"
    seed = open_store(db)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    seed.close()
    fake = FakeSlack(users={"U0COMMUNITY": "priya.shah@example.org"})
    await fake.start()
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db),
            "PORT": "0",
            "SMTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-t",
            "SLACK_SIGNING_SECRET": "fuzz",
            "SLACK_API_URL": fake.api_url,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        env_file=None,
    )
    store = open_store(db)
    process = BotProcess(settings=settings, store=store)
    await process.start()
    rng = random.Random(37)
    statuses: Counter[int] = Counter()
    url = f"http://127.0.0.1:{process.http_port}/slack/events"
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(scale("RELIABILITY_FUZZ", 300)):
                body = urllib.parse.urlencode(
                    {
                        "command": "/deliverable",
                        "text": _fuzzed(rng),
                        "user_id": rng.choice(["U0COMMUNITY", "U0STRANGER"]),
                        "team_id": "T1",
                        "channel_id": "C1",
                        "response_url": fake.response_url(f"r{i}"),
                        "trigger_id": "t",
                    }
                )
                async with session.post(url, data=body.encode(), headers=sign("fuzz", body)) as r:
                    statuses[r.status] += 1
                    assert "Traceback" not in await r.text()
            await process.slack_deps.drain() if process.slack_deps else None
            help_body = urllib.parse.urlencode(
                {"command": "/deliverable", "text": "help", "user_id": "U0COMMUNITY"}
            )
            async with session.post(
                url, data=help_body.encode(), headers=sign("fuzz", help_body)
            ) as r:
                assert r.status == 200 and "/deliverable update" in await r.text()
    finally:
        await process.stop()
        store.close()
        await fake.stop()
    replies = [r for _, r in fake.responses]
    print(f"\nfuzzed commands: HTTP {dict(statuses)}; {len(replies)} replies through response_url")
    assert set(statuses) == {200}
    assert all("Traceback" not in str(r) for r in replies)
