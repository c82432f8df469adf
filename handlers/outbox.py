"""The outbox folder: what could not be delivered, or had nowhere to go, kept as files.

Every channel falls back to it (a digest Slack could not take, mail the relay refused), so
nothing is lost and ``deliverabot digest --retry`` can send it again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from digests.digest import Digest
from digests.digest_render import render_digest
from handlers.service.delivery import DigestPoster, Sent
from store import utc_now

__all__ = ["Draft", "Outbox", "write_outbox"]

log = logging.getLogger("deliverabot.outbox")


def write_outbox(outbox: Path, name: str, data: bytes | str, suffix: str) -> Path:
    """Write one undeliverable item to the outbox folder; returns its path."""
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60] or "item"
    path = outbox / f"{stamp}-{slug}{suffix}"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


Draft = Callable[[str, Digest], tuple[str, str]]  # (target, digest) -> (file text, suffix)


class Outbox:
    """Digests kept as files, for a destination whose channel is off (no Slack credentials)
    or for the ``outbox`` destination itself: Markdown, or the channel's own draft (Slack's
    Block Kit JSON, say, from ``drafts``), and the chart beside it."""

    channel = "outbox"

    def __init__(self, folder: Path, *, drafts: Mapping[str, Draft] | None = None) -> None:
        self.folder = folder
        self.drafts = dict(drafts or {})

    def keep(self, name: str, data: bytes | str, suffix: str) -> Path:
        return write_outbox(self.folder, name, data, suffix)

    def for_channel(self, channel: str) -> DigestPoster:
        """What stands in for ``channel`` while it is off."""
        return _Kept(self, channel)

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        return await self.for_channel(self.channel).post_digest(target, digest, chart)


class _Kept:
    def __init__(self, outbox: Outbox, channel: str) -> None:
        self.outbox = outbox
        self.channel = channel

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        # Rendering (a quarter of a MB of Markdown at 100x an office) and the files: off the
        # event loop, so /healthz and Slack's acks never wait for them.
        return await asyncio.to_thread(self._keep, target, digest, chart)

    def _keep(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        name = f"digest-{digest.year}-W{digest.week:02d}"
        draft = self.outbox.drafts.get(self.channel)
        if draft is not None:
            text, suffix = draft(target, digest)
            path = self.outbox.keep(f"{name}-{self.channel}", text, suffix)
        else:
            path = self.outbox.keep(name, render_digest(digest, "markdown"), ".md")
        if chart:
            self.outbox.keep(name + "-chart", chart, ".png")
        log.info("digest written to the outbox: %s", path)
        return Sent(f"outbox {path}")
