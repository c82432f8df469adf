"""Messages the bot sends on its own in Slack: the Friday reminder and the stats preview."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from handlers.slack.blocks import esc, plain, section
from store import Deliverable, Person

__all__ = ["reminder_message", "stats_message"]


def reminder_message(
    person: Person, items: Sequence[Deliverable], *, stale_weeks: int
) -> dict[str, Any]:
    """The Friday nudge: the owner's stale deliverables, each with an Update button."""
    blocks: list[dict[str, Any]] = [
        section(
            f"Hello {esc(person.name)} :wave: These have had no update for "
            f"{stale_weeks} weeks. A line each keeps the panel paper honest."
        )
    ]
    for d in items[:20]:
        blocks.append(
            section(
                f"*{esc(d.ref)}* {esc(d.title)} · {d.status.label}",
                accessory={
                    "type": "button",
                    "text": plain("Update"),
                    "action_id": "open_update",
                    "value": d.ref,
                },
            )
        )
    return {"text": f"{len(items)} of your deliverables need an update.", "blocks": blocks}


def stats_message(stats: Sequence[Any], *, since: dt.date, today: dt.date) -> dict[str, Any]:
    """``/deliverable stats``: correspondence by category (rows of ``digests.stats``)."""
    if not stats:
        text = "No correspondence recorded in the last 12 weeks."
        return {"text": text, "blocks": [section(text)]}
    lines = [f"*Correspondence, {since:%-d %b} – {today:%-d %b %Y}*"]
    for row in stats:
        share = "—" if row.share_within_target is None else f"{row.share_within_target:g}%"
        median = "—" if row.median_days_to_answer is None else f"{row.median_days_to_answer:g}"
        lines.append(
            f"• *{esc(row.key)}*: {row.received} received, {row.answered} answered, "
            f"median {median} working days, {share} within target"
        )
    return {
        "text": f"Correspondence: {sum(r.received for r in stats)} pieces in 12 weeks.",
        "blocks": [section("\n".join(lines))],
    }
