"""What every HTTP answer of ``serve`` shares: security headers (errors included), who the
peer is and whether the request came over HTTPS (believing a proxy's ``X-Forwarded-*`` only
with ``TRUST_PROXY``), and a throttle for repeated failures such as board token guesses.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = [
    "SECURITY_HEADERS",
    "FailureThrottle",
    "client_peer",
    "is_https",
    "security_middleware",
]

log = logging.getLogger("deliverabot.http")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= must never leave in a Referer
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000"  # only sent on answers that went out over HTTPS
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _last_value(request: web.Request, name: str) -> str:
    """The proxy's own entry: the last of a comma-separated header (earlier entries came
    from the client and can say anything)."""
    values = ",".join(request.headers.getall(name, []))
    parts = [p.strip() for p in values.split(",") if p.strip()]
    return parts[-1] if parts else ""


def is_https(request: web.Request, trust_proxy: bool) -> bool:
    if request.secure:
        return True
    return trust_proxy and _last_value(request, "X-Forwarded-Proto").lower() == "https"


def client_peer(request: web.Request, trust_proxy: bool) -> str:
    """The address to hold a client to: the TCP peer, or behind a trusted proxy the address
    the proxy saw. IPv6 addresses count by their /64, which one client usually holds."""
    peer = request.remote or "unknown"
    if trust_proxy:
        peer = _last_value(request, "X-Forwarded-For") or peer
    try:
        address = ipaddress.ip_address(peer.strip("[]"))
    except ValueError:
        return peer[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _stamp(headers: Any, request: web.Request, trust_proxy: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if is_https(request, trust_proxy):
        headers.setdefault("Strict-Transport-Security", HSTS)


def security_middleware(*, trust_proxy: bool) -> Any:
    """The outermost middleware: every answer (200, 4xx and an unexpected 500 alike) gets
    the security headers; an unexpected error is one log line, never a traceback, and the
    client learns nothing of it."""

    @web.middleware
    async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _stamp(exc.headers, request, trust_proxy)
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error(
                "%s %s failed: %s: %s",
                request.method,
                request.path[:100],
                type(exc).__name__,
                str(exc)[:200],
            )
            response = web.Response(status=500, text="Internal error; it has been logged.")
        if not response.prepared:
            _stamp(response.headers, request, trust_proxy)
        return response

    return stamp


class FailureThrottle:
    """Counts failures per peer; ``limit`` failures within ``window`` seconds block that
    peer for ``block`` seconds. Memory is bounded: at most ``max_peers`` peers are
    remembered (the least recently seen are forgotten first)."""

    def __init__(
        self,
        *,
        limit: int = 10,
        window: float = 60.0,
        block: float = 600.0,
        max_peers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.block = limit, window, block
        self.max_peers = max_peers
        self.clock = clock
        # peer -> (recent failure times, blocked until)
        self._peers: collections.OrderedDict[str, tuple[collections.deque[float], float]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._peers)

    def blocked_for(self, peer: str) -> float:
        """Seconds left on this peer's block, 0 when it is not blocked."""
        entry = self._peers.get(peer)
        if entry is None:
            return 0.0
        return max(0.0, entry[1] - self.clock())

    def failure(self, peer: str) -> bool:
        """Record one failure; ``True`` when it starts a block (log it then, once)."""
        now = self.clock()
        times, until = self._peers.pop(peer, (collections.deque(maxlen=self.limit), 0.0))
        self._peers[peer] = (times, until)
        while len(self._peers) > self.max_peers:
            self._peers.popitem(last=False)
        if until > now:
            return False
        times.append(now)
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            times.clear()
            self._peers[peer] = (times, now + self.block)
            return True
        return False
