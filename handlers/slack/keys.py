"""Idempotency keys for what Slack asks us to record.

Slack retries a request it thinks timed out (``X-Slack-Retry-Num``), and a signed request can
be replayed within its five minutes. Each update made from Slack carries the key of the
request that asked for it, unique in the store, so the same request twice records once and
is answered as the first was:

- a command: its signature and timestamp (the signature covers the body), or, in Socket
  Mode, where nothing is signed, its ``trigger_id``;
- a form: the view's id, who submitted it and a hash of the submitted values (the same form
  sent again, however re-signed), or the ``trigger_id`` when there is no view id;
- a choice among matching deliverables: the waiting request's token (it is used once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["choice_key", "request_key", "retry_of"]


def _key(kind: str, basis: str) -> str:
    return f"slack:{kind}:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


def _header(headers: Mapping[str, Sequence[str]], name: str) -> str:
    values = headers.get(name) or [""]
    return str(values[0])


def request_key(body: Mapping[str, Any], headers: Mapping[str, Sequence[str]]) -> str | None:
    """The key of a command or a form submission (``None`` for anything else)."""
    if "command" in body:
        signature = _header(headers, "x-slack-signature")
        if signature:
            return _key("command", f"{_header(headers, 'x-slack-request-timestamp')}:{signature}")
        trigger = body.get("trigger_id")
        return _key("command", str(trigger)) if trigger else None
    if body.get("type") != "view_submission":
        return None
    view = body.get("view")
    if not isinstance(view, Mapping):
        return None
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    if view.get("id"):
        state = view.get("state")
        basis = json.dumps(
            [
                view.get("id"),
                user_id,
                view.get("callback_id"),
                state.get("values") if isinstance(state, Mapping) else None,
                view.get("private_metadata"),
            ],
            sort_keys=True,
            default=str,
        )
        return _key("view", basis)
    trigger = body.get("trigger_id")
    return _key("view", f"{user_id}:{trigger}") if trigger else None


def choice_key(token: str) -> str:
    """The key of the update a waiting request (``save_pending``) becomes once chosen."""
    return _key("choice", token)


# Slack's documented retry reasons. The headers are not signed, so anything else is "other".
RETRY_REASONS = frozenset({"http_timeout", "too_many_conns", "http_error", "unknown_error"})


def retry_of(headers: Mapping[str, Sequence[str]]) -> str | None:
    """Slack's reason when this request says it is a retry (``None`` otherwise)."""
    if not _header(headers, "x-slack-retry-num"):
        return None
    reason = _header(headers, "x-slack-retry-reason")
    return reason if reason in RETRY_REASONS else "other"
