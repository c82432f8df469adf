"""Builds the Bolt ``AsyncApp``: the Web API client, retries, and our listeners; the HTTP
edge in front of it, which verifies a request before anything parses it; and the Socket
Mode connection."""

from __future__ import annotations

import logging
import traceback
import weakref
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request import payload_utils
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from handlers.outside import ReasonLog
from handlers.slack.listeners import register_slack
from handlers.slack.pacing import AcksFirst
from handlers.slack.session import SlackDeps

__all__ = ["build_slack_app", "make_web_client", "slack_events_handler", "socket_mode_handler"]

log = logging.getLogger("deliverabot.slack")

# A signed request whose payload has an unexpected shape fails in a listener with one of
# these; it is answered 400 like any malformed input, with one line and no traceback.
SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError)


# Each app's count of requests being answered (its SlackDeps.acks), for its HTTP edge.
_ACKS: weakref.WeakKeyDictionary[AsyncApp, AcksFirst] = weakref.WeakKeyDictionary()


def make_web_client(token: str | None, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    """The Web API client: ``SLACK_API_URL`` as base, retrying connection errors and 429s."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
        logger=logging.getLogger("deliverabot.slack.web"),
    )


def build_slack_app(
    *,
    deps: SlackDeps,
    client: AsyncWebClient,
    signing_secret: str | None,
    socket_mode: bool = False,
    failures: ReasonLog | None = None,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode connections are authenticated by the app token, not signatures.
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("deliverabot.slack"),
    )
    register_slack(app, deps=deps)
    _ACKS[app] = deps.acks
    app.error(listener_failed(failures or ReasonLog(log, "Slack: a listener failed")))
    return app


def listener_failed(failures: ReasonLog) -> Any:
    """Bolt's error handler: one line per place and kind of failure a minute, never a
    traceback (a payload of an unexpected shape must not fill the log); 400 for those."""

    async def on_error(error: Exception, response: BoltResponse | None) -> BoltResponse | None:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if "/handlers/" in f.filename or "/bot/" in f.filename]
        where = ours[-1] if ours else (frames[-1] if frames else None)
        place = f" at {Path(where.filename).name}:{where.lineno} in {where.name}" if where else ""
        failures.note(f"{type(error).__name__}{place}", str(error))
        if response is not None and isinstance(error, SHAPE_ERRORS):
            return BoltResponse(status=400, body="malformed request")
        return None  # Bolt answers 500 if nothing was acknowledged yet

    return on_error


def _unsigned(
    verifier: SignatureVerifier, raw: bytes, stamp: str, signature: str
) -> tuple[str | None, str]:
    """Why the request is not Slack's (``None`` if it is), and its body as text."""
    if not stamp or not signature:
        return "no signature", ""
    # SignatureVerifier parses the stamp with int() and compares ASCII only.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12 and signature.isascii()):
        return "a malformed timestamp or signature", ""
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "a body that is not UTF-8", ""
    if not verifier.is_valid(body, stamp, signature):
        return "a wrong or expired signature", ""
    return None, body


# What Bolt works out from every payload before any listener runs (and again for each
# listener's arguments): a payload it cannot take apart is malformed, refused here.
_PAYLOAD_PARTS = (
    payload_utils.to_options,
    payload_utils.to_shortcut,
    payload_utils.to_action,
    payload_utils.to_view,
    payload_utils.to_command,
    payload_utils.to_event,
    payload_utils.to_message,
    payload_utils.to_step,
)


def _shaped(body: Any) -> bool:
    """Whether Bolt can take this payload apart (a dict whose parts are what it expects)."""
    if not isinstance(body, dict):
        return False
    for part in _PAYLOAD_PARTS:
        found = part(body)
        if found is not None and not isinstance(found, dict):
            return False
    return True


def slack_events_handler(app: AsyncApp, *, signing_secret: str, refusals: ReasonLog) -> Any:
    """An aiohttp handler for ``POST /slack/events``. The signature (and its 5-minute age) is
    checked with slack_sdk's ``SignatureVerifier`` on the raw bytes before anything is
    parsed: anything unsigned is ``401``, signed but malformed is ``400``, and each reason is
    counted (one log line a minute), never logged per request."""
    verifier = SignatureVerifier(signing_secret)
    acks = _ACKS.get(app) or AcksFirst()

    async def handle(request: web.Request) -> web.Response:
        # Work left after other requests' acks waits until this answer is written.
        with acks.answering():
            return await answer(request)

    async def answer(request: web.Request) -> web.Response:
        raw = await request.read()  # at most client_max_size (1 MB), else aiohttp's 413
        reason, body = _unsigned(
            verifier,
            raw,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
        )
        if reason is not None:
            refusals.note(reason)
            return web.Response(status=401, text="invalid request")
        try:
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=dict(request.headers),
            )
            well_formed = _shaped(bolt_request.body)
        except Exception:  # Bolt parsing signed input: any failure is a malformed request
            well_formed = False
        if not well_formed:
            refusals.note("a signed request that is not a Slack payload")
            return web.Response(status=400, text="malformed request")
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle


def socket_mode_handler(app: AsyncApp, app_token: str | None) -> Any:
    """The Socket Mode connection out to Slack (``SLACK_APP_TOKEN``): an
    ``AsyncSocketModeHandler``, imported only when Socket Mode is used."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    return AsyncSocketModeHandler(app, app_token=app_token)
