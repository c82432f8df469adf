"""Redirected and auto-forwarded correspondence over SMTP: when a message's ``From:`` is not
its envelope sender, is it a redirect by that sender, or a forward by the office's relay?"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses

from handlers.mail.trust import Network, peer_trusted

__all__ = ["resent_by", "unaccounted_sender"]


def resent_by(msg: Message) -> set[str]:
    """The addresses of the topmost ``Resent-From`` and ``Resent-Sender`` fields: who
    redirected the message last (a mail client's Redirect adds them above the rest)."""
    found: set[str] = set()
    for name in ("Resent-From", "Resent-Sender"):
        values = msg.get_all(name) or []
        if values:
            found |= {a.strip().lower() for _, a in getaddresses([str(values[0])]) if "@" in a}
    return found


def unaccounted_sender(
    msg: Message,
    *,
    envelope: str,
    from_header: str,
    peer: str | None,
    trusted_peers: Iterable[Network],
) -> str | None:
    """``None`` when a ``From:`` other than the envelope sender is accounted for: a redirect
    whose ``Resent-From``/``Resent-Sender`` names the envelope sender, or a server-side
    forward that came from a relay in ``SMTP_TRUSTED_PEERS``. Otherwise why not, for
    ``mail review``."""
    if envelope in resent_by(msg):
        return None
    if peer_trusted(peer, trusted_peers):
        return None
    resent = ", ".join(sorted(resent_by(msg))) or "none"
    return (
        f"From {from_header} and envelope sender {envelope} disagree, and it is neither a "
        f"redirect by {envelope} (Resent-From/Resent-Sender: {resent}) nor a forward from a "
        f"relay in SMTP_TRUSTED_PEERS (it came from {peer or 'an unknown peer'})"
    )
