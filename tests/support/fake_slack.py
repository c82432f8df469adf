"""A fake Slack Web API on 127.0.0.1 that records every call.

Point the Slack client's ``base_url`` at ``fake.api_url``. Each call is kept in
``fake.calls`` as ``(method, params)``. ``fake.fail_next(method, status, headers)`` makes the
next call to ``method`` fail once (for example a 429 with ``Retry-After``);
``fake.delay_next(method, seconds)`` makes it answer late. Payloads posted to
``response_url``s (``fake.response_url(name)``) land in ``fake.responses``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

from aiohttp import web


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers signed with Slack's v0 scheme: HMAC-SHA256 over ``v0:{ts}:{body}``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


class FakeSlack:
    def __init__(self, *, users: dict[str, str] | None = None) -> None:
        self.users = users or {}  # Slack user id -> email
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.attempts: dict[str, int] = {}
        self._failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self._delays: dict[str, list[float]] = {}
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Condition()
        self.socket_acks: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        # Where files go; point it at a closed port to make the upload fail at the network.
        self.upload_base: str | None = None
        self._sockets: list[web.WebSocketResponse] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def fail_next(
        self, method: str, status: int = 429, headers: dict[str, str] | None = None
    ) -> None:
        self._failures.setdefault(method, []).append((status, headers or {}))

    def delay_next(self, method: str, seconds: float) -> None:
        """The next call to ``method`` answers as usual, but only after ``seconds``."""
        self._delays.setdefault(method, []).append(seconds)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method]

    async def wait_for(self, predicate: Any, timeout: float = 10) -> Any:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)
        return predicate()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping.set()
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            return params
        raw = await request.text()
        if request.content_type == "application/json":
            return {**params, **json.loads(raw or "{}")}
        params.update(urllib.parse.parse_qsl(raw))
        for key in ("view", "blocks"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.attempts[method] = self.attempts.get(method, 0) + 1
        delays = self._delays.get(method)
        if delays:
            with contextlib.suppress(TimeoutError):  # stop() ends the wait early
                await asyncio.wait_for(self._stopping.wait(), delays.pop(0))
        failures = self._failures.get(method)
        if failures:
            status, headers = failures.pop(0)
            if status <= 0:
                # 0: hang 3 s (past a short client timeout), then fail without recording;
                # -1: slow, 3 s, then answer as usual.
                await asyncio.sleep(3)
            if status != -1:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=status or 500, headers=headers
                )
        async with self.changed:
            self.calls.append((method, params))
            self.changed.notify_all()
        return web.json_response(self._answer(method, params))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then relay envelopes and collect the app's acks."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
        )
        async with self.changed:
            self.changed.notify_all()
        async for msg in ws:
            if msg.type.name == "TEXT":
                async with self.changed:
                    self.socket_acks.append(json.loads(msg.data))
                    self.changed.notify_all()
        return ws

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        await self.wait_for(lambda: self._sockets)
        await self._sockets[-1].send_json(envelope)

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        async with self.changed:
            self.uploads[request.match_info["file_id"]] = data
            self.changed.notify_all()
        return web.Response(text=f"OK - {len(data)}")

    async def _respond(self, request: web.Request) -> web.Response:
        payload = await request.json()
        async with self.changed:
            self.responses.append((request.match_info["name"], payload))
            self.changed.notify_all()
        return web.Response(text="ok")

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": "T1",
                "team": "OPCC",
            }
        if method == "users.info":
            uid = params.get("user", "")
            if uid not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": uid, "profile": {"email": self.users[uid]}}}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": f"V{len(self.calls)}", **(params.get("view") or {})}}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}"}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://opcc.slack.com/archives/{params.get('channel')}/p{params.get('message_ts', '').replace('.', '')}",
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.calls)}"
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"{self.upload_base or f'http://127.0.0.1:{self.port}/upload'}/{file_id}",
            }
        if method == "files.completeUploadExternal":
            files = (
                json.loads(params.get("files", "[]"))
                if isinstance(params.get("files"), str)
                else params.get("files", [])
            )
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "X"))}}
        return {"ok": True}
