"""Builds the collaborators that handlers and digests need from the settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.jobs import DigestService
from handlers.mail import Mailer, MailNotifier, MailPolicy
from handlers.mail.mailbox import FolderRoute, MailboxConfig, MailboxSource, SourceBase
from handlers.mail.mailbox_auth import Login, MsalTokens, PasswordLogin, XOAuth2Login
from handlers.mail.mailbox_graph import GraphSource
from handlers.mail.mailbox_imap import ImapServer
from handlers.outbox import Outbox
from handlers.service import stored_hash_key
from handlers.service.delivery import Notifier
from handlers.service.writer import Writer
from handlers.slack.digest import slack_draft
from store import Office, Store

__all__ = ["digest_service", "hash_key", "mail_policy", "mailbox_source", "slack_web_client"]


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


def mailbox_source(
    settings: Settings, writer: Writer, *, office: Office | None = None
) -> SourceBase | None:
    """The office's own mailbox as a mail source, or ``None`` when ``MAILBOX_URL`` is unset."""
    m = settings.mailbox
    if m is None:
        return None
    login: Login
    tokens: MsalTokens | None = None
    if m.auth == "xoauth2":
        assert m.tenant and m.client_id
        tokens = MsalTokens(
            tenant=m.tenant,
            client_id=m.client_id,
            secret=m.client_secret,
            cert_file=m.client_cert,
            authority=m.authority,
            scope=m.scope,
            ca_file=m.ca_file,
        )
        login = XOAuth2Login(m.user, tokens)
    else:
        login = PasswordLogin(m.user, m.password or "")
    domain = settings.mail_domain
    config = MailboxConfig(
        server=ImapServer(m.host, m.port, m.tls, ca_file=m.ca_file),
        account=f"{m.user}@{m.host}",
        folders=tuple(FolderRoute(folder, f"{role}@{domain}") for folder, role in m.folders),
        since=m.since,
        after=m.after,
        processed=m.processed_folder,
        # IDLE is renewed well before the 29 minutes servers allow, and often enough that a
        # silent connection shows on /healthz within the staleness limit.
        idle_seconds=min(25 * 60.0, m.stale_minutes * 60 / 3),
        poll_seconds=float(m.poll_seconds),
        stale_after=dt.timedelta(minutes=m.stale_minutes),
    )
    now = (office or settings.office).now
    if m.api == "graph":
        assert tokens is not None
        config = dataclasses.replace(config, account=m.user)
        return GraphSource(config, writer=writer, tokens=tokens, base_url=m.host, clock=now)
    return MailboxSource(config, writer=writer, login=login, clock=now)
