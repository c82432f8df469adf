"""Acks first (handlers/slack/pacing.py): work after an ack waits while other requests are
being answered, and never longer than its limit."""

from __future__ import annotations

import asyncio
import time

from handlers.slack.pacing import AcksFirst


async def test_work_waits_until_the_answers_in_flight_are_written() -> None:
    acks = AcksFirst()
    order: list[str] = []

    async def work() -> None:
        await acks.wait()
        order.append("work")

    with acks.answering():
        task = asyncio.create_task(work())
        await asyncio.sleep(0.05)
        order.append("answered")
    await asyncio.wait_for(task, 1)
    assert order == ["answered", "work"]
    assert acks.answering_now == 0


async def test_nothing_waits_when_nothing_is_being_answered() -> None:
    acks = AcksFirst()
    start = time.perf_counter()
    await acks.wait()
    assert time.perf_counter() - start < 0.01


async def test_a_steady_stream_of_requests_does_not_starve_the_work() -> None:
    acks = AcksFirst(max_wait=0.1)
    with acks.answering():
        start = time.perf_counter()
        await acks.wait()
        waited = time.perf_counter() - start
    assert 0.09 <= waited < 0.5


async def test_work_waits_for_the_rest_of_a_burst() -> None:
    acks = AcksFirst(quiet=0.1)
    with acks.answering():
        pass
    await asyncio.sleep(0)  # the answer is written
    start = time.perf_counter()
    waiting = asyncio.create_task(acks.wait())
    await asyncio.sleep(0.05)
    with acks.answering():  # the next request of the burst
        await asyncio.sleep(0.01)
    await asyncio.wait_for(waiting, 1)
    waited = time.perf_counter() - start
    assert 0.15 <= waited < 0.5
