"""What the mail side needs from the settings, what processing a message gives, and the
one plain auto-reply it may send."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from handlers.mail.parse import header
from handlers.mail.trust import Network
from store import AN_OFFICE, Office

__all__ = ["MailPolicy", "ProcessResult", "auto_reply"]


@dataclass(frozen=True)
class MailPolicy:
    """What the mail side needs from the settings (built by ``bot``)."""

    mail_domain: str
    hash_key: bytes
    allowed_senders: tuple[str, ...] = ()
    trusted_relays: tuple[str, ...] = ()  # authserv-ids whose Authentication-Results we trust
    trusted_peers: tuple[Network, ...] = ()  # ... when the message came from one of these
    category_rules: list[tuple[str, str]] = field(default_factory=list)
    keep_subjects: bool = True
    keep_raw: bool = False
    retention_days: int = 30
    office: Office = AN_OFFICE  # the time zone for received days, the FY, the clock


@dataclass(frozen=True)
class ProcessResult:
    state: str
    detail: str = ""
    reply: EmailMessage | None = None
    correspondence_id: int | None = None


def auto_reply(msg: EmailMessage, *, to: str, mail_domain: str, body: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = f"Deliverabot <updates@{mail_domain}>"
    reply["To"] = to
    subject = header(msg, "Subject") or "your update"
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = formatdate(localtime=False)
    reply["Message-ID"] = make_msgid(domain=mail_domain)
    original_id = header(msg, "Message-ID")
    if original_id:
        reply["In-Reply-To"] = original_id
        reply["References"] = original_id
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content(body)
    return reply
