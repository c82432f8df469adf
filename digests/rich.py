"""Lines made of parts that know who wrote them: staff text, the bot's own words, and links.

A digest line such as "CF-9 Improving Community Engagement (Priya Shah): Ongoing → On hold.
Paused pending the budget review." mixes text typed by staff (escaped in every format) with
the bot's own words and links (never escaped: an emoji code such as ``:white_check_mark:``
or a Slack link ``<url|CF-9>`` must reach Slack as written). Each format renders a line with
:func:`render_line`, which returns ``Markup`` so the template's own escaping leaves it alone.
"""

from __future__ import annotations

import functools
import html
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from markupsafe import Markup

from store import escape_mrkdwn

__all__ = ["Line", "Link", "Staff", "Words", "line", "render_line", "staff_texts"]


@dataclass(frozen=True)
class Staff:
    """Text from the store (typed by staff or read from the plan file): always escaped."""

    text: str


@dataclass(frozen=True)
class Words:
    """The bot's own words: written as they are in every format."""

    text: str


@dataclass(frozen=True)
class Link:
    """A link the bot builds (to the board); its label is escaped like any text."""

    url: str
    label: tuple[Staff | Words, ...]


Part = Staff | Words | Link
Line = tuple[Part, ...]


def line(*parts: Part | str | None) -> Line:
    """Build a line; a bare ``str`` is the bot's own words, ``None`` is left out."""
    return tuple(Words(p) if isinstance(p, str) else p for p in parts if p is not None and p != "")


def _safe_url(url: str) -> str:
    """Percent-encode what could end a link early in any format (spaces, ``|``, ``>``,
    ``)``, quotes); the URL itself is built by the bot from ``BOARD_URL``."""
    return urllib.parse.quote(url, safe=":/?&=#%+-._~,;@!$'*[]")


@functools.cache
def _escaper(fmt: str) -> Callable[[str], str]:
    from digests.render import escape_markdown, escape_text  # the same escapers as templates

    escapers: dict[str, Callable[[str], str]] = {
        "mrkdwn": escape_mrkdwn,
        "markdown": escape_markdown,
        "html": html.escape,
    }
    return escapers.get(fmt, escape_text)


def _escape(fmt: str, text: str) -> str:
    return _escaper(fmt)(text)


def _part(fmt: str, part: Part) -> str:
    if isinstance(part, Staff):
        return _escape(fmt, part.text)
    if isinstance(part, Words):
        return html.escape(part.text) if fmt == "html" else part.text
    label = "".join(_part(fmt, p) for p in part.label)
    url = _safe_url(part.url)
    if fmt == "mrkdwn":
        return f"<{url}|{label}>"
    if fmt == "markdown":
        return f"[{label}]({url.replace('(', '%28').replace(')', '%29')})"
    if fmt == "html":
        return f'<a href="{html.escape(url)}">{label}</a>'
    return label


def render_line(value: Line | Iterable[Part] | str, fmt: str) -> Markup:
    """One line in ``fmt`` (text, markdown, html or mrkdwn); a bare ``str`` is the bot's own
    words (a sentence it wrote from numbers and dates)."""
    if isinstance(value, str):
        value = (Words(value),)
    return Markup("".join(_part(fmt, p) for p in value))


def staff_texts(value: object) -> Iterator[str]:
    """Every piece of staff text in a line, a list of lines, or a dataclass holding them
    (for tests that check nothing but staff text was escaped)."""
    if isinstance(value, Staff):
        yield value.text
    elif isinstance(value, Link):
        yield from staff_texts(value.label)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from staff_texts(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from staff_texts(getattr(value, name))
