"""Jinja2 environments, one per output format, each escaping user text for its format.

Every ``{{ expression }}`` passes through the format's escaper (``finalize``), so a template
cannot forget to escape. Template text itself is trusted. ``StrictUndefined`` turns a
missing value into an error instead of an empty string.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from typing import Any

import jinja2
from markupsafe import Markup

from store import one_paragraph

__all__ = [
    "escape_markdown",
    "escape_text",
    "escaping_environment",
    "get_environment",
    "render",
]

# Escaped wherever they stand: code spans, link and image brackets, table cells.
_MD_ALWAYS = re.compile(r"[`\[|]")
# A backslash is literal unless it comes before punctuation.
_MD_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")
# "*" emphasises unless it has space on both sides ("5 * 3"); "_" only at a word's edge
# ("snake_case" is literal); "~" strikes through only when it can close a run, that is
# when it follows a non-space ("~180" and "approx ~180" are literal).
_MD_STAR = re.compile(r"(?<!\s)\*|\*(?!\s|$)")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_TILDE = re.compile(r"(?<=\S)~")
# Raw HTML and autolinks need "<" before a letter, "/", "!" or "?"; entities need "&name;".
_MD_ANGLE = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# At the start of a value (a list item's or heading's text): a heading, a quote, a list.
_MD_LEADING = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|>|[-+*](?=\s))")
_MD_ORDERED = re.compile(r"^(\s*\d{1,9})(?=[.)](?:\s|$))")


def escape_markdown(value: str) -> str:
    """Make text literal in Markdown, escaping only what Markdown would read as markup:
    one paragraph; no code, links, emphasis, strikethrough, raw HTML, entities, table
    cells, or (at its start) headings, quotes and list markers. "~180" stays "~180"."""
    text = one_paragraph(value)
    text = _MD_BACKSLASH.sub(r"\\\\", text)
    for pattern in (_MD_ALWAYS, _MD_STAR, _MD_UNDERSCORE, _MD_TILDE, _MD_ANGLE, _MD_ENTITY):
        text = pattern.sub(lambda m: "\\" + m.group(0), text)
    text = _MD_LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)
    text = _MD_ORDERED.sub(lambda m: m.group(1) + "\\", text, count=1)  # "1\. first"
    return text.replace("{{", "{\u200b{")


def escape_text(value: str) -> str:
    """Plain text needs no escaping, but it is one paragraph and control characters are
    dropped."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", one_paragraph(value))


_ESCAPERS = {
    "markdown": escape_markdown,
    "text": escape_text,
}


def _finalizer(escape: Any) -> Any:
    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return str(value)
        if value is None:
            return ""
        if isinstance(value, (int, float)):
            return value
        return escape(str(value))

    return finalize


def escaping_environment(
    loader: jinja2.BaseLoader, escape: Callable[[str], str]
) -> jinja2.Environment:
    """A text environment whose every ``{{ expression }}`` goes through ``escape``: what a
    channel uses for its own format (Slack's mrkdwn, say) with its own templates."""
    return jinja2.Environment(
        loader=loader,
        autoescape=False,
        finalize=_finalizer(escape),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def get_environment(fmt: str) -> jinja2.Environment:
    """The environment for ``fmt``: markdown, text or html."""
    loader = jinja2.PackageLoader("digests", "templates")
    if fmt == "html":
        env = jinja2.Environment(
            loader=loader,
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    elif fmt in _ESCAPERS:
        env = escaping_environment(loader, _ESCAPERS[fmt])
    else:
        raise ValueError(f"unknown format {fmt!r}")
    env.filters["html_escape"] = html.escape
    # A line built from parts (digests.rich): staff text escaped for this format, the bot's
    # own words and links as written.
    env.filters["rich"] = functools.partial(_rich, fmt=fmt)
    return env


def _rich(value: Any, *, fmt: str) -> Markup:
    from digests.rich import render_line

    return render_line(value, fmt)


def render(fmt: str, template: str, **context: Any) -> str:
    return get_environment(fmt).get_template(template).render(**context)
