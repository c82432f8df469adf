"""What every listener needs: the collaborators (``SlackDeps``) and a per-request
``Session`` that Bolt middleware puts in the context, with the caller's identity looked up
on first use."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.outside import ReasonLog
from handlers.round_desk import RoundDesk
from handlers.service import (
    ServiceError,
    SlipQuestion,
    UpdateOutcome,
    UpdateRequest,
    ask_about_slip,
    link_identity,
    record_update,
    resolve_deliverable,
)
from handlers.service.writer import Writer
from handlers.slack.blocks import esc, mrkdwn, plain, section
from handlers.slack.pacing import AcksFirst
from handlers.slack.queries import admin_hint, quarter_choices
from handlers.slack.replies import ReplyCache, ReplyConnection
from handlers.slack.views import confirmation_text, update_modal
from store import AN_OFFICE, Deliverable, Office, Person, Reader, StoreUnavailable

__all__ = [
    "BUSY",
    "FORM_DEADLINE",
    "IDENTITY_DEADLINE",
    "Session",
    "SlackDeps",
    "slack_error",
    "slip_blocks",
    "tracked",
]

log = logging.getLogger("handlers.slack")

CHANNEL = "slack"  # this channel's name for a person's identity (``identities.channel``)

Preview = Callable[[], Awaitable[dict[str, Any]]]
BUSY = ":hourglass: The database is busy, so nothing was recorded. Please try again in a minute."
FORM_DEADLINE = 2.0  # seconds: forms must answer within Slack's 3-second limit
IDENTITY_DEADLINE = 2.0  # seconds Slack's users.info may take before we give up
LATE_IDENTITY = (
    ":hourglass: Slack did not say who you are within "
    f"{IDENTITY_DEADLINE:.0f} seconds. Nothing was recorded; please try again in a minute."
)


def slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    if isinstance(data, dict):
        return str(data.get("error"))
    return f"HTTP {exc.response.status_code if exc.response is not None else '?'}"


@dataclass
class SlackDeps:
    """What the listeners need, passed in by the wiring in ``bot``."""

    writer: Writer
    office: Office = AN_OFFICE  # the time zone, the financial year, stale weeks, the clock
    reader: Reader | None = None  # its own read-only connection; else the writer's
    previews: dict[str, Preview] = field(default_factory=dict)  # "digest", "stats"
    mail_domain: str | None = None  # shows each person's address for updates by mail
    rounds: RoundDesk | None = None  # the paper round's drafting and delivery (bot wires it)
    # Listener work still running after its ack; shutdown waits for it (see ``drain``).
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    # The requests the HTTP edge is still answering: work after an ack waits for them.
    acks: AcksFirst = field(default_factory=AcksFirst)
    # `list` replies kept while the data is unchanged (handlers/slack/replies.py).
    replies: ReplyCache = field(default_factory=ReplyCache)
    # The kept-alive HTTP session of replies to response_url; closed by ``drain``.
    connection: ReplyConnection = field(default_factory=ReplyConnection)
    # Slack's retries and late identity lookups: one log line a minute per reason.
    notices: ReasonLog = field(default_factory=lambda: ReasonLog(log, "Slack", level=logging.INFO))

    @property
    def read(self) -> Reader:
        return self.reader or self.writer.reader

    async def drain(self, timeout: float = 15) -> None:
        """Let work acknowledged to Slack finish before the store closes; then close the
        replies' HTTP session."""
        pending = {t for t in self.inflight if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        await self.connection.close()


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def tracked(inflight: set[asyncio.Task[Any]], fn: F) -> F:
    """Record a listener's task while it runs (Bolt injects arguments by name; ``wraps``
    keeps the signature it reads)."""

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


class Session:
    """One request: the deps, the Web API client and the caller, known on first use."""

    KEY = "deliverabot"

    def __init__(
        self,
        deps: SlackDeps,
        client: AsyncWebClient,
        user_id: str | None,
        request_key: str | None = None,
    ) -> None:
        self.deps = deps
        self.client = client
        self.user_id = user_id
        # The idempotency key of this request (see handlers.slack.keys), if it may record.
        self.request_key = request_key
        self._person: Person | None = None
        self._looked_up = False
        self._identity_late = False

    @classmethod
    def of(cls, context: AsyncBoltContext) -> Session:
        session = context[cls.KEY]
        assert isinstance(session, Session)
        return session

    @property
    def writer(self) -> Writer:
        return self.deps.writer

    @property
    def reader(self) -> Reader:
        return self.deps.read

    @property
    def office(self) -> Office:
        return self.deps.office

    def today(self) -> dt.date:
        return self.office.today()

    async def after_acks(self) -> None:
        """Wait until every ack in flight has been sent (see :mod:`handlers.slack.pacing`);
        listeners call it after their own ``ack()``, before work that can wait."""
        await self.deps.acks.wait()

    async def person(self) -> Person | None:
        """The caller as a person of the plan: by Slack id, else by their Slack email (and
        then the Slack id is remembered)."""
        if not self._looked_up:
            self._person = await self._identify()
            self._looked_up = True
        return self._person

    async def _identify(self) -> Person | None:
        if not self.user_id:
            return None
        reader = self.reader
        person = await reader.call(reader.person_by_identity, CHANNEL, self.user_id)
        if person is not None:
            return person
        try:
            info = await asyncio.wait_for(
                self.client.users_info(user=self.user_id), IDENTITY_DEADLINE
            )
            email = (info.get("user") or {}).get("profile", {}).get("email")
        except TimeoutError:
            self._identity_late = True
            self.deps.notices.note(f"users.info took longer than {IDENTITY_DEADLINE:.0f} s")
            return None
        except SlackApiError as exc:
            log.warning("users.info failed: %s", slack_error(exc))
            return None
        if not email:
            return None
        person = await reader.call(reader.person_by_email, email)
        if person is not None:
            await self.writer.call(
                link_identity, person=person, channel=CHANNEL, external_id=self.user_id
            )
        return person

    async def refusal(self) -> str:
        if self._identity_late:
            return LATE_IDENTITY
        hint = await self.reader.call(admin_hint, self.reader)
        return f":no_entry: I don't know who you are in the plan yet. {esc(hint)}"

    async def record(self, request: UpdateRequest) -> UpdateOutcome:
        return await self.writer.call(record_update, request, office=self.office)

    async def confirm(self, outcome: UpdateOutcome, request: UpdateRequest) -> dict[str, Any]:
        """The reply to a recorded update; when its note names a later quarter than the due
        one it left in place, the reply asks once whether to move it."""
        reply = confirmation(outcome)
        try:
            question = await self.writer.call(
                ask_about_slip,
                outcome,
                actor=request.actor,
                note=request.note,
                on=self.today(),
                office=self.office,
            )
        except StoreUnavailable:  # the update is recorded; only the question is lost
            log.warning("could not keep the due-quarter question for %s", outcome.deliverable.ref)
            question = None
        if question is not None:
            reply["blocks"] += slip_blocks(question)
        return reply

    async def open_update_form(
        self,
        trigger_id: str,
        *,
        ref: str | None = None,
        note: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        reader, office = self.reader, self.office

        def load() -> tuple[Deliverable | None, list[dict[str, Any]]]:
            chosen = None
            if ref:
                try:
                    chosen = resolve_deliverable(reader, ref)
                except ServiceError:
                    chosen = None
            return chosen, quarter_choices(reader, office)

        chosen, quarters = await reader.call(load)
        await self.client.views_open(
            trigger_id=trigger_id,
            view=update_modal(deliverable=chosen, quarters=quarters, note=note, metadata=metadata),
        )


def confirmation(outcome: UpdateOutcome) -> dict[str, Any]:
    """The reply to a recorded update: what changed, before and after."""
    text = confirmation_text(
        outcome.deliverable.ref,
        outcome.deliverable.title,
        outcome.status_before,
        outcome.status_after,
        outcome.due_before,
        outcome.due_after,
        (outcome.dependencies_before, outcome.dependencies_after),
    )
    return {
        "text": f"Recorded an update on {esc(outcome.deliverable.ref)}.",
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def slip_blocks(question: SlipQuestion) -> list[dict[str, Any]]:
    """The question under a confirmation: move the due quarter to the one the note names,
    or keep it. Each button carries only the token of the waiting question."""
    ask = (
        f":calendar: Your note says *{esc(question.named)}*, later than the due quarter "
        f"*{esc(question.recorded)}*. Move the due quarter?"
    )
    buttons = [
        {
            "type": "button",
            "action_id": "slip_move",
            "style": "primary",
            "text": plain(f"Move due to {question.named}"),
            "value": question.token,
        },
        {
            "type": "button",
            "action_id": "slip_keep",
            "text": plain(f"Keep {question.recorded}"),
            "value": question.token,
        },
    ]
    return [section(ask), {"type": "actions", "block_id": "slip", "elements": buttons}]
