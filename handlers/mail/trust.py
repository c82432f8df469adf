"""Who may write by mail: a trusted relay's word, read from the raw header and believed only
from a trusted peer; personal codes kept out of everything but the person's row, and a
throttle on peers that guess them. Pure, apart from the throttle (a clock, and one look-up
of the code at RCPT)."""

from __future__ import annotations

import collections
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable
from email.message import Message
from email.utils import getaddresses
from typing import Any

import authres

from store import Reader

__all__ = [
    "CODE_REMOVED",
    "MAILBOX_PEER",
    "CodeThrottle",
    "Network",
    "forget_codes",
    "forgotten_copy",
    "peer_host",
    "peer_key",
    "peer_trusted",
    "relay_proof",
    "split_update_address",
    "update_code",
]

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The peer recorded for mail read from the office's own mailbox: the server that delivered
# it there is the office's own, so its Authentication-Results are its word.
MAILBOX_PEER = "mailbox"
CODE_REMOVED = "code-removed"  # what a personal code becomes in the stored copy
# A personal code in an address (updates+<code>@), with its "+": found from that literal,
# which the regex engine skips to (a look-behind tries every position: 10x slower).
_PLUS_CODE = re.compile(r"\+[0-9a-fA-F]{20}(?=[+@])")
_PLUS_CODE_BYTES = re.compile(_PLUS_CODE.pattern.encode())
_TOKEN = re.compile(r"^[0-9a-f]{20}$")
_METHODS = ("dmarc", "dkim")


# -- the peer ------------------------------------------------------------------------------


def peer_host(peer: Any) -> str | None:
    """The address of an SMTP peer as aiosmtpd reports it (``(host, port, ...)``)."""
    if isinstance(peer, tuple | list) and peer:
        return str(peer[0])
    return str(peer) if isinstance(peer, str) and peer else None


def peer_key(peer: str | None) -> str:
    """Whom the throttle counts: an IPv4 address, or an IPv6 peer's /64 (one host's share)."""
    try:
        address = ipaddress.ip_address((peer or "").split("%", 1)[0])
    except ValueError:
        return peer or ""
    if isinstance(address, ipaddress.IPv6Address) and not address.ipv4_mapped:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else address)


def peer_trusted(peer: str | None, networks: Iterable[Network]) -> bool:
    """Whether the connection came from one of ``networks`` (``SMTP_TRUSTED_PEERS``)."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        candidates.append(address.ipv4_mapped)
    return any(a in net for net in networks for a in candidates if a.version == net.version)


# -- the relay's word, from the raw header -----------------------------------------------


def _raw_fields(msg: Message, name: str) -> list[str]:
    """A header's values exactly as they came (never decoded), unfolded."""
    return [
        re.sub(r"\s+", " ", re.sub(r"\r?\n(?=[ \t])", "", str(value))).strip()
        for key, value in msg.raw_items()
        if key.strip().lower() == name.lower()
    ]


def _parse(value: str) -> Any | None:
    if not value.isascii() or "=?" in value:  # RFC 8601 fields are ASCII, never encoded
        return None
    try:
        return authres.AuthenticationResultsHeader.parse_value(value)
    except Exception:  # authres.AuthResError, or anything a broken field raises
        return None


def _props(result: Any) -> dict[tuple[str, str], str]:
    return {
        (str(p.type).lower(), str(p.name).lower()): str(p.value or "").lower()
        for p in result.properties
    }


def _verdicts(parsed: Any, domain: str) -> tuple[bool, bool]:
    """``(passes, fails)`` of one field's DMARC and DKIM results for ``domain``.

    A pass names the domain (``header.from``, or the DKIM signing domain ``header.d``); a
    result that names no domain is about it too, so any non-pass there counts as a fail.
    """
    passes = fails = False
    for result in parsed.results:
        method, outcome, props = (
            str(result.method).lower(),
            str(result.result).lower(),
            _props(result),
        )
        if method not in _METHODS:
            continue
        if method == "dmarc":
            named = props.get(("header", "from"))
            if named == domain and outcome == "pass":
                passes = True
            elif named in (None, "", domain) and outcome != "pass":
                fails = True
        else:
            named = props.get(("header", "d")) or props.get(("header", "i"), "").rpartition("@")[2]
            if named == domain and outcome == "pass":
                passes = True
            elif named in (None, "", domain) and outcome not in ("pass", "none"):
                fails = True
    return passes, fails


def _single_from(msg: Message) -> tuple[str | None, str]:
    fields = _raw_fields(msg, "From")
    if len(fields) != 1:
        return None, f"{len(fields)} From fields"
    if not fields[0].isascii() or "=?" in fields[0]:
        return None, "an encoded or 8-bit From field"
    addresses = [a for _, a in getaddresses([fields[0]]) if a]
    if len(addresses) != 1 or addresses[0].count("@") != 1:
        return None, "the From field does not name exactly one address"
    return addresses[0].strip().lower(), ""


def relay_proof(msg: Message, trusted_relays: Iterable[str]) -> tuple[str | None, str]:
    """``(From address, "")`` when a trusted relay vouches for it, else ``(None, why)``.

    Call it only for a message whose SMTP peer is trusted: the header is text anyone can
    write. The topmost ``Authentication-Results`` field (the one the relay added last)
    must carry a trusted authserv-id and a DMARC pass for the From domain, or a DKIM pass
    signed by it; and no field carrying a trusted authserv-id may show a DMARC or DKIM
    result other than pass for that domain, wherever it is: a fail always wins. Fields are
    read raw, so an RFC 2047 encoded-word is never decoded into a pass.
    """
    trusted = {t.strip().lower() for t in trusted_relays if t.strip()}
    if not trusted:
        return None, "no trusted relay is configured (MAIL_TRUSTED_RELAYS)"
    address, why = _single_from(msg)
    if address is None:
        return None, why
    domain = address.rsplit("@", 1)[1]
    fields = _raw_fields(msg, "Authentication-Results")
    if not fields:
        return None, "no Authentication-Results field"
    proven = False
    for i, value in enumerate(fields):
        parsed = _parse(value)
        authserv = str(parsed.authserv_id).lower() if parsed is not None else ""
        if parsed is None:
            head = value.split(";", 1)[0].split()
            if i == 0 or (head and head[0].lower() in trusted):
                return None, "an Authentication-Results field of a trusted relay is unreadable"
            continue
        if authserv not in trusted:
            if i == 0:
                return None, f"the topmost Authentication-Results is from {authserv or '?'!r}"
            continue
        passes, fails = _verdicts(parsed, domain)
        if fails:
            return None, f"the trusted relay reports a DMARC/DKIM failure for {domain}"
        proven = proven or (i == 0 and passes)
    if not proven:
        return None, f"the trusted relay reports no DMARC/DKIM pass for {domain}"
    return address, ""


# -- personal codes ------------------------------------------------------------------------


def split_update_address(plus: str | None) -> tuple[str | None, str | None]:
    """``update+CF-3+<code>`` → (``CF-3``, code); ``updates+<code>`` → (None, code); a code
    already removed from the stored copy → ``""``."""
    ref_parts, token = [], None
    for part in (plus or "").split("+"):
        if _TOKEN.match(part.lower()):
            token = part.lower()
        elif part.lower() == CODE_REMOVED:
            token = token or ""
        elif part:
            ref_parts.append(part)
    return ("+".join(ref_parts) or None), token


def update_code(mailbox: str, plus: str | None) -> str | None:
    """The personal code in an update address (``updates+<code>@``), if there is one."""
    if mailbox not in ("updates", "update"):
        return None
    for part in (plus or "").split("+"):
        if _TOKEN.match(part.lower()):
            return part.lower()
    return None


def forget_codes(text: str) -> str:
    """``text`` with every personal code in an address replaced (for reasons and logs)."""
    return _PLUS_CODE.sub("+" + CODE_REMOVED, text or "")


def forget_codes_in(raw: bytes) -> bytes:
    """:func:`forget_codes` for a raw message (as if decoded as Latin-1 and back)."""
    return _PLUS_CODE_BYTES.sub(b"+" + CODE_REMOVED.encode(), raw)


def forgotten_copy(rcpt_tos: str | None, raw: bytes | None) -> tuple[str, bytes | None] | None:
    """The recipients and raw copy of a processed message without the codes its update
    addresses carried; ``None`` when there were none."""
    codes = {c[1:].lower() for c in _PLUS_CODE.findall(rcpt_tos or "")}
    if not codes:
        return None
    if raw is not None:
        for code in codes:
            raw = re.sub(re.escape(code).encode(), CODE_REMOVED.encode(), raw, flags=re.IGNORECASE)
    return forget_codes(rcpt_tos or ""), raw


class CodeThrottle:
    """Wrong personal codes per SMTP peer. After ``limit`` within ``window`` seconds, the
    peer's update mail is answered ``450`` for ``block`` seconds. In memory, bounded."""

    def __init__(
        self,
        *,
        limit: int = 10,
        window: float = 3600.0,
        block: float = 3600.0,
        max_peers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.block, self.max_peers = limit, window, block, max_peers
        self.clock = clock
        self._wrong: dict[str, collections.deque[float]] = {}
        self._blocked: dict[str, float] = {}

    def blocked(self, peer: str | None) -> bool:
        key = peer_key(peer)
        until = self._blocked.get(key)
        if until is None:
            return False
        if self.clock() < until:
            return True
        del self._blocked[key]
        return False

    def wrong(self, peer: str | None) -> bool:
        """Count one wrong code from ``peer``; True when this one starts its block."""
        now, key = self.clock(), peer_key(peer)
        seen = self._wrong.setdefault(key, collections.deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        seen.append(now)
        if len(seen) >= self.limit:
            del self._wrong[key]
            self._blocked[key] = now + self.block
            return True
        if len(self._wrong) > self.max_peers:  # many peers: forget the stalest
            self._wrong.pop(next(iter(self._wrong)))
        if len(self._blocked) > self.max_peers:
            self._blocked.pop(next(iter(self._blocked)))
        return False

    async def screen(
        self, reader: Reader, peer: str | None, mailbox: str, plus: str | None
    ) -> str | None:
        """At RCPT: ``450`` for update mail from a peer that guessed too many codes (valid
        codes included, so the answer says nothing about a code), else ``None``; counts a
        wrong code. Raises ``StoreError`` when the code cannot be looked up."""
        if mailbox not in ("updates", "update"):
            return None
        if self.blocked(peer):
            return "450 4.7.1 Too many wrong personal codes from your address; try again later"
        code = update_code(mailbox, plus)
        if code is None or await reader.call(reader.person_by_mail_token, code) is not None:
            return None
        if self.wrong(peer):
            log.warning(
                "mail codes: %d wrong personal codes from %s within %d minutes; its update "
                "mail is answered 450 for the next %d minutes",
                self.limit,
                peer_key(peer) or "an unknown peer",
                self.window // 60,
                self.block // 60,
            )
        return None
