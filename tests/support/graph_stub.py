"""A stand-in for the part of Microsoft Graph the mailbox source uses, on 127.0.0.1: mail
folders, message delta queries (pages, delta links, 410 for an expired link), the raw
message (``$value``), move and mark read, ``429`` with ``Retry-After``, and bearer tokens
checked against the token stub."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from token_stub import TokenStub


class GraphStub:
    def __init__(self, tokens: TokenStub, user: str) -> None:
        self.tokens, self.user = tokens, user
        self.lock = threading.Lock()
        self.folders: dict[str, dict[str, Any]] = {"inbox": {"name": "Inbox", "messages": {}}}
        self.log: list[tuple[int, str, str]] = []  # (seq, folder, message id): additions
        self.seq = 0
        self.rounds: dict[str, list[str]] = {}  # a round's message ids, by its token
        self.expired: set[int] = set()
        self.throttle = 0  # answer the next N requests 429
        self.requests: list[str] = []
        self.read: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, headers: dict | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
                self.send_response(status)
                if not isinstance(body, bytes):
                    self.send_header("Content-Type", "application/json; odata.metadata=minimal")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                stub.requests.append(f"{method} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if token not in stub.tokens.active or stub.tokens.revoked:
                    self._send(
                        401,
                        {
                            "error": {
                                "code": "InvalidAuthenticationToken",
                                "message": "Access token has expired or is not yet valid.",
                            }
                        },
                    )
                    return
                if stub.throttle > 0:
                    stub.throttle -= 1
                    self._send(
                        429,
                        {"error": {"code": "TooManyRequests", "message": "throttled"}},
                        {"Retry-After": "1"},
                    )
                    return
                page = int(
                    re.search(r"maxpagesize=(\d+)", self.headers.get("Prefer") or "=10").group(1)
                )
                with stub.lock:
                    status, answer, headers = stub.route(method, self.path, body, page)
                self._send(status, answer, headers)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- what the test does -----------------------------------------------------------
    def add(self, raw: bytes, folder: str = "inbox", received: dt.datetime | None = None) -> str:
        with self.lock:
            mid = "AAMk" + secrets.token_urlsafe(12)
            when = (received or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.folders[folder]["messages"][mid] = (raw, when)
            self.seq += 1
            self.log.append((self.seq, folder, mid))
            return mid

    def count(self, name: str) -> int:
        return sum(len(f["messages"]) for f in self.folders.values() if f["name"] == name)

    def expire_delta_links(self) -> None:
        self.expired.update(range(self.seq + 1))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- Graph ------------------------------------------------------------------------
    def route(self, method: str, path: str, body: dict, page: int) -> tuple[int, Any, dict]:
        parts = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        prefix = f"/v1.0/users/{urllib.parse.quote(self.user)}/"
        rest = urllib.parse.unquote(parts.path).removeprefix(urllib.parse.unquote(prefix))
        if rest == "mailFolders" and method == "GET":
            name = re.search(r"displayName eq '(.*)'", query.get("$filter", ""))
            hits = [
                {"id": fid, "displayName": f["name"]}
                for fid, f in self.folders.items()
                if name and f["name"] == name.group(1).replace("''", "'")
            ]
            return 200, {"value": hits}, {}
        if rest == "mailFolders" and method == "POST":
            fid = "AAMkFolder" + secrets.token_hex(4)
            self.folders[fid] = {"name": body["displayName"], "messages": {}}
            return 201, {"id": fid, "displayName": body["displayName"]}, {}
        m = re.fullmatch(r"mailFolders/([^/]+)/messages/delta", rest)
        if m:
            return self._delta(m.group(1), query, page)
        m = re.fullmatch(r"messages/([^/]+)(/\$value|/move)?", rest)
        if m:
            return self._message(method, m.group(1), m.group(2), body)
        return 404, {"error": {"code": "ResourceNotFound", "message": rest}}, {}

    def _find(self, mid: str) -> str | None:
        return next((fid for fid, f in self.folders.items() if mid in f["messages"]), None)

    def _message(
        self, method: str, mid: str, what: str | None, body: dict
    ) -> tuple[int, Any, dict]:
        fid = self._find(mid)
        if fid is None:
            return 404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}}, {}
        if what == "/$value":
            return 200, self.folders[fid]["messages"][mid][0], {"Content-Type": "message/rfc822"}
        if what == "/move":
            item = self.folders[fid]["messages"].pop(mid)
            new = "AAMk" + secrets.token_urlsafe(12)
            self.folders[body["destinationId"]]["messages"][new] = item
            return 201, {"id": new}, {}
        if method == "PATCH":
            self.read.add(mid)
            return 200, {"id": mid, "isRead": True}, {}
        return 405, {}, {}

    def _delta(self, fid: str, query: dict, page: int) -> tuple[int, Any, dict]:
        base = f"{self.url}/v1.0/users/{urllib.parse.quote(self.user)}/mailFolders/{fid}/messages/delta"
        if "$skiptoken" in query:
            round_id, offset = query["$skiptoken"].split(".")
            ids, end = self.rounds[round_id], int(offset)
        else:
            if "$deltatoken" in query:
                since = int(query["$deltatoken"])
                if since in self.expired:
                    return 410, {"error": {"code": "SyncStateNotFound", "message": "expired"}}, {}
                ids = [mid for seq, f, mid in self.log if f == fid and seq > since]
            else:
                after = re.search(r"receivedDateTime ge (\S+)", query.get("$filter", ""))
                ids = [
                    mid
                    for _, f, mid in self.log
                    if f == fid and (after is None or self._when(mid) >= after.group(1))
                ]
            ids = [mid for mid in ids if mid in self.folders[fid]["messages"]]
            round_id = secrets.token_hex(4)
            self.rounds[round_id] = [*ids, f"@seq={self.seq}"]
            ids, end = self.rounds[round_id], 0
        chunk = [i for i in ids[end : end + page] if not i.startswith("@seq=")]
        value = [{"id": mid, "receivedDateTime": self._when(mid)} for mid in chunk]
        if end + page < len(ids) - 1:
            return (
                200,
                {"value": value, "@odata.nextLink": f"{base}?$skiptoken={round_id}.{end + page}"},
                {},
            )
        seq = ids[-1].removeprefix("@seq=")
        return 200, {"value": value, "@odata.deltaLink": f"{base}?$deltatoken={seq}"}, {}

    def _when(self, mid: str) -> str:
        for f in self.folders.values():
            if mid in f["messages"]:
                return str(f["messages"][mid][1])
        return ""
