"""Reads the listeners run on the reader's thread (pure functions of a ``Reader``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.slack.views import quarter_options
from store import Office, Reader, Role

__all__ = ["admin_hint", "quarter_choices"]


def admin_hint(store: Reader) -> str:
    people = store.people()
    admins = [p for p in people if p.role is Role.ADMIN] or [
        p for p in people if p.role is Role.EDITOR
    ]
    if not admins:
        return "Ask whoever looks after the plan file to add your Slack ID to it."
    names = " or ".join(p.name for p in admins[:2])
    return f"Ask {names} to add your Slack ID (or your email) to the plan's people."


def quarter_choices(store: Reader, office: Office) -> list[dict[str, Any]]:
    """The quarters the form offers: from the plan's start (or two back) to two years on,
    or to the latest due quarter in the plan."""
    current = office.quarter_of(office.today())
    first = current.previous().previous()
    start_text = store.get_meta("plan_start")
    if start_text:
        first = min(first, office.quarter_of(dt.date.fromisoformat(start_text)))
    last = current
    for _ in range(8):
        last = last.next()
    for d in store.deliverables():
        if d.due:
            try:
                last = max(last, office.quarter(d.due).last)
            except ValueError:
                continue
    return quarter_options(first, last)
