"""The Slack listeners called directly, as Bolt calls them: by the names of their arguments.

The end-to-end tests (tests/handlers/slack/test_slack.py) dispatch signed requests through Bolt; these
show that each listener is a plain function with its collaborators passed in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from handlers.grammar import ListCommand
from handlers.service.writer import Writer
from handlers.slack import LISTENERS, Session, SlackDeps
from handlers.slack.commands import deliverable_command, run_list
from store import Office, Status, Store


class Recorder:
    """Stands in for Bolt's ``ack`` and ``respond``: it keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def _context(store: Store, user_id: str) -> AsyncBoltContext:
    deps = SlackDeps(
        writer=Writer(store),
        office=Office(tz=dt.UTC, clock=lambda: dt.datetime(2022, 9, 16, 10, tzinfo=dt.UTC)),
    )
    context = AsyncBoltContext()
    context[Session.KEY] = Session(deps, client=None, user_id=user_id)  # type: ignore[arg-type]
    return context


def _slack_id(store: Store, email: str) -> str:
    person = store.person_by_email(email)
    slack_id = person.identity("slack") if person is not None else None
    assert slack_id is not None
    return slack_id


async def test_update_command_records_and_responds(plan_store: Store) -> None:
    ack, respond = Recorder(), Recorder()
    user = _slack_id(plan_store, "priya.shah@example.org")
    await deliverable_command(
        ack=ack,
        command={"text": "update CF-10 done: Event held", "trigger_id": "t"},
        respond=respond,
        context=_context(plan_store, user),
    )
    assert ack.calls == [{}]  # acknowledged at once, with nothing to show yet
    [reply] = respond.calls
    assert reply["response_type"] == "ephemeral"
    assert "Recorded an update on CF-10" in reply["text"]
    assert plan_store.deliverable_by_ref("CF-10").status is Status.COMPLETED


async def test_grammar_errors_are_answered_in_the_ack(plan_store: Store) -> None:
    ack, respond = Recorder(), Recorder()
    await deliverable_command(
        ack=ack,
        command={"text": "update CF-10 frozen: x"},
        respond=respond,
        context=_context(plan_store, "U0NOBODY"),
    )
    assert respond.calls == []
    assert "did not understand 'frozen'" in ack.calls[0]["text"]
    assert plan_store.deliverable_by_ref("CF-10").status is Status.ONGOING


async def test_list_stale_is_a_plain_function_of_the_session(plan_store: Store) -> None:
    session = Session.of(_context(plan_store, "U0NOBODY"))
    reply = await run_list(session, ListCommand("stale"))
    assert "Stale deliverables (no update for 4 weeks)" in reply["text"]


def test_every_listener_is_named_and_registered_once() -> None:
    names = [listener.__name__ for _, _, listener in LISTENERS]
    assert len(names) == len(set(names)) == 16  # 9, and the paper round's 7
    assert all(not n.startswith("<") for n in names)
