"""Jinja2 environments, one per output format, each escaping user text for its format.

Every ``{{ expression }}`` passes through the format's escaper (``finalize``), so a template
cannot forget to escape. Template text itself is trusted. ``StrictUndefined`` turns a
missing value into an error instead of an empty string.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

import jinja2
from markupsafe import Markup

from store import escape_mrkdwn, one_paragraph

__all__ = ["escape_markdown", "escape_mrkdwn", "escape_text", "get_environment", "render"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def escape_markdown(value: str) -> str:
    """Make text literal in Markdown: one paragraph, and no emphasis, links, headings or
    raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", one_paragraph(value)).replace("{{", "{\u200b{")


def escape_text(value: str) -> str:
    """Plain text needs no escaping, but it is one paragraph and control characters are
    dropped."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", one_paragraph(value))


_ESCAPERS = {
    "markdown": escape_markdown,
    "text": escape_text,
    "mrkdwn": escape_mrkdwn,
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


@functools.cache
def get_environment(fmt: str) -> jinja2.Environment:
    """The environment for ``fmt``: markdown, text, mrkdwn or html."""
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
        env = jinja2.Environment(
            loader=loader,
            autoescape=False,
            finalize=_finalizer(_ESCAPERS[fmt]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
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
