"""The inbound SMTP handler (aiosmtpd's duck-typed ``handle_*`` hooks).

Foundation scope: decide on the recipient at RCPT, commit the raw message before answering
``250``, and answer ``451`` when the store cannot commit, so nothing accepted is ever lost.
Messages are kept in the ``quarantine`` table with state ``pending`` until the mail issue's
parser reads them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from store import Store, StoreError

__all__ = ["LOCAL_PARTS", "MailHandler", "classify_local_part"]

log = logging.getLogger(__name__)

LOCAL_PARTS = ("correspondence", "updates", "update", "postmaster")


def classify_local_part(address: str, mail_domain: str) -> str | None:
    """Which mailbox an address is for, or ``None`` when it is not ours.

    ``correspondence+mp@`` is ``correspondence``; ``update+CF-3@`` is ``update``.
    """
    m = re.fullmatch(r"\s*<?([^@<>\s]+)@([^@<>\s]+?)>?\s*", address)
    if not m or m.group(2).lower() != mail_domain.lower():
        return None
    local = m.group(1).lower().split("+", 1)[0]
    return local if local in LOCAL_PARTS else None


class MailHandler:
    def __init__(self, *, store: Store, mail_domain: str) -> None:
        self.store = store
        self.mail_domain = mail_domain

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if classify_local_part(address, self.mail_domain) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")

        def commit() -> None:
            with self.store.transaction() as tx:
                tx.db.execute(
                    "INSERT INTO quarantine (received_at, mail_from, rcpt_tos, raw, reason, state) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        envelope.mail_from,
                        ",".join(envelope.rcpt_tos),
                        raw,
                        "awaiting parser",
                        "pending",
                    ],
                )

        try:
            await self.store.call(commit)
        except StoreError:
            log.warning("store unavailable; asked the sender to retry")
            return "451 4.3.0 Temporary storage failure, please retry"
        return "250 2.0.0 Message accepted"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", type(error).__name__)
        return "451 4.3.0 Temporary failure, please retry"
