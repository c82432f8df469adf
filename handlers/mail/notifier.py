"""The mail side of delivery: the digest email, and plain notes to one person."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from digests.digest import Digest
from handlers.mail.digest import digest_email
from handlers.mail.outgoing import Mailer
from handlers.service.delivery import Sent
from store import Deliverable, Person

__all__ = ["MailNotifier"]


class MailNotifier:
    """Mail's :class:`~handlers.service.delivery.Notifier`: through ``SMTP_RELAY``, or the
    outbox when the relay is unset or refuses (the mailer's own fallback)."""

    channel = "email"

    def __init__(self, mailer: Mailer, *, mail_domain: str) -> None:
        self.mailer = mailer
        self.mail_domain = mail_domain

    @property
    def sender(self) -> str:
        return f"Deliverabot <digest@{self.mail_domain}>"

    async def _send(self, msg: EmailMessage) -> Sent:
        where = await self.mailer.send(msg)
        return Sent(f"{msg['Message-ID']} via {where}")

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        """The digest to the comma-separated addresses ``target``, the chart inline."""
        msg = digest_email(
            digest,
            sender=self.sender,
            recipients=target.split(","),
            chart_png=chart,
            domain=self.mail_domain,
        )
        return await self._send(msg)

    async def nudge(
        self, address: str, person: Person, items: Sequence[Deliverable], *, stale_weeks: int
    ) -> Sent:
        lines = [
            f"Hello {person.name},",
            "",
            f"These have had no update for {stale_weeks} weeks:",
            *(f"- {d.ref} {d.title} ({d.status.label})" for d in items[:20]),
        ]
        return await self.direct(address, "\n".join(lines))

    async def direct(self, address: str, message: str) -> Sent:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = address
        msg["Subject"] = "Deliverabot"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.mail_domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(message)
        return await self._send(msg)
