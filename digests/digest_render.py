"""Renderers for the weekly digest: text, Markdown, HTML email, and Slack Block Kit."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from digests.digest import Digest
from digests.render import render
from store import escape_mrkdwn, mrkdwn

__all__ = ["digest_email", "render_digest", "slack_message"]

MAX_BLOCKS = 50
MAX_SECTION = 3000


def render_digest(digest: Digest, fmt: str, *, chart_cid: str | None = None) -> str:
    if fmt == "text":
        return render("text", "digest.txt.j2", digest=digest)
    if fmt == "markdown":
        return render("markdown", "digest.md.j2", digest=digest)
    if fmt == "html":
        return render("html", "digest.html.j2", digest=digest, chart_cid=chart_cid)
    if fmt == "mrkdwn":
        return render("mrkdwn", "digest.mrkdwn.j2", digest=digest)
    raise ValueError(f"unknown digest format {fmt!r}")


def _pack(chunks: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for chunk in chunks:
        text = chunk.strip()
        while text:
            if len(text) <= MAX_SECTION:
                piece, text = text, ""
            else:
                cut = text.rfind("\n", 0, MAX_SECTION)
                cut = cut if cut > 0 else MAX_SECTION - 1
                piece, text = text[:cut], text[cut:].lstrip("\n")
            blocks.append({"type": "section", "text": mrkdwn(piece)})
    return blocks


def slack_message(digest: Digest) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}`` within Block Kit's limits."""
    body = render_digest(digest, "mrkdwn")
    chunks = [c for c in body.split("%%%") if c.strip()]
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
    fallback = f"{escape_mrkdwn(digest.plan)} weekly digest, {digest.label}: " + (
        digest.quiet_line if digest.quiet else digest.headline
    )
    return {"text": fallback, "blocks": blocks}


def digest_email(
    digest: Digest,
    *,
    sender: str,
    recipients: list[str],
    chart_png: bytes | None,
    domain: str,
) -> EmailMessage:
    """multipart/alternative: plain text, and HTML with the chart inline by Content-ID."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = f"{digest.plan} – weekly digest – {digest.label}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_digest(digest, "text"))
    cid = make_msgid(domain=domain)
    html = render_digest(digest, "html", chart_cid=cid[1:-1] if chart_png else None)
    msg.add_alternative(html, subtype="html")
    if chart_png:
        parts = msg.get_payload()
        assert isinstance(parts, list)
        html_part = parts[1]
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            chart_png, maintype="image", subtype="png", cid=cid, filename="digest.png"
        )
    return msg
