"""Outgoing mail: through ``SMTP_RELAY`` when set, otherwise (or on failure) to the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import re
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

__all__ = ["Mailer", "write_outbox"]

log = logging.getLogger(__name__)


def write_outbox(outbox: Path, name: str, data: bytes | str, suffix: str) -> Path:
    """Write one undeliverable item to the outbox folder; returns its path."""
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60] or "item"
    path = outbox / f"{stamp}-{slug}{suffix}"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


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
