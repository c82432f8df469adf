"""People: away dates, who they are on each channel, and their secret for updates by mail."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from handlers.service.errors import ValidationError
from store import Person, Store

__all__ = [
    "Away",
    "drop_pending",
    "link_identity",
    "mail_token",
    "save_pending",
    "set_away",
    "update_address",
]


def mail_token(store: Store, *, person: Person, rotate: bool = False) -> str:
    """The person's secret for updates by mail, made on first use; ``rotate`` replaces it
    (the old address stops working at once)."""
    with store.transaction():
        token = None if rotate else store.mail_token(person.id)
        if token is None:
            token = secrets.token_hex(10)
            store.set_mail_token(person.id, token)
    return token


def update_address(token: str, mail_domain: str, ref: str | None = None) -> str:
    """``update+CF-3+<token>@domain``, or ``updates+<token>@domain`` for any deliverable."""
    if ref:
        return f"update+{ref}+{token}@{mail_domain}"
    return f"updates+{token}@{mail_domain}"


@dataclass(frozen=True)
class Away:
    """``away``'s result: no reminders for ``person`` until ``until`` (``None``: back)."""

    person: Person
    until: dt.date | None


def set_away(store: Store, *, actor: Person, until: dt.date | None, today: dt.date) -> Away:
    """Mark a person away (no reminders) until a date, or clear it with ``None``."""
    if until is not None and until < today:
        raise ValidationError(f"{until.isoformat()} is in the past.", field="until")
    with store.transaction():
        store.set_person_away(actor.id, until)
    return Away(actor, until)


def link_identity(store: Store, *, person: Person, channel: str, external_id: str) -> None:
    """Remember who a person is on a channel (their Slack user id, say), once the channel
    matched them by their email address."""
    with store.transaction():
        store.set_identity(person.id, channel, external_id)


def save_pending(store: Store, kind: str, payload: dict[str, Any]) -> str:
    """Keep a request waiting for the person's choice (which of several deliverables)."""
    with store.transaction():
        return store.save_pending(kind, payload)


def drop_pending(store: Store, token: str) -> None:
    with store.transaction():
        store.drop_pending(token)
