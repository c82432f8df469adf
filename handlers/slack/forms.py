"""The update and add forms, the buttons that open them, the ambiguity buttons and the
message shortcut."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from handlers.service import (
    ServiceError,
    UpdateRequest,
    add_deliverable,
    answer_slip,
    check_add,
    check_update,
    drop_pending,
    search_deliverables,
)
from handlers.slack.session import (
    BUSY,
    BUSY_FORM,
    FORM_DEADLINE,
    Session,
    confirmation,
    log,
    slack_error,
)
from handlers.slack_views import deliverable_options, esc
from store import Source, Status, StoreUnavailable, mrkdwn

__all__ = [
    "add_submitted",
    "answer_slip_button",
    "choose_deliverable",
    "deliverable_picker",
    "open_update",
    "record_update_shortcut",
    "update_submitted",
]


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
    payload = await session.reader.call(session.reader.load_pending, token)
    if payload is None or payload.get("user") != session.user_id:
        text = ":hourglass: That choice has expired. Please run the command again."
        await respond(response_type="ephemeral", replace_original=True, text=text)
        return
    person = await session.person()
    if person is None:
        await respond(response_type="ephemeral", text=await session.refusal())
        return
    request = UpdateRequest(
        deliverable=ref,
        actor=person,
        source=Source.SLACK,
        note=payload.get("note") or "",
        status=Status(payload["status"]) if payload.get("status") else None,
        due=payload.get("due"),
        summary=bool(payload.get("summary")),
        dependencies=payload.get("dependencies"),
    )
    try:
        outcome = await session.record(request)
    except StoreUnavailable:
        await respond(response_type="ephemeral", text=BUSY)
        return
    except ServiceError as exc:
        text = f":warning: {esc(str(exc))}"
        await respond(response_type="ephemeral", replace_original=True, text=text)
        return
    await session.store.call(drop_pending, session.store, token)
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
    try:
        outcome = await session.store.call(
            answer_slip,
            session.store,
            action.get("value") or "",
            actor=person,
            move=action.get("action_id") == "slip_move",
            fy_start_month=session.deps.fy_start_month,
        )
    except StoreUnavailable:
        await respond(response_type="ephemeral", text=BUSY)
        return
    except ServiceError as exc:
        text = f":warning: {esc(str(exc))}"
        await respond(response_type="ephemeral", replace_original=True, text=text)
        return
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


def _update_request(view: dict[str, Any], person: Any) -> UpdateRequest:
    """The form's values as a request (pure)."""
    values = view["state"]["values"]

    def picked(block: str, action: str) -> str | None:
        option = (values.get(block, {}).get(action) or {}).get("selected_option")
        return option.get("value") if option else None

    status, due = picked("status", "status"), picked("due", "due")
    flags = (values.get("flags", {}).get("dependencies") or {}).get("selected_options") or []
    ticked = {o.get("value") for o in flags}
    metadata = json.loads(view.get("private_metadata") or "{}")
    return UpdateRequest(
        deliverable=picked("deliverable", "deliverable_picker") or "",
        actor=person,
        source=Source.SLACK,
        note=(values.get("note", {}).get("note") or {}).get("value") or "",
        status=Status(status) if status else None,
        due=due if due and due != "none" else None,
        dependencies="dependencies" in ticked,
        link=metadata.get("link"),
        summary="summary" in ticked,
        of_note="of_note" in ticked,
    )


async def _dm(session: Session, text: str, fallback: str | None = None) -> None:
    try:
        await session.client.chat_postMessage(
            channel=session.user_id or "",
            text=fallback or text,
            parse="none",
            link_names=False,
            blocks=[{"type": "section", "text": mrkdwn(text)}],
        )
    except SlackApiError as exc:
        log.warning("could not confirm by DM: %s", slack_error(exc))


async def update_submitted(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    """Check on the read connection and show errors in the form; once it closes, record
    (the write may wait for the lock) and confirm by DM."""
    session = Session.of(context)
    person = await session.person()
    if person is None:
        await ack(response_action="errors", errors={"deliverable": await session.refusal()})
        return
    request = _update_request(view, person)
    if not request.deliverable:
        await ack(response_action="errors", errors={"deliverable": "Choose a deliverable."})
        return
    reader = session.reader
    try:
        await asyncio.wait_for(
            reader.call(check_update, reader, request, fy_start_month=session.deps.fy_start_month),
            FORM_DEADLINE,
        )
    except TimeoutError:
        await ack(response_action="errors", errors={"note": BUSY_FORM})
        return
    except ServiceError as exc:
        block = exc.field if exc.field in {"deliverable", "status", "due", "note"} else "note"
        await ack(response_action="errors", errors={block: str(exc)})
        return
    await ack()
    try:
        message = await session.confirm(await session.record(request), request)
    except StoreUnavailable:
        note = request.note
        message = {"text": BUSY + (f" Your note was: {esc(note)}" if note else "")}
    except ServiceError as exc:
        message = {"text": f":warning: {esc(str(exc))}"}
    try:
        await session.client.chat_postMessage(
            channel=session.user_id or "", parse="none", link_names=False, **message
        )
    except SlackApiError as exc:
        log.warning("could not confirm by DM: %s", slack_error(exc))


async def add_submitted(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    """The add form: checked in the form, written once it closes, confirmed by DM."""
    session = Session.of(context)
    values = view["state"]["values"]
    selected = (values.get("theme", {}).get("theme") or {}).get("selected_option") or {}
    theme = selected.get("value")
    title = (values.get("title", {}).get("title") or {}).get("value") or ""
    person = await session.person()
    if person is None:
        await ack(response_action="errors", errors={"title": await session.refusal()})
        return
    if not theme:
        await ack(response_action="errors", errors={"theme": "Choose a theme."})
        return
    reader = session.reader
    try:
        await asyncio.wait_for(
            reader.call(check_add, reader, theme=theme, title=title), FORM_DEADLINE
        )
    except TimeoutError:
        await ack(response_action="errors", errors={"title": BUSY_FORM})
        return
    except ServiceError as exc:
        block = exc.field if exc.field in {"theme", "title"} else "title"
        await ack(response_action="errors", errors={block: str(exc)})
        return
    await ack()
    try:
        created = await session.store.call(
            add_deliverable,
            session.store,
            theme=theme,
            title=title,
            actor=person,
            source=Source.SLACK,
            today=session.today(),
            fy_start_month=session.deps.fy_start_month,
        )
        text = f":new: Added *{esc(created.ref)}* {esc(created.title)} (not started)."
        await _dm(session, text, f"Added {esc(created.ref)} {esc(created.title)}.")
    except StoreUnavailable:
        await _dm(session, BUSY + f" The title was: {esc(title)}")
    except ServiceError as exc:
        await _dm(session, f":warning: {esc(str(exc))}")
