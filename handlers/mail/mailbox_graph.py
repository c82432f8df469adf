"""The office's mailbox through Microsoft Graph: a second way in beside IMAP, plain REST
with ``aiohttp`` and a token from ``msal`` (not the very large Graph SDK).

Each folder is followed with delta queries (only mail received since ``MAILBOX_SINCE`` on
the first round); the delta link is kept in the store, a ``410`` starts a new full round,
and ``429``/``503`` wait as ``Retry-After`` says. Each message is committed exactly once
(its Graph id is part of the commit), then moved to Processed or marked read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import urllib.parse
from typing import Any

import aiohttp

from handlers.mail.inbound import Envelope
from handlers.mail.mailbox import FolderRoute, Progress, SourceBase, Submit
from handlers.mail.mailbox_auth import SignInError, TokenSource
from handlers.mail.mailbox_imap import throttle_seconds
from handlers.mail.trust import MAILBOX_PEER
from handlers.service import MailboxKey, mailbox_marked, save_mailbox_cursor

__all__ = ["GRAPH_SCOPE", "GraphError", "GraphSource", "graph_uid"]

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PAGE_SIZE = 50
RETRIES = 5  # throttled answers waited out before giving up on a request
WELL_KNOWN = {"inbox", "archive", "junkemail", "drafts", "sentitems", "deleteditems"}


class GraphError(Exception):
    """Graph answered with an error (not a throttle, which is waited out)."""


class _DeltaExpired(Exception):
    """``410 Gone``: the delta link is too old; a new full round is needed."""


def graph_uid(item: str) -> int:
    """A stable 63-bit number for a Graph message id (the store's UID column)."""
    return int.from_bytes(hashlib.sha256(item.encode()).digest()[:8], "big") >> 1


class GraphSource(SourceBase):
    """Reads the configured folders through Graph and hands each message to ``submit``."""

    def __init__(self, config: Any, *, writer: Any, tokens: TokenSource, base_url: str, **kw: Any):
        super().__init__(config, writer=writer, **kw)
        self.tokens = tokens
        user = urllib.parse.quote(config.account)
        self.base = f"{base_url.rstrip('/')}/v1.0/users/{user}"
        self._token: str | None = None
        self._folder_ids: dict[str, str] = {}

    # -- HTTP ----------------------------------------------------------------------------
    async def _token_now(self, fresh: bool = False) -> str:
        if fresh or self._token is None:
            self._token = await asyncio.to_thread(self.tokens.token, fresh=fresh)
        return self._token

    async def _call(
        self, http: aiohttp.ClientSession, method: str, url: str, body: Any = None
    ) -> Any:
        """JSON (or bytes for ``$value``); a refused token is replaced once, throttling is
        waited out (``Retry-After``), ``410`` raises :class:`_DeltaExpired`."""
        refreshed = False
        for _ in range(RETRIES):
            headers = {
                "Authorization": f"Bearer {await self._token_now()}",
                "Prefer": f"odata.maxpagesize={PAGE_SIZE}",
            }
            async with http.request(method, url, json=body, headers=headers) as r:
                if r.status in (429, 503, 504):
                    wait = float(r.headers.get("Retry-After") or 30)
                    log.warning("mailbox %s: Graph says wait %.0f s", self.config.account, wait)
                    await asyncio.sleep(min(wait, 300))
                    continue
                if r.status == 401 and not refreshed:
                    refreshed = True
                    await self._token_now(fresh=True)
                    continue
                if r.status == 410:
                    raise _DeltaExpired()
                if r.status >= 400:
                    raise self._error(r.status, await r.text())
                if url.endswith("/$value"):
                    return await r.read()
                return await r.json(content_type=None) if r.status != 204 else None
        raise GraphError(f"Graph kept answering 'wait' to {method} {url.split('?')[0]}")

    def _error(self, status: int, text: str) -> Exception:
        try:
            error = json.loads(text).get("error", {})
        except ValueError:
            error = {}
        if not isinstance(error, dict):
            error = {}
        what = f"{status} {error.get('code', '')}: {str(error.get('message', ''))[:200]}"
        if status in (401, 403):
            return SignInError(
                f"Graph refused the app for {self.config.account} ({what}); check the app's "
                "Mail.ReadWrite permission and the access policy for this mailbox"
            )
        return GraphError(what)

    # -- folders -------------------------------------------------------------------------
    async def _folder_id(self, http: aiohttp.ClientSession, name: str, create: bool) -> str:
        if name in self._folder_ids:
            return self._folder_ids[name]
        if name.lower() in WELL_KNOWN:
            found: str | None = name.lower()
        else:
            quoted = name.replace("'", "''")
            url = f"{self.base}/mailFolders?$filter=displayName eq '{quoted}'"
            hits = (await self._call(http, "GET", url))["value"]
            found = hits[0]["id"] if hits else None
            if found is None and create:
                made = await self._call(
                    http, "POST", f"{self.base}/mailFolders", {"displayName": name}
                )
                found = made["id"]
            if found is None:
                raise GraphError(f"no folder {name!r} in {self.config.account}")
        self._folder_ids[name] = str(found)
        return str(found)

    # -- running -------------------------------------------------------------------------
    async def run(self, submit: Submit) -> None:
        """Poll every folder every ``poll_seconds`` until cancelled (or :meth:`stop`)."""
        self._stop.clear()
        await asyncio.gather(*(self._watch(route, submit) for route in self.config.folders))

    async def sync_once(self, submit: Submit, *, progress: Progress | None = None) -> int:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            total = 0
            for route in self.config.folders:
                total += await self._sync(http, route, submit, progress)
                self._contact(route.folder)
            return total

    async def _watch(self, route: FolderRoute, submit: Submit) -> None:
        backoff = 1.0
        health = self.health[route.folder]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            while not self._stop.is_set():
                try:
                    await self._sync(http, route, submit, None)
                    self._contact(route.folder)
                    backoff, delay = 1.0, self.config.poll_seconds
                except SignInError as exc:
                    health.error, health.sign_in = str(exc), True
                    log.error("mailbox %s: %s", self.config.account, exc)
                    delay = 300.0
                except Exception as exc:  # network, Graph errors: try again, longer each time
                    health.error = f"{type(exc).__name__}: {exc}"[:300]
                    delay = throttle_seconds(str(exc)) or backoff
                    backoff = min(backoff * 2, 300.0)
                    log.warning(
                        "mailbox %s %s (Graph): %s; again in %.0f s",
                        self.config.account,
                        route.folder,
                        health.error,
                        delay,
                    )
                await asyncio.get_running_loop().run_in_executor(None, self._stop.wait, delay)

    async def _sync(
        self,
        http: aiohttp.ClientSession,
        route: FolderRoute,
        submit: Submit,
        progress: Progress | None,
    ) -> int:
        """One delta round: commit each new message, mark it, keep the delta link."""
        c, reader, folder = self.config, self.reader, route.folder
        folder_id = await self._folder_id(http, folder, create=False)
        processed = await self._folder_id(http, c.processed, create=True)
        before = self._leftovers_before(folder)
        left = await reader.call(reader.mailbox_unmarked_items, c.account, folder, before=before)
        for _, item in left:
            await self._mark(http, folder, item, processed)  # committed by a run that stopped
        state = await reader.call(reader.mailbox_folder, c.account, folder)
        url = state["cursor"] if state and state["cursor"] else self._first_url(folder_id)
        taken = 0
        while True:
            try:
                page = await self._call(http, "GET", url)
            except _DeltaExpired:
                log.warning(
                    "mailbox %s %s: the delta link expired; reading again", c.account, folder
                )
                url = self._first_url(folder_id)
                continue
            items = [m for m in page.get("value", []) if "@removed" not in m]
            if progress is not None and items:
                progress.total = (progress.total or 0) + len(items)
                progress.refresh()
            for message in items:
                taken += await self._take(http, route, message, submit, processed)
                if progress is not None:
                    progress.update(1)
            if "@odata.nextLink" in page:
                url = page["@odata.nextLink"]
                continue
            now = self.clock()
            await self.writer.call(
                save_mailbox_cursor, c.account, folder, page.get("@odata.deltaLink"), now
            )
            return taken

    def _first_url(self, folder_id: str) -> str:
        url = f"{self.base}/mailFolders/{folder_id}/messages/delta?$select=id,receivedDateTime"
        if self.config.since is not None:
            url += f"&$filter=receivedDateTime ge {self.config.since.isoformat()}T00:00:00Z"
        return url

    async def _take(
        self,
        http: aiohttp.ClientSession,
        route: FolderRoute,
        message: dict[str, Any],
        submit: Submit,
        processed: str,
    ) -> int:
        item = str(message["id"])
        key = MailboxKey(self.config.account, route.folder, 0, graph_uid(item), item)
        if await self.reader.call(self.reader.mailbox_taken, key.account, key.folder, 0, key.uid):
            return 0
        raw = await self._call(http, "GET", f"{self.base}/messages/{item}/$value")
        when = _when(message.get("receivedDateTime"))
        envelope = Envelope(None, (route.rcpt,), MAILBOX_PEER, "mailbox", key=key, received_at=when)
        taken, _ = await submit(raw, envelope)
        if not taken:
            return 0  # another poller took it just now, and marks it
        await self._mark(http, route.folder, item, processed)
        return 1

    async def _mark(
        self, http: aiohttp.ClientSession, folder: str, item: str, processed: str
    ) -> None:
        c = self.config
        try:
            if c.after == "move":
                await self._call(
                    http, "POST", f"{self.base}/messages/{item}/move", {"destinationId": processed}
                )
            else:
                await self._call(http, "PATCH", f"{self.base}/messages/{item}", {"isRead": True})
        except GraphError as exc:
            if not str(exc).startswith("404"):  # gone already (moved by another poller)
                raise
        uid = graph_uid(item)
        await self.writer.call(mailbox_marked, c.account, folder, 0, [uid], self.clock())


def _when(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
