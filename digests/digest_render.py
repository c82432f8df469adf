"""Renderers for the weekly digest: text, Markdown and HTML. The channels wrap them: the
email in ``handlers.mail.digest``, Slack's message in ``handlers.slack.digest``."""

from __future__ import annotations

from digests.digest import Digest
from digests.render import render

__all__ = ["render_digest"]


def render_digest(digest: Digest, fmt: str, *, chart_cid: str | None = None) -> str:
    if fmt == "text":
        return render("text", "digest.txt.j2", digest=digest)
    if fmt == "markdown":
        return render("markdown", "digest.md.j2", digest=digest)
    if fmt == "html":
        return render("html", "digest.html.j2", digest=digest, chart_cid=chart_cid)
    raise ValueError(f"unknown digest format {fmt!r}")
