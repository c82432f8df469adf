"""Pure text rules shared by every output: no I/O."""

from __future__ import annotations

import re

__all__ = ["one_paragraph"]

_BREAKS = re.compile(r"\s*[\r\n\v\f\u0085\u2028\u2029]+\s*")


def one_paragraph(text: str) -> str:
    """A note is one paragraph in every format: line breaks become single spaces, so typed
    newlines cannot forge list items or headings in Slack, Markdown or Word. Spaces at the
    ends are kept (they may be a table's padding)."""
    return _BREAKS.sub(" ", text)
