"""``/deliverable``: one listener that acknowledges, then one named handler per command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from handlers.grammar import (
    HELP_TEXT,
    AddCommand,
    AwayCommand,
    Command,
    GrammarError,
    HelpCommand,
    ListCommand,
    ShowCommand,
    SimpleCommand,
    UpdateCommand,
    parse_command,
)
from handlers.service import (
    AmbiguousDeliverable,
    ServiceError,
    add_deliverable,
    command_request,
    find_theme,
    save_pending,
    set_away,
)
from handlers.service.listing import Unidentified, list_deliverables, show_deliverable
from handlers.slack.blocks import esc
from handlers.slack.round import round_command
from handlers.slack.session import BUSY, Session
from handlers.slack.views import add_modal, ambiguity_message, list_message, show_message
from store import Source, StoreUnavailable

__all__ = ["deliverable_command"]

Reply = dict[str, Any]


def _warning(exc: Exception) -> Reply:
    return {"text": f":warning: {esc(str(exc))}"}


async def deliverable_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Parse, acknowledge within Slack's 3 seconds, then answer through ``respond``."""
    session = Session.of(context)
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    if verb.lower() == "round":  # the paper round: handlers/slack/round.py
        await ack()
        await session.after_acks()
        await round_command(session, rest, respond)
        return
    try:
        cmd = parse_command(command.get("text") or "", office=session.office)
    except GrammarError as exc:
        await ack(
            response_type="ephemeral", text=f":warning: {esc(str(exc))}\nSee `/deliverable help`."
        )
        return
    if isinstance(cmd, HelpCommand):
        prefix = (
            f":thinking_face: I don't know `{esc(cmd.unknown)}`. Here is what I can do:\n"
            if cmd.unknown
            else ""
        )
        await ack(response_type="ephemeral", text=prefix + HELP_TEXT)
        return
    await ack()
    # Nothing above touched the store. What follows waits until the acks in flight are sent
    # (handlers/slack/pacing.py), except opening a form: its trigger_id expires in 3 seconds.
    if isinstance(cmd, UpdateCommand) and cmd.needs_form:
        await session.open_update_form(command["trigger_id"], ref=cmd.ref)
        return
    if isinstance(cmd, AddCommand) and not (cmd.theme and cmd.title):
        await open_add_form(session, command["trigger_id"], cmd.theme)
        return
    await session.after_acks()
    try:
        reply = await HANDLERS[type(cmd)](session, cmd)
    except StoreUnavailable:
        reply = {"text": BUSY}
    await session.after_acks()
    await respond(response_type="ephemeral", **reply)


async def open_add_form(session: Session, trigger_id: str, theme_text: str | None) -> None:
    reader = session.reader
    themes = await reader.call(reader.themes)
    theme = None
    if theme_text:
        try:
            theme = await reader.call(find_theme, reader, theme_text)
        except ServiceError:
            theme = None
    await session.client.views_open(
        trigger_id=trigger_id, view=add_modal(themes=themes, theme=theme)
    )


async def run_list(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, ListCommand)
    reader, now = session.reader, session.office.now()
    person = await session.person() if cmd.mine else None
    office = session.office

    def build() -> Reply:  # on the reader's thread: a long list is CPU work
        listing = list_deliverables(reader, cmd, actor=person, office=office)
        return list_message(listing.rows, now=now, title=listing.title)

    async def built() -> Reply:
        return await reader.call(build)

    version = await reader.call(reader.data_version)
    minute = now.replace(second=0, microsecond=0)
    key = (version, minute, cmd.scope, cmd.mine, person.id if person else None)
    try:
        return await session.deps.replies.get(key, built)
    except Unidentified:
        return {"text": await session.refusal()}
    except ServiceError as exc:
        return _warning(exc)


async def run_show(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, ShowCommand)
    reader, now, tz = session.reader, session.office.now(), session.office.tz
    try:
        shown = await reader.call(show_deliverable, reader, cmd.ref)
    except AmbiguousDeliverable as exc:
        refs = ", ".join(c.ref for c in exc.candidates[:10])
        return {"text": f":mag: {esc(str(exc))} Try one of: {refs}."}
    except ServiceError as exc:
        return _warning(exc)
    return show_message(shown, now=now, tz=tz)


async def run_preview(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, SimpleCommand)
    preview = session.deps.previews.get(cmd.name)
    if preview is None:
        return {"text": f"The {cmd.name} preview is not available yet."}
    return await preview()


async def run_update(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, UpdateCommand) and cmd.ref is not None
    person = await session.person()
    if person is None:
        return {"text": await session.refusal()}
    request = command_request(
        cmd, actor=person, source=Source.SLACK, idempotency_key=session.request_key
    )
    try:
        return await session.confirm(await session.record(request), request)
    except AmbiguousDeliverable as exc:
        payload = {"user": session.user_id, **cmd.payload()}
        token = await session.writer.call(save_pending, "update", payload)
        return ambiguity_message(cmd.ref, exc.candidates, token)
    except ServiceError as exc:
        return _warning(exc)


async def run_add(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, AddCommand) and cmd.theme and cmd.title
    person = await session.person()
    if person is None:
        return {"text": await session.refusal()}
    try:
        created = await session.writer.call(
            add_deliverable,
            theme=cmd.theme,
            title=cmd.title,
            actor=person,
            source=Source.SLACK,
            today=session.today(),
            office=session.office,
            idempotency_key=session.request_key,
        )
    except ServiceError as exc:
        return _warning(exc)
    return {
        "text": (
            f":new: Added *{esc(created.ref)}* {esc(created.title)} "
            f"(not started, owner {esc(person.name)}). It counts as new from today."
        )
    }


async def run_away(session: Session, cmd: Command) -> Reply:
    assert isinstance(cmd, AwayCommand)
    person = await session.person()
    if person is None:
        return {"text": await session.refusal()}
    try:
        away = await session.writer.call(
            set_away, actor=person, until=cmd.until, today=session.today()
        )
    except ServiceError as exc:
        return _warning(exc)
    if away.until is None:
        return {"text": ":wave: Welcome back. Reminders are on again."}
    return {"text": f":palm_tree: No reminders until {away.until:%-d %B %Y}. Enjoy the break."}


HANDLERS: dict[type, Callable[[Session, Command], Awaitable[Reply]]] = {
    ListCommand: run_list,
    ShowCommand: run_show,
    SimpleCommand: run_preview,
    UpdateCommand: run_update,
    AddCommand: run_add,
    AwayCommand: run_away,
}
