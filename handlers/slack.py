"""Slack listeners for ``/deliverable``, the update modal, App Home and the message shortcut.

Every listener acknowledges first and does the slow work afterwards, through
``store.call`` (the store's own thread), so Slack's 3-second limit holds even when the
database is slow. All recording goes through :mod:`handlers.service`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.grammar import (
    HELP_TEXT,
    AddCommand,
    AwayCommand,
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
    UpdateOutcome,
    UpdateRequest,
    add_deliverable,
    check_add,
    check_update,
    drop_pending,
    find_theme,
    link_slack_id,
    mail_token,
    record_update,
    resolve_deliverable,
    save_pending,
    set_away,
    update_address,
)
from handlers.slack_views import (
    ADD_CALLBACK,
    UPDATE_CALLBACK,
    DeliverableRow,
    add_modal,
    ambiguity_message,
    confirmation_text,
    deliverable_options,
    esc,
    home_view,
    list_message,
    quarter_options,
    show_message,
    update_modal,
)
from store import (
    Deliverable,
    FinancialYearQuarter,
    Person,
    Role,
    Source,
    Status,
    Store,
    StoreUnavailable,
    mrkdwn,
    parse_quarter_span,
)

__all__ = ["SlackDeps", "register_slack"]

log = logging.getLogger(__name__)

Preview = Callable[[], Awaitable[dict[str, Any]]]
BUSY = ":hourglass: The database is busy, so nothing was recorded. Please try again in a minute."
BUSY_FORM = "The database is busy, so nothing was recorded. Please try again in a minute."
FORM_DEADLINE = 2.0  # seconds: forms must answer within Slack's 3-second limit


def _slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    if isinstance(data, dict):
        return str(data.get("error"))
    return f"HTTP {exc.response.status_code if exc.response is not None else '?'}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SlackDeps:
    """What the listeners need, passed in by the wiring in ``bot``."""

    store: Store
    tz: dt.tzinfo
    reader: Store | None = None  # a read-only connection; defaults to ``store``
    fy_start_month: int = 4
    stale_weeks: int = 4
    clock: Callable[[], dt.datetime] = _utc_now
    previews: dict[str, Preview] = field(default_factory=dict)  # "digest", "stats"
    mail_domain: str | None = None  # shows each person's address for updates by mail
    # Listener work still running after its ack; shutdown waits for it (see ``drain``).
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)

    async def drain(self, timeout: float = 15) -> None:
        """Let work acknowledged to Slack finish before the store closes."""
        pending = {t for t in self.inflight if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _tracked(inflight: set[asyncio.Task[Any]]) -> Callable[[F], F]:
    """Record a listener's task while it runs (Bolt injects arguments by name: keep them)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                inflight.add(task)
            try:
                return await fn(*args, **kwargs)
            finally:
                if task is not None:
                    inflight.discard(task)

        return wrapper  # type: ignore[return-value]

    return decorate


# -- queries run on the store thread ------------------------------------------


def _rows(store: Store, now: dt.datetime, stale_weeks: int) -> list[DeliverableRow]:
    return [
        DeliverableRow(
            deliverable=v.deliverable,
            theme=v.theme,
            owner=v.owner,
            last_update=v.last_update,
            stale=v.stale(now, weeks=stale_weeks),
        )
        for v in store.overview()
    ]


def _admin_hint(store: Store) -> str:
    people = store.people()
    admins = [p for p in people if p.role is Role.ADMIN] or [
        p for p in people if p.role is Role.EDITOR
    ]
    if not admins:
        return "Ask whoever looks after the plan file to add your Slack ID to it."
    names = " or ".join(p.name for p in admins[:2])
    return f"Ask {names} to add your Slack ID (or your email) to the plan's people."


def _quarters(store: Store, today: dt.date, start_month: int) -> list[dict[str, Any]]:
    current = FinancialYearQuarter.of_date(today, start_month=start_month)
    first = current.previous().previous()
    start_text = store.get_meta("plan_start")
    if start_text:
        first = min(
            first,
            FinancialYearQuarter.of_date(
                dt.date.fromisoformat(start_text), start_month=start_month
            ),
        )
    last = current
    for _ in range(8):
        last = last.next()
    for d in store.deliverables():
        if d.due:
            try:
                last = max(last, parse_quarter_span(d.due, start_month=start_month).last)
            except ValueError:
                continue
    return quarter_options(first, last)


def _search(store: Store, query: str) -> list[Deliverable]:
    words = query.lower().split()
    found = []
    for d in store.deliverables():
        hay = f"{d.ref} {d.title}".lower()
        if all(w in hay for w in words):
            found.append(d)
    return found


# -- the listeners -------------------------------------------------------------


def register_slack(app: AsyncApp, *, deps: SlackDeps) -> None:
    """Attach every Deliverabot listener to ``app``."""
    store = deps.store
    reader = deps.reader or store
    track = _tracked(deps.inflight)

    async def identify(user_id: str, client: AsyncWebClient) -> Person | None:
        person = await reader.call(reader.person_by_slack_id, user_id)
        if person is not None:
            return person
        try:
            info = await client.users_info(user=user_id)
            email = (info.get("user") or {}).get("profile", {}).get("email")
        except SlackApiError as exc:
            log.warning("users.info failed: %s", _slack_error(exc))
            return None
        if not email:
            return None
        person = await reader.call(reader.person_by_email, email)
        if person is not None:
            await store.call(link_slack_id, store, person=person, slack_id=user_id)
        return person

    async def refusal() -> str:
        hint = await reader.call(_admin_hint, reader)
        return f":no_entry: I don't know who you are in the plan yet. {esc(hint)}"

    async def open_update_modal(
        client: AsyncWebClient,
        trigger_id: str,
        *,
        ref: str | None = None,
        note: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        today = deps.clock().astimezone(deps.tz).date()

        def load() -> tuple[Deliverable | None, list[dict[str, Any]]]:
            chosen = None
            if ref:
                try:
                    chosen = resolve_deliverable(reader, ref)
                except ServiceError:
                    chosen = None
            return chosen, _quarters(reader, today, deps.fy_start_month)

        chosen, quarters = await reader.call(load)
        await client.views_open(
            trigger_id=trigger_id,
            view=update_modal(deliverable=chosen, quarters=quarters, note=note, metadata=metadata),
        )

    async def apply_update(request: UpdateRequest) -> UpdateOutcome:
        return await store.call(record_update, store, request, fy_start_month=deps.fy_start_month)

    def confirmation(outcome: UpdateOutcome) -> dict[str, Any]:
        text = confirmation_text(
            outcome.deliverable.ref,
            outcome.deliverable.title,
            outcome.status_before,
            outcome.status_after,
            outcome.due_before,
            outcome.due_after,
        )
        return {
            "text": f"Recorded an update on {outcome.deliverable.ref}.",
            "blocks": [{"type": "section", "text": mrkdwn(text)}],
        }

    # /deliverable ------------------------------------------------------------
    @app.command("/deliverable")
    @track
    async def deliverable_command(
        ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        text = command.get("text") or ""
        try:
            cmd = parse_command(text, fy_start_month=deps.fy_start_month)
        except GrammarError as exc:
            await ack(
                response_type="ephemeral",
                text=f":warning: {esc(str(exc))}\nSee `/deliverable help`.",
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
        user_id = command["user_id"]
        if isinstance(cmd, UpdateCommand) and cmd.needs_form:
            await ack()
            await open_update_modal(client, command["trigger_id"], ref=cmd.ref)
            return
        if isinstance(cmd, AddCommand) and not (cmd.theme and cmd.title):
            await ack()
            themes = await reader.call(reader.themes)
            theme = None
            if cmd.theme:
                try:
                    theme = await reader.call(find_theme, reader, cmd.theme)
                except ServiceError:
                    theme = None
            await client.views_open(
                trigger_id=command["trigger_id"], view=add_modal(themes=themes, theme=theme)
            )
            return
        await ack()
        try:
            await run_command(cmd, user_id, respond, client)
        except StoreUnavailable:
            await respond(response_type="ephemeral", text=BUSY)

    async def run_command(cmd: Any, user_id: str, respond: Any, client: AsyncWebClient) -> None:
        now = deps.clock()
        if isinstance(cmd, ListCommand):
            await respond(
                response_type="ephemeral", **await list_reply(cmd.scope, user_id, client, now)
            )
            return
        if isinstance(cmd, ShowCommand):
            await respond(response_type="ephemeral", **await show_reply(cmd.ref, now))
            return
        if isinstance(cmd, SimpleCommand):
            preview = deps.previews.get(cmd.name)
            if preview is None:
                await respond(
                    response_type="ephemeral", text=f"The {cmd.name} preview is not available yet."
                )
            else:
                await respond(response_type="ephemeral", **await preview())
            return
        person = await identify(user_id, client)
        if person is None:
            await respond(response_type="ephemeral", text=await refusal())
            return
        if isinstance(cmd, UpdateCommand):
            assert cmd.ref is not None
            request = UpdateRequest(
                deliverable=cmd.ref,
                actor=person,
                source=Source.SLACK,
                note=cmd.note,
                status=cmd.status,
                due=cmd.due,
                summary=cmd.summary,
            )
            try:
                outcome = await apply_update(request)
            except AmbiguousDeliverable as exc:
                payload = {
                    "user": user_id,
                    "status": cmd.status.value if cmd.status else None,
                    "due": cmd.due,
                    "note": cmd.note,
                }
                token = await store.call(save_pending, store, "update", payload)
                await respond(
                    response_type="ephemeral", **ambiguity_message(cmd.ref, exc.candidates, token)
                )
                return
            except ServiceError as exc:
                await respond(response_type="ephemeral", text=f":warning: {esc(str(exc))}")
                return
            await respond(response_type="ephemeral", **confirmation(outcome))
            return
        if isinstance(cmd, AddCommand):
            assert cmd.theme and cmd.title
            today = now.astimezone(deps.tz).date()
            try:
                created = await store.call(
                    add_deliverable,
                    store,
                    theme=cmd.theme,
                    title=cmd.title,
                    actor=person,
                    source=Source.SLACK,
                    today=today,
                    fy_start_month=deps.fy_start_month,
                )
            except ServiceError as exc:
                await respond(response_type="ephemeral", text=f":warning: {esc(str(exc))}")
                return
            await respond(
                response_type="ephemeral",
                text=(
                    f":new: Added *{esc(created.ref)}* {esc(created.title)} "
                    f"(not started, owner {esc(person.name)}). It counts as new from today."
                ),
            )
            return
        if isinstance(cmd, AwayCommand):
            today = now.astimezone(deps.tz).date()
            try:
                await store.call(set_away, store, actor=person, until=cmd.until, today=today)
            except ServiceError as exc:
                await respond(response_type="ephemeral", text=f":warning: {esc(str(exc))}")
                return
            if cmd.until is None:
                await respond(
                    response_type="ephemeral", text=":wave: Welcome back. Reminders are on again."
                )
            else:
                await respond(
                    response_type="ephemeral",
                    text=f":palm_tree: No reminders until {cmd.until:%-d %B %Y}. Enjoy the break.",
                )
            return

    async def list_reply(
        scope: str | None, user_id: str, client: AsyncWebClient, now: dt.datetime
    ) -> dict[str, Any]:
        rows = await reader.call(_rows, reader, now, deps.stale_weeks)
        title = "Delivery plan"
        if scope is None:
            rows = [r for r in rows if r.deliverable.status is not Status.COMPLETED] or rows
            title = "Open deliverables"
        elif scope.lower() == "mine":
            person = await identify(user_id, client)
            if person is None:
                return {"text": await refusal()}
            rows = [r for r in rows if r.deliverable.owner_id == person.id]
            title = "Your deliverables"
        elif scope.lower() == "stale":
            rows = [r for r in rows if r.stale]
            title = f"Stale deliverables (no update for {deps.stale_weeks} weeks)"
        elif scope.lower() == "all":
            title = "All deliverables"
        else:
            try:
                theme = await reader.call(find_theme, reader, scope)
            except ServiceError as exc:
                return {"text": f":warning: {esc(str(exc))}"}
            rows = [r for r in rows if r.theme.id == theme.id]
            title = f"{theme.code} · {theme.name}"
        return list_message(rows, now=now, title=title)

    async def show_reply(ref: str, now: dt.datetime) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            d = resolve_deliverable(reader, ref)
            theme = next(t for t in reader.themes() if t.id == d.theme_id)
            people = {p.id: p for p in reader.people()}
            ups = reader.updates(deliverable_id=d.id, newest_first=True, limit=5)
            return show_message(
                d,
                theme,
                people.get(d.owner_id) if d.owner_id else None,
                ups,
                people,
                now=now,
                tz=deps.tz,
            )

        try:
            return await reader.call(load)
        except AmbiguousDeliverable as exc:
            refs = ", ".join(f"{c.ref}" for c in exc.candidates[:10])
            return {"text": f":mag: {esc(str(exc))} Try one of: {refs}."}
        except ServiceError as exc:
            return {"text": f":warning: {esc(str(exc))}"}

    # ambiguity buttons -------------------------------------------------------
    @app.action(re.compile(r"^choose_deliverable_\d+$"))
    @track
    async def choose_deliverable(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            choice = json.loads(action.get("value") or "{}")
            token, ref = choice["token"], choice["ref"]
        except (ValueError, KeyError):
            await respond(
                response_type="ephemeral",
                text=":warning: That button is broken; please run the command again.",
            )
            return
        payload = await reader.call(reader.load_pending, token)
        user_id = body["user"]["id"]
        if payload is None or payload.get("user") != user_id:
            await respond(
                response_type="ephemeral",
                replace_original=True,
                text=":hourglass: That choice has expired. Please run the command again.",
            )
            return
        person = await identify(user_id, client)
        if person is None:
            await respond(response_type="ephemeral", text=await refusal())
            return
        request = UpdateRequest(
            deliverable=ref,
            actor=person,
            source=Source.SLACK,
            note=payload.get("note") or "",
            status=Status(payload["status"]) if payload.get("status") else None,
            due=payload.get("due"),
        )
        try:
            outcome = await apply_update(request)
        except StoreUnavailable:
            await respond(response_type="ephemeral", text=BUSY)
            return
        except ServiceError as exc:
            await respond(
                response_type="ephemeral", replace_original=True, text=f":warning: {esc(str(exc))}"
            )
            return

        await store.call(drop_pending, store, token)
        await respond(response_type="ephemeral", replace_original=True, **confirmation(outcome))

    # the modal -----------------------------------------------------------------
    @app.options("deliverable_picker")
    @track
    async def deliverable_picker(ack: Any, body: dict[str, Any]) -> None:
        query = body.get("value") or ""
        try:
            found = await asyncio.wait_for(reader.call(_search, reader, query), FORM_DEADLINE)
        except TimeoutError:
            found = []
        await ack(options=deliverable_options(found))

    @app.action("open_update")
    @track
    async def open_update(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_update_modal(client, body["trigger_id"], ref=action.get("value"))

    @app.shortcut("record_update_shortcut")
    @track
    async def record_update_shortcut(
        ack: Any, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        link = None
        if channel and message.get("ts"):
            try:
                got = await client.chat_getPermalink(channel=channel, message_ts=message["ts"])
                link = got.get("permalink")
            except SlackApiError as exc:
                log.info("chat.getPermalink failed: %s", _slack_error(exc))
        await open_update_modal(
            client,
            body["trigger_id"],
            note=message.get("text") or "",
            metadata={"link": link} if link else None,
        )

    @app.view(UPDATE_CALLBACK)
    @track
    async def update_submitted(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view["state"]["values"]
        user_id = body["user"]["id"]

        def picked(block: str, action: str) -> str | None:
            option = (values.get(block, {}).get(action) or {}).get("selected_option")
            return option.get("value") if option else None

        ref = picked("deliverable", "deliverable_picker")
        status = picked("status", "status")
        due = picked("due", "due")
        ticked = {
            o.get("value")
            for o in (values.get("flags", {}).get("dependencies") or {}).get("selected_options")
            or []
        }
        deps_flag = "dependencies" in ticked
        note = (values.get("note", {}).get("note") or {}).get("value") or ""
        metadata = json.loads(view.get("private_metadata") or "{}")
        if not ref:
            await ack(response_action="errors", errors={"deliverable": "Choose a deliverable."})
            return
        person = await identify(user_id, client)
        if person is None:
            await ack(response_action="errors", errors={"deliverable": await refusal()})
            return
        request = UpdateRequest(
            deliverable=ref,
            actor=person,
            source=Source.SLACK,
            note=note,
            status=Status(status) if status else None,
            due=due if due and due != "none" else None,
            dependencies=deps_flag,
            link=metadata.get("link"),
            summary="summary" in ticked,
        )
        try:
            await asyncio.wait_for(
                reader.call(check_update, reader, request, fy_start_month=deps.fy_start_month),
                FORM_DEADLINE,
            )
        except TimeoutError:
            await ack(response_action="errors", errors={"note": BUSY_FORM})
            return
        except ServiceError as exc:
            block = exc.field if exc.field in {"deliverable", "status", "due", "note"} else "note"
            await ack(response_action="errors", errors={block: str(exc)})
            return
        await ack()  # the form closes; the write may wait for the lock
        try:
            outcome = await apply_update(request)
            message = confirmation(outcome)
        except StoreUnavailable:
            message = {
                "text": BUSY + (f" Your note was: {esc(note)}" if note else ""),
            }
        except ServiceError as exc:
            message = {"text": f":warning: {esc(str(exc))}"}
        try:
            await client.chat_postMessage(
                channel=user_id, parse="none", link_names=False, **message
            )
        except SlackApiError as exc:
            log.warning("could not confirm by DM: %s", _slack_error(exc))

    @app.view(ADD_CALLBACK)
    @track
    async def add_submitted(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view["state"]["values"]
        user_id = body["user"]["id"]
        theme = ((values.get("theme", {}).get("theme") or {}).get("selected_option") or {}).get(
            "value"
        )
        title = (values.get("title", {}).get("title") or {}).get("value") or ""
        person = await identify(user_id, client)
        if person is None:
            await ack(response_action="errors", errors={"title": await refusal()})
            return
        if not theme:
            await ack(response_action="errors", errors={"theme": "Choose a theme."})
            return
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
        await ack()  # the form closes; the write may wait for the lock
        today = deps.clock().astimezone(deps.tz).date()
        try:
            created = await store.call(
                add_deliverable,
                store,
                theme=theme,
                title=title,
                actor=person,
                source=Source.SLACK,
                today=today,
                fy_start_month=deps.fy_start_month,
            )
            text = f":new: Added *{esc(created.ref)}* {esc(created.title)} (not started)."
            fallback = f"Added {esc(created.ref)} {esc(created.title)}."
        except StoreUnavailable:
            text = fallback = BUSY + f" The title was: {esc(title)}"
        except ServiceError as exc:
            text = fallback = f":warning: {esc(str(exc))}"
        await client.chat_postMessage(
            channel=user_id,
            text=fallback,
            parse="none",
            link_names=False,
            blocks=[{"type": "section", "text": mrkdwn(text)}],
        )

    # App Home -------------------------------------------------------------------
    @app.event("app_home_opened")
    @track
    async def app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        now = deps.clock()
        person = await identify(user_id, client)
        rows = await reader.call(_rows, reader, now, deps.stale_weeks)
        hint = await reader.call(_admin_hint, reader)
        mine = []
        if person is not None:
            mine = [
                r
                for r in rows
                if r.deliverable.owner_id == person.id
                and r.deliverable.status is not Status.COMPLETED
            ]
            mine.sort(key=lambda r: (not r.stale, r.deliverable.ref))
        overview = []
        seen: dict[int, dict[Status, int]] = {}
        for r in rows:
            if r.theme.id not in seen:
                seen[r.theme.id] = {}
                overview.append((r.theme, seen[r.theme.id]))
            counts = seen[r.theme.id]
            counts[r.deliverable.status] = counts.get(r.deliverable.status, 0) + 1
        address = None
        if person is not None and deps.mail_domain:
            try:
                token = await store.call(mail_token, store, person=person)
                address = update_address(token, deps.mail_domain)
            except StoreUnavailable:
                address = None  # shown next time; the rest of the Home tab still renders
        await client.views_publish(
            user_id=user_id,
            view=home_view(
                person=person,
                mine=mine,
                overview=overview,
                now=now,
                admin_hint=hint,
                mail_address=address,
            ),
        )
