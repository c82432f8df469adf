"""Slack's text rules and the Block Kit pieces every message is made of (pure, no I/O).

Every piece of user text goes through :func:`esc` (mrkdwn) or into a ``plain_text`` object,
so ``<!channel>``, ``<!here>`` and ``<@U…>`` typed by staff never ping anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from store import one_paragraph

__all__ = [
    "MAX_PLAIN_TEXT",
    "MAX_SECTION_CHARS",
    "context",
    "esc",
    "escape_mrkdwn",
    "mrkdwn",
    "plain",
    "section",
    "sections",
]

MAX_SECTION_CHARS = 3000
MAX_PLAIN_TEXT = 150  # option and button labels

_MRKDWN_FORMAT = re.compile(r"([*_~`])")
# Typed "@channel", "@here" and "@everyone" must not notify anyone: a word joiner after the
# "@" keeps the text readable and breaks the keyword.
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def escape_mrkdwn(value: str) -> str:
    """User text for Slack mrkdwn: one paragraph; ``&``, ``<`` and ``>`` escaped so
    ``<!channel>`` never pings; plain ``@channel``/``@here``/``@everyone`` broken with a word
    joiner; and a zero-width space before ``* _ ~ ` `` so typed ``*bold*`` stays literal
    (mrkdwn has no escape character for these)."""
    value = one_paragraph(value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _BROADCAST.sub("@\u2060", value)
    return _MRKDWN_FORMAT.sub("\u200b\\1", value)


esc = escape_mrkdwn  # the one Slack escaper: replies, views, notices and the digest


def mrkdwn(text: str) -> dict[str, Any]:
    """A Block Kit mrkdwn text object that Slack does not pre-process (``verbatim``): no
    automatic mention or channel parsing of what staff typed."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = MAX_PLAIN_TEXT) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def clip(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(clip(text)), **extra}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(clip(text))]}


def sections(lines: Iterable[str], header: str | None = None) -> list[dict[str, Any]]:
    """Pack lines into as few sections as the 3,000-character limit allows."""
    blocks: list[dict[str, Any]] = []
    chunk = header + "\n" if header else ""
    for line in lines:
        line = clip(line, MAX_SECTION_CHARS - 10)
        if len(chunk) + len(line) + 1 > MAX_SECTION_CHARS:
            blocks.append(section(chunk.rstrip("\n")))
            chunk = ""
        chunk += line + "\n"
    if chunk.strip():
        blocks.append(section(chunk.rstrip("\n")))
    return blocks
