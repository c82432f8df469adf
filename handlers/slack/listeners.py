"""The Slack listeners for ``/deliverable``, the forms, App Home and the message shortcut.

Each listener is a named async function that Bolt calls with the arguments it names
(``ack``, ``respond``, ``context``, …), registered in one table below. A Bolt middleware
puts a :class:`Session` (the deps, the Web API client, the caller, and the request's
idempotency key from :mod:`handlers.slack.keys`) in the context. Every listener that
records acknowledges before it touches the store, and does the work afterwards through
``store.call`` (the store's own thread), so Slack's 3-second limit holds whatever the
database is doing. All recording goes through :mod:`handlers.service`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.commands import deliverable_command
from handlers.slack.forms import (
    add_submitted,
    answer_slip_button,
    choose_deliverable,
    deliverable_picker,
    open_update,
    record_update_shortcut,
    update_submitted,
)
from handlers.slack.home import app_home_opened
from handlers.slack.keys import request_key, retry_of
from handlers.slack.replies import KeptAliveRespond
from handlers.slack.round import (
    round_approve,
    round_approve_all,
    round_edit,
    round_edit_submitted,
    round_not_mine,
    round_return_open,
    round_return_submitted,
)
from handlers.slack.round_views import EDIT_CALLBACK, RETURN_CALLBACK
from handlers.slack.session import Session, SlackDeps, tracked
from handlers.slack.views import ADD_CALLBACK, UPDATE_CALLBACK

__all__ = ["LISTENERS", "register_slack"]

Listener = Callable[..., Awaitable[None]]

# (Bolt registration method, what it matches, the listener)
LISTENERS: list[tuple[str, str | re.Pattern[str], Listener]] = [
    ("command", "/deliverable", deliverable_command),
    ("action", re.compile(r"^choose_deliverable_\d+$"), choose_deliverable),
    ("options", "deliverable_picker", deliverable_picker),
    ("action", "open_update", open_update),
    ("action", re.compile(r"^slip_(?:move|keep)$"), answer_slip_button),
    ("shortcut", "record_update_shortcut", record_update_shortcut),
    ("view", UPDATE_CALLBACK, update_submitted),
    ("view", ADD_CALLBACK, add_submitted),
    ("event", "app_home_opened", app_home_opened),
    # The paper round (handlers/slack/round.py).
    ("action", "round_approve", round_approve),
    ("action", "round_approve_all", round_approve_all),
    ("action", "round_edit", round_edit),
    ("action", "round_not_mine", round_not_mine),
    ("action", "round_return_open", round_return_open),
    ("view", EDIT_CALLBACK, round_edit_submitted),
    ("view", RETURN_CALLBACK, round_return_submitted),
]


def register_slack(app: AsyncApp, *, deps: SlackDeps) -> None:
    """Attach the session middleware and every listener in :data:`LISTENERS` to ``app``."""

    async def attach_session(
        context: AsyncBoltContext,
        client: AsyncWebClient,
        request: AsyncBoltRequest,
        next: Callable[[], Awaitable[Any]],
    ) -> None:
        retry = retry_of(request.headers)
        if retry is not None:
            deps.notices.note(f"a retried request ({retry}); recorded at most once")
        key = request_key(request.body, request.headers)
        context[Session.KEY] = Session(deps, client, context.user_id, key)
        if context.response_url:  # respond() on one kept-alive session
            context["respond"] = KeptAliveRespond(
                response_url=context.response_url,
                connection=deps.connection,
                proxy=client.proxy,
                ssl=client.ssl,
            )
        await next()

    app.middleware(attach_session)
    for method, matcher, listener in LISTENERS:
        register = getattr(app, method)
        register(matcher)(tracked(deps.inflight, listener))
