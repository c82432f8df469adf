"""Builds the collaborators that handlers and digests need from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.jobs import DigestService
from handlers.mail import Mailer, MailNotifier, MailPolicy
from handlers.outbox import Outbox
from handlers.service import stored_hash_key
from handlers.service.delivery import Notifier
from handlers.service.writer import Writer
from handlers.slack.digest import slack_draft
from store import Office, Store

__all__ = ["digest_service", "hash_key", "mail_policy", "slack_web_client"]


def digest_service(
    settings: Settings,
    store: Store,
    *,
    slack: Notifier | None = None,
    mailer: Mailer | None = None,
    office: Office | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> DigestService:
    """The digest and reminders, with a notifier per channel that is on (mail always, Slack
    with its credentials) and the outbox standing in for the rest."""
    mailer = mailer or Mailer(relay=settings.smtp_relay, outbox=settings.outbox_dir)
    notifiers: dict[str, Notifier] = {
        "email": MailNotifier(mailer, mail_domain=settings.mail_domain)
    }
    if slack is not None:
        notifiers["slack"] = slack
    outbox = Outbox(settings.outbox_dir, drafts={"slack": slack_draft})
    return DigestService(
        settings=settings,
        office=(office or settings.office).with_clock(clock),
        writer=Writer(store),
        notifiers=notifiers,
        outbox=outbox,
    )


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


def mail_policy(settings: Settings, store: Store, *, office: Office | None = None) -> MailPolicy:
    return MailPolicy(
        office=office or settings.office,
        mail_domain=settings.mail_domain,
        hash_key=hash_key(settings, store),
        allowed_senders=settings.allowed_senders,
        trusted_relays=settings.trusted_relays,
        trusted_peers=settings.trusted_peers,
        category_rules=list(settings.category_rules),
        keep_subjects=settings.store_subjects,
        keep_raw=settings.keep_raw_mail,
        retention_days=settings.mail_retention_days,
    )
