"""Pure text rules shared by every output: no I/O.

They live here, at the bottom of the house, because both ``handlers`` (Slack replies) and
``digests`` (digests and reports) need them, and neither may import the other.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["escape_mrkdwn", "mrkdwn", "one_paragraph"]

_BREAKS = re.compile(r"\s*[\r\n\v\f\u0085\u2028\u2029]+\s*")


def one_paragraph(text: str) -> str:
    """A note is one paragraph in every format: line breaks become single spaces, so typed
    newlines cannot forge list items or headings in Slack, Markdown or Word. Spaces at the
    ends are kept (they may be a table's padding)."""
    return _BREAKS.sub(" ", text)


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


def mrkdwn(text: str) -> dict[str, Any]:
    """A Block Kit mrkdwn text object that Slack does not pre-process (``verbatim``): no
    automatic mention or channel parsing of what staff typed."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}
