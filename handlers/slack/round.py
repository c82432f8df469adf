"""The paper round in Slack: the owner's buttons (Approve, Edit, Not mine, Approve all),
the edit form, the coordinator's Return button and form, ``/deliverable round …`` for
editors, and the round on an editor's App Home.

Every listener acknowledges first; decisions go through :mod:`handlers.service.round`, and
the DM a button sits in is redrawn from the stored state, so what the owner sees is what was
recorded. Drafting and delivery are the :class:`~handlers.round_desk.RoundDesk`'s.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from handlers.bounded import MAX_NOTE_CHARS
from handlers.grammar import GrammarError
from handlers.round_grammar import ROUND_HELP, RoundCommand, parse_round_command
from handlers.service import ServiceError
from handlers.service.round import approve_line, approve_waiting, edit_line, not_mine
from handlers.service.round_admin import OpenRound, find_round, reassign_line, return_line
from handlers.slack.blocks import esc, section
from handlers.slack.queries import quarter_choices
from handlers.slack.round_views import (
    edit_modal,
    home_blocks,
    line_message,
    return_modal,
    status_text,
)
from handlers.slack.session import BUSY, Session, log, slack_error
from store import Person, Source, Status, StoreUnavailable
from store.round import RoundBook

__all__ = [
    "round_approve",
    "round_approve_all",
    "round_command",
    "round_edit",
    "round_edit_submitted",
    "round_home",
    "round_not_mine",
    "round_return_open",
    "round_return_submitted",
]

Reply = dict[str, Any]
STATUS_VALUES = frozenset(s.value for s in Status)


def _choice(action: dict[str, Any]) -> tuple[str, str | None, list[str]]:
    """(round, reference, the references of the message) from a button's value."""
    data = json.loads(action.get("value") or "{}")
    name, ref, scope = data["r"], data.get("ref"), data.get("s") or []
    if not isinstance(name, str) or not isinstance(scope, list):
        raise ValueError("not a round button")
    return name, ref if isinstance(ref, str) else None, [str(s) for s in scope][:50]


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)


async def _redraw(session: Session, name: str, scope: list[str], person: Person) -> Reply | None:
    reader = session.reader
    book = await reader.call(reader.round_book, name)
    if book is None:
        return None
    return line_message(book, scope, person=person.name, tz=session.office.tz)


async def _answer(
    ack: AsyncAck,
    action: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
    record: Callable[[Session, Person, str, str | None, list[str]], Awaitable[Any]],
) -> tuple[Session, str] | None:
    """The shape of every owner's button: ack, know them, record, redraw the message."""
    await ack()
    session = Session.of(context)
    try:
        name, ref, scope = _choice(action)
    except (ValueError, KeyError, TypeError):
        await _say(respond, ":warning: That button is broken; please use the latest message.")
        return None
    person = await session.person()
    if person is None:
        await _say(respond, await session.refusal())
        return None
    try:
        await record(session, person, name, ref, scope)
    except StoreUnavailable:
        await _say(respond, BUSY)
        return None
    except ServiceError as exc:
        await _say(respond, f":warning: {esc(str(exc))}")
        return None
    message = await _redraw(session, name, scope or ([ref] if ref else []), person)
    if message is not None:
        await respond(replace_original=True, **message)
    return session, name


async def round_approve(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    async def record(s: Session, p: Person, name: str, ref: str | None, scope: list[str]) -> Any:
        return await s.writer.call(
            approve_line, name, ref=ref or "", actor=p, now=s.office.now(), source="slack"
        )

    await _answer(ack, action, respond, context, record)


async def round_approve_all(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    async def record(s: Session, p: Person, name: str, ref: str | None, scope: list[str]) -> Any:
        return await s.writer.call(
            approve_waiting,
            name,
            actor=p,
            now=s.office.now(),
            source="slack",
            refs=scope,
        )

    await _answer(ack, action, respond, context, record)


async def round_not_mine(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    async def record(s: Session, p: Person, name: str, ref: str | None, scope: list[str]) -> Any:
        return await s.writer.call(
            not_mine, name, ref=ref or "", actor=p, now=s.office.now(), source="slack"
        )

    done = await _answer(ack, action, respond, context, record)
    if done is not None and done[0].deps.rounds is not None:
        await done[0].deps.rounds.deliver(done[1])  # the coordinator hears of it now


async def round_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Edit: the form with the line as it stands, and the deliverable's status, due
    quarter and dependencies."""
    await ack()
    session = Session.of(context)
    try:
        name, ref, scope = _choice(action)
    except (ValueError, KeyError, TypeError):
        await _say(respond, ":warning: That button is broken; please use the latest message.")
        return
    reader, office = session.reader, session.office

    def load() -> dict[str, Any] | None:
        book = reader.round_book(name)
        view = book.by_ref().get((ref or "").upper()) if book else None
        d = reader.deliverable(view.line.deliverable_id) if view else None
        if view is None or d is None:
            return None
        container = body.get("container") or {}
        metadata = {
            "r": name,
            "ref": view.ref,
            "s": scope,
            "c": container.get("channel_id") or (body.get("channel") or {}).get("id"),
            "ts": container.get("message_ts") or (body.get("message") or {}).get("ts"),
        }
        return edit_modal(view, d, quarter_choices(reader, office), metadata)

    modal = await reader.call(load)
    if modal is None:
        await _say(respond, ":warning: That line is no longer in the round.")
        return
    await session.client.views_open(trigger_id=body["trigger_id"], view=modal)


def _edit_fields(view: dict[str, Any]) -> dict[str, Any]:
    values = view["state"]["values"]

    def picked(block: str, action: str) -> str | None:
        option = (values.get(block, {}).get(action) or {}).get("selected_option")
        return option.get("value") if option else None

    status, due = picked("status", "status"), picked("due", "due")
    flags = (values.get("flags", {}).get("dependencies") or {}).get("selected_options") or []
    return {
        "text": (values.get("line", {}).get("line") or {}).get("value") or "",
        "status": Status(status) if status in STATUS_VALUES else None,
        "due": due if due and due != "none" else None,
        "dependencies": any(o.get("value") == "dependencies" for o in flags),
    }


async def _dm(session: Session, text: str) -> None:
    try:
        await session.client.chat_postMessage(
            channel=session.user_id or "",
            parse="none",
            link_names=False,
            text=text,
            blocks=[section(text)],
        )
    except SlackApiError as exc:
        log.warning("could not answer by DM: %s", slack_error(exc))


async def round_edit_submitted(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Check the line in the form, close it, then record the edit (an event, and the words
    as the deliverable's summary note) and redraw the DM the Edit button sat in."""
    session = Session.of(context)
    fields = _edit_fields(view)
    text = " ".join(fields["text"].split())
    if not text:
        await ack(response_action="errors", errors={"line": "Write the line the paper prints."})
        return
    if len(text) > MAX_NOTE_CHARS:
        limit = f"The line is {len(text)} characters; the limit is {MAX_NOTE_CHARS}."
        await ack(response_action="errors", errors={"line": limit})
        return
    await ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    person = await session.person()
    if person is None:
        await _dm(session, await session.refusal() + f" Your line was: {esc(text)}")
        return
    try:
        await session.writer.call(
            edit_line,
            str(meta.get("r")),
            ref=str(meta.get("ref")),
            actor=person,
            text=text,
            now=session.office.now(),
            source=Source.SLACK,
            key=session.request_key,
            office=session.office,
            **{k: fields[k] for k in ("status", "due", "dependencies")},
        )
    except StoreUnavailable:
        await _dm(session, f"{BUSY} Your line was: {esc(text)}")
        return
    except ServiceError as exc:
        await _dm(session, f":warning: {esc(str(exc))} Your line was: {esc(text)}")
        return
    await _redraw_message(session, meta, person)


async def _redraw_message(session: Session, meta: dict[str, Any], person: Person) -> None:
    scope = [str(s) for s in meta.get("s") or [meta.get("ref")]]
    message = await _redraw(session, str(meta.get("r")), scope, person)
    if message is None:
        return
    if meta.get("c") and meta.get("ts"):
        try:
            await session.client.chat_update(
                channel=meta["c"], ts=meta["ts"], parse="none", link_names=False, **message
            )
            return
        except SlackApiError as exc:
            log.info("chat.update of a round message failed: %s", slack_error(exc))
    await _dm(session, f":pencil2: Saved your line for {esc(str(meta.get('ref')))}.")


async def round_return_open(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Return (an editor's App Home): the form for the comment."""
    await ack()
    session = Session.of(context)
    person = await session.person()
    if person is None or not person.can_edit_any:
        await _dm(session, ":no_entry: Only an editor or admin can return a line.")
        return
    try:
        name, ref, _ = _choice(action)
    except (ValueError, KeyError, TypeError):
        return
    reader = session.reader
    book = await reader.call(reader.round_book, name)
    line = book.by_ref().get((ref or "").upper()) if book else None
    if book is None or line is None:
        await _dm(session, ":warning: That line is no longer in the round.")
        return
    await session.client.views_open(trigger_id=body["trigger_id"], view=return_modal(book, line))


async def round_return_submitted(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    session = Session.of(context)
    values = view["state"]["values"]
    comment = ((values.get("comment", {}).get("comment") or {}).get("value") or "").strip()
    if not comment:
        await ack(response_action="errors", errors={"comment": "Say what should change."})
        return
    await ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    person = await session.person()
    if person is None:
        await _dm(session, await session.refusal())
        return
    try:
        done = await session.writer.call(
            return_line,
            str(meta.get("r")),
            ref=str(meta.get("ref")),
            actor=person,
            comment=comment,
            now=session.office.now(),
            key=session.request_key,
            source="slack",
        )
    except (StoreUnavailable, ServiceError) as exc:
        text = BUSY if isinstance(exc, StoreUnavailable) else f":warning: {esc(str(exc))}"
        await _dm(session, text)
        return
    if session.deps.rounds is not None:
        await session.deps.rounds.deliver(done.round.name)
    await _dm(session, f":leftwards_arrow_with_hook: Returned *{esc(done.view.ref)}* to its owner.")


# -- /deliverable round … -----------------------------------------------------------------------


async def round_command(session: Session, text: str, respond: AsyncRespond) -> None:
    """``/deliverable round open|status|return|reassign|close`` (after the ack)."""
    try:
        cmd = parse_round_command(text)
    except GrammarError as exc:
        await _say(respond, f":warning: {esc(str(exc))}")
        return
    if cmd.verb == "help":
        await _say(respond, ROUND_HELP)
        return
    person = await session.person()
    if person is None:
        await _say(respond, await session.refusal())
        return
    try:
        reply = await _run_round(session, cmd, person)
    except StoreUnavailable:
        reply = BUSY
    except ServiceError as exc:
        reply = f":warning: {esc(str(exc))}"
    await _say(respond, reply)


async def _run_round(session: Session, cmd: RoundCommand, person: Person) -> str:
    reader, writer, now = session.reader, session.writer, session.office.now()
    if cmd.verb == "status":
        found = await reader.call(find_round, reader, cmd.name)
        book = await reader.call(reader.round_book, found.name)
        assert book is not None
        return status_text(book)
    desk = session.deps.rounds
    if desk is None:
        return "The paper round is not available on this bot."
    if not person.can_edit_any:
        return ":no_entry: Only an editor or admin can run a round."
    if cmd.verb == "open":
        assert cmd.name and cmd.dates
        d = cmd.dates
        request = OpenRound(cmd.name, d["from"], d["to"], d["panel"], d["due"], cmd.alongside)
        opened = await desk.open(request, actor=person)
        sent = await desk.deliver(opened.name)
        asked = len({o.destination for o in sent if o.kind == "round-ask" and o.state == "sent"})
        return (
            f":memo: Opened the round *{esc(opened.name)}*: {asked} owner(s) asked. "
            f"`/deliverable round status {esc(opened.name)}` shows where it stands."
        )
    found = await reader.call(find_round, reader, cmd.name)
    if cmd.verb == "close":
        closed = await desk.close(found.name, actor=person)
        return (
            f":lock: Closed the round *{esc(closed.name)}* and froze its paper "
            f"(`deliverabot report --round {esc(closed.name)}` rebuilds it exactly)."
        )
    if cmd.verb == "return":
        done = await writer.call(
            return_line,
            found.name,
            ref=cmd.ref or "",
            actor=person,
            comment=cmd.comment,
            now=now,
            source="slack",
        )
    else:
        to = await reader.call(reader.person_by_email, cmd.email or "")
        if to is None:
            return f":warning: {esc(cmd.email or '')} is not a person in the plan."
        done = await writer.call(
            reassign_line,
            found.name,
            ref=cmd.ref or "",
            actor=person,
            to=to,
            now=now,
            source="slack",
        )
    await desk.deliver(found.name)
    owner = await reader.call(reader.person, done.view.owner_id) if done.view.owner_id else None
    who = esc(owner.name if owner else "nobody")
    return f":leftwards_arrow_with_hook: *{esc(done.view.ref)}* is with {who} again."


async def round_home(session: Session, person: Person) -> list[dict[str, Any]]:
    """The open rounds, for an editor's App Home (nothing for anyone else)."""
    if not person.can_edit_any:
        return []
    reader = session.reader

    def load() -> list[RoundBook]:
        books = [reader.round_book(r.name) for r in reader.rounds(open_only=True)]
        return [b for b in books if b is not None]

    return home_blocks(await reader.call(load))
