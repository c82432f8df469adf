"""Builds the Bolt ``AsyncApp``: the Web API client, retries, and our listeners."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from handlers.slack import SlackDeps, register_slack

__all__ = ["build_slack_app", "make_web_client", "slack_events_handler"]


def make_web_client(settings: Settings, *, timeout: int = 10) -> AsyncWebClient:
    """The Web API client: ``SLACK_API_URL`` as base, retrying connection errors and 429s."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
        logger=logging.getLogger("deliverabot.slack.web"),
    )


def build_slack_app(
    settings: Settings, *, deps: SlackDeps, client: AsyncWebClient | None = None
) -> AsyncApp:
    app = AsyncApp(
        client=client or make_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        # Socket Mode connections are authenticated by the app token, not signatures.
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("deliverabot.slack"),
    )
    register_slack(app, deps=deps)
    return app


def slack_events_handler(app: AsyncApp) -> Any:
    """An aiohttp handler for ``POST /slack/events``: Bolt verifies the signature and age."""

    async def handle(request: web.Request) -> web.Response:
        # Bolt parses the timestamp with int(); anything that is not a plain number is a
        # forgery like any other, refused before Bolt sees it.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return web.Response(status=401, text="invalid request")
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    return handle
