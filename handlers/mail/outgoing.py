"""Outgoing mail: through ``SMTP_RELAY`` when set, otherwise (or on failure) to the outbox."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from handlers.outbox import write_outbox

__all__ = ["Mailer"]

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, *, relay: str | None, outbox: Path, timeout: float = 30) -> None:
        self.relay = relay
        self.outbox = outbox
        self.timeout = timeout

    async def send(self, msg: EmailMessage) -> str:
        """Deliver ``msg``; returns where it went ("relay host:port" or the outbox path)."""
        if self.relay:
            host, _, port = self.relay.rpartition(":")
            try:
                await aiosmtplib.send(msg, hostname=host, port=int(port), timeout=self.timeout)
                return f"relay {self.relay}"
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.warning(
                    "SMTP relay %s failed (%s); writing to the outbox",
                    self.relay,
                    type(exc).__name__,
                )
        path = write_outbox(self.outbox, str(msg.get("Subject", "mail")), msg.as_bytes(), ".eml")
        log.info("mail written to the outbox: %s", path)
        return str(path)
