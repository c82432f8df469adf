"""The weekly digest as an email: plain text, and HTML with the chart inline."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from digests.digest import Digest
from digests.digest_render import render_digest

__all__ = ["digest_email"]


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
