"""Slack requests from outside: replays and retries record once, garbage is refused before it
is parsed (and never fills the log), and the board can never make a form miss its ack.
Signed requests go to the real `/slack/events` of a running BotProcess."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_slack import sign
from slack_rig import SECRET, Rig, form_state, slack_rig

from store import Status

BOARD_TOKEN = "board-token-0123456789"
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.fixture
async def rig(tmp_path: Path, example_plan: Path) -> AsyncIterator[Rig]:
    async with slack_rig(tmp_path, example_plan, {"BOARD_TOKEN": BOARD_TOKEN}) as rig:
        yield rig


def _updates(rig: Rig, ref: str) -> list[Any]:
    store = rig.store()
    try:
        d = store.deliverable_by_ref(ref)
        return store.updates(deliverable_id=d.id)
    finally:
        store.close()


def _texts(payload: dict[str, Any]) -> str:
    return json.dumps(payload.get("blocks") or payload.get("text"), ensure_ascii=False)


def _submission(view_id: str, state: dict[str, Any], user: str = "U0COMMUNITY") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "trigger_id": f"trig-{view_id}",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": "deliverable_update",
            "private_metadata": "{}",
            "state": state,
        },
    }


# -- one request, recorded once ------------------------------------------------------------


async def test_a_replayed_or_retried_command_records_once_and_is_answered_alike(
    rig: Rig,
) -> None:
    before = len(_updates(rig, "CF-10"))
    body = rig.command_body("update CF-10 done: Event held on 3 November")
    headers = sign(SECRET, body)
    answers = []
    for extra in ({}, {}, RETRY, {**RETRY, "X-Slack-Retry-Num": "2"}):
        answers.append(await rig.post(body, {**headers, **extra}))
    assert answers == [(200, "")] * 4
    replies = [await rig.response("r", n) for n in range(1, 5)]
    rows = _updates(rig, "CF-10")
    print(f"\n4 posts of one signed command: {len(rows) - before} row(s) recorded")
    assert len(rows) == before + 1
    assert rows[-1].note == "Event held on 3 November"
    assert "Ongoing → *Completed*" in _texts(replies[0])
    assert all(_texts(r) == _texts(replies[0]) for r in replies)  # answered as the first


async def test_the_same_command_typed_twice_is_two_updates(rig: Rig) -> None:
    """Idempotency is per request, not per text: a second, separately signed command counts."""
    before = len(_updates(rig, "CF-10"))
    body = rig.command_body("update CF-10: Venue visit")
    await rig.post(body, sign(SECRET, body, timestamp=int(time.time()) - 1))
    await rig.post(body, sign(SECRET, body))
    await rig.response("r", 2)
    assert len(_updates(rig, "CF-10")) == before + 2


async def test_a_form_submitted_three_times_records_once(rig: Rig) -> None:
    before = len(_updates(rig, "CF-10"))
    body = rig.interaction_body(
        _submission("V77", form_state("CF-10", "completed", None, "Held at the town hall"))
    )
    signed = sign(SECRET, body)
    answers = [
        await rig.post(body, signed),  # the submission
        await rig.post(body, {**signed, **RETRY}),  # Slack's retry of the same request
        await rig.post(body, sign(SECRET, body, timestamp=int(time.time()) + 1)),  # re-signed
    ]
    assert answers == [(200, "")] * 3
    dms = await rig.fake.wait_for(
        lambda: rig.fake.calls_to("chat.postMessage")[2:] and rig.fake.calls_to("chat.postMessage")
    )
    rows = _updates(rig, "CF-10")
    print(f"\n3 posts of one form: {len(rows) - before} row(s) recorded")
    assert len(rows) == before + 1
    assert all("Ongoing → *Completed*" in _texts(dm) for dm in dms)


async def test_a_double_clicked_choice_records_once(rig: Rig) -> None:
    await rig.command("update review ongoing: Scoping started", user="U0PLANLEAD")
    reply = await rig.response()
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    choice = next(b for b in buttons if json.loads(b["value"])["ref"] == "VW-6")
    before = len(_updates(rig, "VW-6"))
    click = {
        "type": "block_actions",
        "user": {"id": "U0PLANLEAD"},
        "response_url": rig.fake.response_url("choice"),
        "trigger_id": "t2",
        "actions": [{**choice, "block_id": "choose_0", "action_ts": "1"}],
    }
    body = rig.interaction_body(click)
    await asyncio.gather(
        *(rig.post(body, sign(SECRET, body, int(time.time()) - n)) for n in (0, 1))
    )
    await rig.response("choice", 2)
    assert len(_updates(rig, "VW-6")) == before + 1


# -- verified before parsed ----------------------------------------------------------------

GARBAGE = [
    ("payload=null", "application/x-www-form-urlencoded"),
    ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    ("{not-json", "application/json"),
    ("[]", "application/json"),
    ("null", "application/json"),
    ('{"type": "view_submission", "view": "x", "user": 5}', "application/json"),
    ("payload=%7B%22type%22%3A%22view_submission%22%2C%22view%22%3A7%7D", "text/plain"),
]


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.exc_info or "Traceback" in r.getMessage() or r.stack_info
    ]


async def test_unsigned_garbage_is_refused_before_parsing_and_logged_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = set()
    for _ in range(25):
        for body, content_type in GARBAGE:
            status, text = await rig.post(body, {"Content-Type": content_type})
            statuses.add(status)
            assert "Traceback" not in text
        # bytes that are not UTF-8, and a wrong signature
        async with rig.session.post(
            f"{rig.base}/slack/events", data=b"payload=\xff\xfe", headers=sign("x", "y")
        ) as r:
            statuses.add(r.status)
    assert statuses == {401}
    assert _tracebacks(caplog) == []
    lines = [r for r in caplog.records if r.name.startswith(("deliverabot", "slack", "aiohttp"))]
    print(f"\n{25 * (len(GARBAGE) + 1)} unsigned requests: {len(lines)} log line(s)")
    assert len(lines) <= 3  # one line per reason per minute, not one per request


async def test_signed_malformed_input_gets_400_without_a_traceback(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for body, content_type in GARBAGE:
        status, text = await rig.post(body, {**sign(SECRET, body), "Content-Type": content_type})
        assert status == 400, body
        assert "Traceback" not in text
    assert _tracebacks(caplog) == []


async def test_a_signed_form_with_a_bogus_status_gets_a_field_error(rig: Rig) -> None:
    before = len(_updates(rig, "CF-10"))
    status, body = await rig.interact(_submission("V5", form_state("CF-10", "bogus", None, "x")))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and "status" in answer["errors"]
    assert len(_updates(rig, "CF-10")) == before
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


# -- the board never delays Slack ----------------------------------------------------------


async def test_every_form_is_acknowledged_while_board_readers_hammer_the_store(
    rig: Rig,
) -> None:
    headers = {"Authorization": f"Bearer {BOARD_TOKEN}"}
    paths = ["/board/chart.png", "/board/report?from=2021-04-01&to=2022-09-14&format=docx"]
    stop = asyncio.Event()
    fetched = 0

    async def reader(n: int) -> None:
        nonlocal fetched
        async with aiohttp.ClientSession() as s:
            while not stop.is_set():
                async with s.get(rig.base + paths[n % 2], headers=headers) as r:
                    assert r.status == 200
                    await r.read()
                    fetched += 1

    readers = [asyncio.create_task(reader(n)) for n in range(40)]
    try:
        await asyncio.sleep(0.5)  # the board's queue is full
        before = len(_updates(rig, "CF-10"))
        answers, took = [], []
        for n in range(4):
            started = time.monotonic()
            state = form_state("CF-10", None, None, f"Board-load note {n}")
            answers.append(await rig.interact(_submission(f"VB{n}", state)))
            took.append(round(time.monotonic() - started, 3))
        await rig.fake.wait_for(lambda: len(rig.fake.calls_to("chat.postMessage")) >= 4, 30)
    finally:
        stop.set()
        await asyncio.gather(*readers, return_exceptions=True)
    print(f"\nform acks under 40 board readers ({fetched} board answers): {took}")
    assert answers == [(200, "")] * 4  # never Bolt's 404 after 3 s
    assert len(_updates(rig, "CF-10")) == before + 4


async def test_a_slow_identity_lookup_has_a_deadline(rig: Rig) -> None:
    rig.fake.delay_next("users.info", 30)
    started = time.monotonic()
    await rig.command("update VW-4 ongoing: Research scheduled", user="UNEWGRACE")
    reply = await rig.response()  # within the fake's 10 s wait, not after 30 s
    assert time.monotonic() - started < 10
    assert "Nothing was recorded" in reply["text"] and "try again" in reply["text"]
    assert _updates(rig, "VW-4")[-1].note != "Research scheduled"


async def test_the_board_shows_an_update_made_after_it_was_cached(rig: Rig) -> None:
    headers = {"Authorization": f"Bearer {BOARD_TOKEN}"}
    # The update is stamped with the real time, so the period runs to today.
    url = f"{rig.base}/board/report?from=2022-03-01&to={dt.date.today()}&format=md"
    async with rig.session.get(url, headers=headers) as r:
        first = await r.text()
    await rig.command("update CF-10 done: Business Community Event held with 40 firms")
    await rig.response()
    async with rig.session.get(url, headers=headers) as r:
        second = await r.text()
    assert "held with 40 firms" not in first and "held with 40 firms" in second


async def test_malformed_http_is_counted_not_logged_with_a_traceback(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = rig.process.http_port
    bad = [
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /slack/events" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
    ]
    for raw in bad * 10:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        assert (await reader.read(200)).startswith((b"HTTP/1.0 400", b"HTTP/1.1 400"))
        writer.close()
        await writer.wait_closed()
    assert _tracebacks(caplog) == []
    assert len([r for r in caplog.records if r.name.startswith(("deliverabot", "aiohttp"))]) <= 3
