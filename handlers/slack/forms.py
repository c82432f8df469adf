"""The update and add forms, the buttons that open them, the ambiguity buttons and the
message shortcut."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from handlers.grammar import UpdateCommand
from handlers.service import (
    MAX_TITLE_CHARS,
    ServiceError,
    UpdateOutcome,
    UpdateRequest,
    add_deliverable,
    answer_slip,
    check_update_text,
    command_request,
    drop_pending,
    recorded_outcome,
    search_deliverables,
)
from handlers.slack.blocks import esc, mrkdwn, plain
from handlers.slack.keys import choice_key
from handlers.slack.notifier import SlackNotifier
from handlers.slack.session import (
    BUSY,
    FORM_DEADLINE,
    Session,
    confirmation,
    log,
    slack_error,
)
from handlers.slack.views import deliverable_options
from store import Source, Status, StoreUnavailable

__all__ = [
    "add_submitted",
    "answer_slip_button",
    "choose_deliverable",
    "deliverable_picker",
    "open_update",
    "record_update_shortcut",
    "update_submitted",
]


async def _answered(
    respond: AsyncRespond, recording: Awaitable[UpdateOutcome]
) -> UpdateOutcome | None:
    """The outcome of a button's update; ``None`` once the refusal (busy, or the service's
    reason) has been said in place of the buttons."""
    try:
        return await recording
    except StoreUnavailable:
        await respond(response_type="ephemeral", text=BUSY)
    except ServiceError as exc:
        text = f":warning: {esc(str(exc))}"
        await respond(response_type="ephemeral", replace_original=True, text=text)
    return None


async def choose_deliverable(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """A button under "N deliverables match": record the waiting update on the one chosen."""
    await ack()
    session = Session.of(context)
    try:
        choice = json.loads(action.get("value") or "{}")
        token, ref = choice["token"], choice["ref"]
    except (ValueError, KeyError):
        text = ":warning: That button is broken; please run the command again."
        await respond(response_type="ephemeral", text=text)
        return
    key = choice_key(token)
    reader = session.reader
    payload = await reader.call(reader.load_pending, token)
    if payload is None or payload.get("user") != session.user_id:
        done = await reader.call(recorded_outcome, reader, key) if payload is None else None
        if done is not None:  # the same click again: answered as the first was
            await respond(response_type="ephemeral", replace_original=True, **confirmation(done))
            return
        text = ":hourglass: That choice has expired. Please run the command again."
        await respond(response_type="ephemeral", replace_original=True, text=text)
        return
    person = await session.person()
    if person is None:
        await respond(response_type="ephemeral", text=await session.refusal())
        return
    request = command_request(
        UpdateCommand.chosen(ref, payload), actor=person, source=Source.SLACK, idempotency_key=key
    )
    outcome = await _answered(respond, session.record(request))
    if outcome is None:
        return
    await session.writer.call(drop_pending, token)
    reply = await session.confirm(outcome, request)
    await respond(response_type="ephemeral", replace_original=True, **reply)


async def answer_slip_button(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """ "Move due to Q3 2022/23" / "Keep Q2 2022/23": the answer is an update like any other."""
    await ack()
    session = Session.of(context)
    person = await session.person()
    if person is None:
        await respond(response_type="ephemeral", text=await session.refusal())
        return
    answer = session.writer.call(
        answer_slip,
        action.get("value") or "",
        actor=person,
        move=action.get("action_id") == "slip_move",
        office=session.office,
    )
    outcome = await _answered(respond, answer)
    if outcome is not None:
        await respond(response_type="ephemeral", replace_original=True, **confirmation(outcome))


async def deliverable_picker(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The form's type-ahead: the same word-prefix search as the command's title lookup."""
    reader = Session.of(context).reader
    try:
        found = await asyncio.wait_for(
            reader.call(search_deliverables, reader, body.get("value") or ""), FORM_DEADLINE
        )
    except TimeoutError:
        found = []
    await ack(options=deliverable_options(found))


async def open_update(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The Update button (Home tab, reminders) opens the form for that deliverable."""
    await ack()
    await Session.of(context).open_update_form(body["trigger_id"], ref=action.get("value"))


async def record_update_shortcut(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """ "Record as deliverable update" on a message: the form, with the message as the note
    and a link back to it."""
    await ack()
    session = Session.of(context)
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id")
    link = None
    if channel and message.get("ts"):
        try:
            got = await session.client.chat_getPermalink(channel=channel, message_ts=message["ts"])
            link = got.get("permalink")
        except SlackApiError as exc:
            log.info("chat.getPermalink failed: %s", slack_error(exc))
    await session.open_update_form(
        body["trigger_id"],
        note=message.get("text") or "",
        metadata={"link": link} if link else None,
    )


class FormProblem(Exception):
    """Something to fix in the form itself, shown under ``block`` before it closes."""

    def __init__(self, block: str, message: str) -> None:
        super().__init__(message)
        self.block = block
        self.message = message


STATUS_VALUES = frozenset(s.value for s in Status)


def _update_fields(view: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the fields of an :class:`UpdateRequest` (pure). A payload of
    another shape raises (``KeyError``, ...), which is answered ``400``."""
    values = view["state"]["values"]

    def picked(block: str, action: str) -> str | None:
        option = (values.get(block, {}).get(action) or {}).get("selected_option")
        return option.get("value") if option else None

    status, due = picked("status", "status"), picked("due", "due")
    if status is not None and status not in STATUS_VALUES:
        raise FormProblem("status", "Choose one of the statuses shown.")
    flags = (values.get("flags", {}).get("dependencies") or {}).get("selected_options") or []
    ticked = {o.get("value") for o in flags}
    metadata = json.loads(view.get("private_metadata") or "{}")
    return {
        "deliverable": picked("deliverable", "deliverable_picker") or "",
        "note": (values.get("note", {}).get("note") or {}).get("value") or "",
        "status": Status(status) if status else None,
        "due": due if due and due != "none" else None,
        "dependencies": "dependencies" in ticked,
        "link": metadata.get("link"),
        "summary": "summary" in ticked,
        "of_note": "of_note" in ticked,
    }


async def _dm(session: Session, text: str, fallback: str | None = None) -> None:
    await _tell(
        session,
        {"text": fallback or text, "blocks": [{"type": "section", "text": mrkdwn(text)}]},
    )


async def _tell(session: Session, message: dict[str, Any]) -> None:
    """A direct message to the person who submitted the form."""
    try:
        await SlackNotifier(session.client).post(session.user_id or "", message)
    except SlackApiError as exc:
        log.warning("could not confirm by DM: %s", slack_error(exc))


def _kept(note: str) -> str:
    return f" Your note was: {esc(note)}" if note else ""


def _refused(text: str, ref: str) -> dict[str, Any]:
    """A refusal after the form closed, with a button that opens it again."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(text)}]
    if ref:
        button = {"type": "button", "action_id": "open_update", "value": ref[:150]}
        blocks.append({"type": "actions", "elements": [{**button, "text": plain("Open the form")}]})
    return {"text": text, "blocks": blocks}


async def _record_form(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Identify, check against the store, record; the message that says how it went."""
    note, ref = fields["note"], fields["deliverable"]
    person = await session.person()
    if person is None:
        return _refused(await session.refusal() + _kept(note), ref)
    request = UpdateRequest(
        actor=person, source=Source.SLACK, idempotency_key=session.request_key, **fields
    )
    try:
        return await session.confirm(await session.record(request), request)
    except StoreUnavailable:
        return {"text": BUSY + _kept(note)}
    except ServiceError as exc:
        return _refused(f":warning: {esc(str(exc))}{_kept(note)}", ref)


async def update_submitted(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    """Check what needs no store and answer at once: the form shows what to fix, or closes.
    Then identify, record (the write may wait for the lock) and confirm by DM; what the
    store refuses comes by DM too, with the note, so nothing typed is lost."""
    session = Session.of(context)
    try:
        fields = _update_fields(view)
        if not fields["deliverable"]:
            raise FormProblem("deliverable", "Choose a deliverable.")
        check_update_text(
            fields["note"],
            fields["due"],
            summary=fields["summary"],
            of_note=fields["of_note"],
            office=session.office,
        )
    except FormProblem as problem:
        await ack(response_action="errors", errors={problem.block: problem.message})
        return
    except ServiceError as exc:
        block = exc.field if exc.field in {"deliverable", "status", "due", "note"} else "note"
        await ack(response_action="errors", errors={block: str(exc)})
        return
    await ack()
    await _tell(session, await _record_form(session, fields))


def _add_fields(view: dict[str, Any]) -> tuple[str, str]:
    values = view["state"]["values"]
    selected = (values.get("theme", {}).get("theme") or {}).get("selected_option") or {}
    title = (values.get("title", {}).get("title") or {}).get("value") or ""
    theme = selected.get("value")
    if not theme:
        raise FormProblem("theme", "Choose a theme.")
    clean = " ".join(title.split())
    if not clean:
        raise FormProblem("title", "Give the new deliverable a title.")
    if len(clean) > MAX_TITLE_CHARS:
        raise FormProblem(
            "title", f"The title is {len(clean)} characters; the limit is {MAX_TITLE_CHARS}."
        )
    return str(theme), title


async def add_submitted(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    """The add form: what needs no store is checked in the form; once it closes, the add is
    written (or refused) and the answer comes by DM."""
    session = Session.of(context)
    try:
        theme, title = _add_fields(view)
    except FormProblem as problem:
        await ack(response_action="errors", errors={problem.block: problem.message})
        return
    await ack()
    person = await session.person()
    if person is None:
        await _dm(session, await session.refusal() + f" The title was: {esc(title)}")
        return
    try:
        created = await session.writer.call(
            add_deliverable,
            theme=theme,
            title=title,
            actor=person,
            source=Source.SLACK,
            today=session.today(),
            office=session.office,
            idempotency_key=session.request_key,
        )
        text = f":new: Added *{esc(created.ref)}* {esc(created.title)} (not started)."
        await _dm(session, text, f"Added {esc(created.ref)} {esc(created.title)}.")
    except StoreUnavailable:
        await _dm(session, BUSY + f" The title was: {esc(title)}")
    except ServiceError as exc:
        await _dm(session, f":warning: {esc(str(exc))} The title was: {esc(title)}")
