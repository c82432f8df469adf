"""Lines made of parts that know who wrote them: staff text, the bot's own words, and links.

A digest line such as "CF-9 Improving Community Engagement (Priya Shah): Ongoing → On hold.
Paused pending the budget review." mixes text typed by staff (escaped in every format) with
the bot's own words and links (never escaped: an emoji code such as ``:white_check_mark:``
or a Slack link ``<url|CF-9>`` must reach Slack as written). Each format renders a line with
:func:`render_line`, which returns ``Markup`` so the template's own escaping leaves it alone.

Text, Markdown and HTML are known here; a channel with a format of its own registers its
rules with :func:`register_line_format` (Slack's mrkdwn, in ``handlers.slack.digest``).
"""

from __future__ import annotations

import functools
import html
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from markupsafe import Markup

__all__ = [
    "Line",
    "LineFormat",
    "Link",
    "Staff",
    "Words",
    "line",
    "register_line_format",
    "render_line",
    "staff_texts",
]


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


@dataclass(frozen=True)
class LineFormat:
    """How one format writes a line's parts."""

    escape: Callable[[str], str]  # staff text
    words: Callable[[str], str] = str  # the bot's own words
    link: Callable[[str, str], str] = lambda _url, label: label  # (safe URL, rendered label)


_FORMATS: dict[str, LineFormat] = {}


def register_line_format(fmt: str, rules: LineFormat) -> None:
    """Teach :func:`render_line` a channel's own format (once, when the channel loads)."""
    _FORMATS[fmt] = rules


@functools.cache
def _builtin(fmt: str) -> LineFormat:
    from digests.render import escape_markdown, escape_text  # the same escapers as templates

    if fmt == "markdown":
        return LineFormat(
            escape_markdown,
            link=lambda url, label: f"[{label}]({url.replace('(', '%28').replace(')', '%29')})",
        )
    if fmt == "html":
        return LineFormat(
            html.escape,
            words=html.escape,
            link=lambda url, label: f'<a href="{html.escape(url)}">{label}</a>',
        )
    return LineFormat(escape_text)


def _rules(fmt: str) -> LineFormat:
    return _FORMATS.get(fmt) or _builtin(fmt)


def _part(rules: LineFormat, part: Part) -> str:
    if isinstance(part, Staff):
        return rules.escape(part.text)
    if isinstance(part, Words):
        return rules.words(part.text)
    label = "".join(_part(rules, p) for p in part.label)
    return rules.link(_safe_url(part.url), label)


def render_line(value: Line | Iterable[Part] | str, fmt: str) -> Markup:
    """One line in ``fmt`` (text, markdown, html or mrkdwn); a bare ``str`` is the bot's own
    words (a sentence it wrote from numbers and dates)."""
    if isinstance(value, str):
        value = (Words(value),)
    rules = _rules(fmt)
    return Markup("".join(_part(rules, p) for p in value))


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
