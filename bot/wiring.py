"""Builds the collaborators that handlers and digests need from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from handlers.mail import MailPolicy
from handlers.service import stored_hash_key
from store import Store

__all__ = ["hash_key", "mail_policy", "slack_web_client"]


def slack_web_client(settings: Settings) -> Any:
    """Slack's Web API client for ``SLACK_BOT_TOKEN`` at ``SLACK_API_URL`` (an
    ``AsyncWebClient``: the one place ``bot`` reaches into Slack, through ``handlers.slack``)."""
    from handlers.slack import make_web_client

    return make_web_client(settings.slack_bot_token, settings.slack_api_url)


def hash_key(settings: Settings, store: Store) -> bytes:
    """The key for hashing correspondents' addresses.

    ``CORRESPONDENCE_HASH_KEY`` when set (recommended: then the database alone cannot be used
    to test guesses of who wrote); otherwise a random key made once and kept in the database.
    """
    if settings.correspondence_hash_key:
        return settings.correspondence_hash_key.encode()
    return stored_hash_key(store).encode()


def mail_policy(
    settings: Settings, store: Store, *, clock: Callable[[], dt.datetime] | None = None
) -> MailPolicy:
    return MailPolicy(
        clock=clock or (lambda: dt.datetime.now(dt.UTC)),
        mail_domain=settings.mail_domain,
        hash_key=hash_key(settings, store),
        allowed_senders=settings.allowed_senders,
        trusted_relays=settings.trusted_relays,
        trusted_peers=settings.trusted_peers,
        category_rules=list(settings.category_rules),
        keep_subjects=settings.store_subjects,
        keep_raw=settings.keep_raw_mail,
        retention_days=settings.mail_retention_days,
        fy_start_month=settings.fy_start_month,
        tz=settings.tz,
    )
