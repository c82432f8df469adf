"""The weekly digest as a Slack message: mrkdwn from its template, packed into Block Kit."""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2

from digests.digest import Digest
from digests.render import escaping_environment
from digests.rich import LineFormat, register_line_format, render_line
from handlers.slack.blocks import MAX_SECTION_CHARS, esc, mrkdwn

__all__ = ["digest_mrkdwn", "slack_draft", "slack_message"]

MAX_BLOCKS = 50


# A digest line's parts in mrkdwn: staff text escaped, the bot's words and emoji codes as
# written, a link to the board as Slack writes links.
register_line_format("mrkdwn", LineFormat(esc, link=lambda url, label: f"<{url}|{label}>"))


@functools.cache
def _environment() -> jinja2.Environment:
    env = escaping_environment(jinja2.PackageLoader("handlers.slack", "templates"), esc)
    env.filters["rich"] = functools.partial(render_line, fmt="mrkdwn")
    return env


def digest_mrkdwn(digest: Digest) -> str:
    """The digest's text in Slack mrkdwn, sections separated by ``%%%``."""
    return _environment().get_template("digest.mrkdwn.j2").render(digest=digest)


def _pack(chunks: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for chunk in chunks:
        text = chunk.strip()
        while text:
            if len(text) <= MAX_SECTION_CHARS:
                piece, text = text, ""
            else:
                cut = text.rfind("\n", 0, MAX_SECTION_CHARS)
                cut = cut if cut > 0 else MAX_SECTION_CHARS - 1
                piece, text = text[:cut], text[cut:].lstrip("\n")
            blocks.append({"type": "section", "text": mrkdwn(piece)})
    return blocks


def slack_message(digest: Digest) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}`` within Block Kit's limits."""
    chunks = [c for c in digest_mrkdwn(digest).split("%%%") if c.strip()]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{digest.plan} – weekly digest"[:150]},
        },
        # The label is the bot's own words ("Week 37, 12–18 September 2022 · Q2 2022/23").
        {"type": "context", "elements": [mrkdwn(digest.label)]},
    ]
    sections = _pack(chunks)
    room = MAX_BLOCKS - len(blocks)
    if len(sections) > room:
        dropped = len(sections) - room + 1
        sections = sections[: room - 1]
        sections.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(f"…{dropped} more sections. Run `deliverabot digest` for the full text.")
                ],
            }
        )
    blocks += sections
    # The plan's name is staff text (escaped); the rest is the bot's own words.
    fallback = f"{esc(digest.plan)} weekly digest, {digest.label}: " + (
        digest.quiet_line if digest.quiet else digest.headline
    )
    return {"text": fallback, "blocks": blocks}


def slack_draft(target: str, digest: Digest) -> tuple[str, str]:
    """What would have been posted to channel ``target``, kept in the outbox while Slack is
    off: the message as JSON, and its file suffix."""
    return json.dumps({"channel": target, **slack_message(digest)}, indent=2), ".json"
