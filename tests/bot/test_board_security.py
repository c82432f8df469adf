"""The HTTP server's own defences, against a real BotProcess on 127.0.0.1: crafted cookies and
dates, security headers on every answer (errors too), the Secure cookie behind a TLS proxy,
and the throttle on board token guessing."""

from __future__ import annotations

import hashlib
import hmac
import logging
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from board_harness import board_process

TOKEN = "board-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cache-Control",
)


@pytest.fixture
async def board(tmp_path: Path, example_plan: Path) -> AsyncIterator[str]:
    async with board_process(tmp_path, example_plan, token=TOKEN, note="A note.") as process:
        yield f"http://127.0.0.1:{process.http_port}"


@pytest.fixture
async def proxied(tmp_path: Path, example_plan: Path) -> AsyncIterator[str]:
    env = {"TRUST_PROXY": "true"}
    async with board_process(
        tmp_path, example_plan, token=TOKEN, note="A note.", env=env
    ) as process:
        yield f"http://127.0.0.1:{process.http_port}"


def _cookie(expires: str) -> str:
    mac = hmac.new(TOKEN.encode(), f"board:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def _assert_security_headers(response: aiohttp.ClientResponse, what: str) -> None:
    for name in HEADERS:
        assert name in response.headers, f"{what}: no {name}"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["Referrer-Policy"] == "no-referrer", what


# -- item 14: crafted input is a 4xx, never a 500 -------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        _cookie("²"),  # str.isdigit() is true, int() refuses it
        _cookie("٣٤٥٦٧٨٩٠١٢٣"),  # Arabic-Indic digits: int() takes them, the MAC is not ASCII
        _cookie("9" * 5000),  # past int()'s 4,300-digit limit
        "9" * 5000 + ".x",
        "١." + "é" * 64,
    ],
)
async def test_crafted_cookie_expiries_are_refused_not_a_500(board: str, value: str) -> None:
    cookie = {"Cookie": f"deliverabot_board={value}"}
    async with aiohttp.ClientSession() as s, s.get(f"{board}/board", headers=cookie) as r:
        body = await r.text()
        assert r.status == 401, body[:200]
        assert "CF-10" not in body
        _assert_security_headers(r, "crafted cookie")


@pytest.mark.parametrize(
    "query",
    [
        "from=2022-03-01&to=9999-12-31",
        "from=0001-01-01&to=2022-09-14",
        "from=9999-12-31&to=9999-12-31",
        "from=2022-03-01&to=3000-01-01&format=docx",
    ],
)
async def test_board_report_with_an_extreme_date_is_a_400(board: str, query: str) -> None:
    url = f"{board}/board/report?{query}"
    async with aiohttp.ClientSession(headers=BEARER) as s, s.get(url) as r:
        body = await r.text()
        assert r.status == 400, body[:300]
        assert "between" in body
        _assert_security_headers(r, "400")


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--from", "2022-03-01", "--to", "9999-12-31"],
        ["report", "--from", "0001-01-01", "--to", "2022-03-01"],
        ["stats", "--from", "2022-03-01", "--to", "9999-12-31"],
    ],
)
def test_cli_extreme_dates_are_one_clear_line(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path, args: list[str]
) -> None:
    subprocess.run([deliverabot_exe, "plan", "import", str(example_plan)], env=cli_env, check=True)
    done = subprocess.run([deliverabot_exe, *args], env=cli_env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any("between" in line for line in lines), done.stderr
    assert len(lines) <= 3, done.stderr


# -- item 15: security headers on every answer, and the Secure cookie -------------------------


async def test_every_answer_has_the_security_headers(board: str) -> None:
    async with aiohttp.ClientSession(headers=BEARER) as s:
        cases = [
            ("GET", "/nowhere", 404),
            ("GET", "/board/XX-99", 404),
            ("POST", "/board", 405),
            ("POST", "/healthz", 405),
            ("GET", "/board/report?from=nope", 400),
            ("GET", "/healthz", 200),
            ("GET", "/board", 200),
        ]
        for method, path, status in cases:
            async with s.request(method, board + path) as r:
                assert r.status == status, (method, path, r.status)
                _assert_security_headers(r, f"{method} {path} {status}")


async def test_an_unexpected_error_is_a_500_with_the_headers_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.web_security import security_middleware

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom at " + request.path)

    app = web.Application(middlewares=[security_middleware(trust_proxy=False)])
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with caplog.at_level(logging.DEBUG):
            url = f"http://127.0.0.1:{port}/broken"
            async with aiohttp.ClientSession() as s, s.get(url) as r:
                body = await r.text()
                assert r.status == 500
                assert "boom" not in body  # no internals to the client
                _assert_security_headers(r, "500")
    finally:
        await runner.cleanup()
    errors = [rec for rec in caplog.records if "RuntimeError" in rec.getMessage()]
    assert len(errors) == 1
    assert all(rec.exc_info is None for rec in caplog.records)  # one line, no traceback


async def test_cookie_is_secure_over_https_only_when_the_proxy_is_trusted(
    board: str, proxied: str
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{proxied}/board", headers={**BEARER, **https}) as r:
            assert r.status == 200
            assert "Secure" in r.headers["Set-Cookie"]
            assert "max-age=" in r.headers.get("Strict-Transport-Security", "")
        async with s.get(f"{proxied}/board", headers=BEARER) as r:  # plain http behind it
            assert "Secure" not in r.headers["Set-Cookie"]
        # Without TRUST_PROXY, anyone could send that header: it is never believed.
        async with s.get(f"{board}/board", headers={**BEARER, **https}) as r:
            assert r.status == 200
            assert "Secure" not in r.headers["Set-Cookie"]
            assert "Strict-Transport-Security" not in r.headers


# -- item 16: token guessing is throttled per peer, logged once -------------------------------


async def test_token_guessing_is_throttled_and_logged_once(
    board: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as reader:
        async with reader.get(f"{board}/board", headers=BEARER) as r:  # a reader signed in
            assert r.status == 200
        with caplog.at_level(logging.INFO):
            statuses = []
            async with aiohttp.ClientSession() as s:
                for i in range(60):
                    wrong = {"Authorization": f"Bearer guess-{i:020d}"}
                    async with s.get(f"{board}/board", headers=wrong) as r:
                        statuses.append(r.status)
                        if r.status == 429:
                            retry_after = int(r.headers["Retry-After"])
                            _assert_security_headers(r, "429")
                # Blocked: even the right token is refused now, so guessing gains nothing.
                async with s.get(f"{board}/board", headers=BEARER) as r:
                    assert r.status == 429
                async with s.get(f"{board}/board?token={TOKEN}") as r:
                    assert r.status == 429
            # The reader who already holds a session cookie is not locked out.
            async with reader.get(f"{board}/board") as r:
                assert r.status == 200
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    assert 60 <= retry_after <= 3600
    lines = [rec.getMessage() for rec in caplog.records if "127.0.0.1" in rec.getMessage()]
    assert len(lines) == 1, lines
    assert "board" in lines[0] and TOKEN not in lines[0]


async def test_throttle_peer_is_the_forwarded_address_only_with_trust_proxy(
    board: str, proxied: str
) -> None:
    async def guesses(base: str, forwarded_for: str, n: int) -> list[int]:
        out = []
        async with aiohttp.ClientSession() as s:
            for i in range(n):
                headers = {
                    "Authorization": f"Bearer guess-{i:020d}",
                    "X-Forwarded-For": forwarded_for,
                }
                async with s.get(f"{base}/board", headers=headers) as r:
                    out.append(r.status)
        return out

    # Behind a trusted proxy, one client's guesses do not lock out another client.
    assert (await guesses(proxied, "203.0.113.7", 12))[-1] == 429
    assert (await guesses(proxied, "198.51.100.9", 1)) == [401]
    # A client-supplied first hop is ignored: the proxy's own (rightmost) entry counts.
    assert (await guesses(proxied, "192.0.2.1, 203.0.113.7", 1)) == [429]
    # Without TRUST_PROXY, a made-up X-Forwarded-For does not escape the throttle.
    statuses = []
    for i in range(12):
        statuses += await guesses(board, f"192.0.2.{i}", 1)
    assert statuses[-1] == 429


def test_throttle_forgets_after_the_block() -> None:
    from bot.web_security import FailureThrottle

    now = [1000.0]
    throttle = FailureThrottle(limit=3, window=60, block=600, clock=lambda: now[0])
    started = [throttle.failure("a") for _ in range(3)]
    assert started == [False, False, True]  # one log line: when the block starts
    assert 599 <= throttle.blocked_for("a") <= 600
    assert throttle.blocked_for("b") == 0
    now[0] += 601
    assert throttle.blocked_for("a") == 0
    # Failures spread over more than the window never block.
    for _ in range(10):
        now[0] += 31
        assert throttle.failure("c") is False
    assert throttle.blocked_for("c") == 0


def test_throttle_memory_is_bounded() -> None:
    from bot.web_security import FailureThrottle

    throttle = FailureThrottle(limit=3, window=60, block=600, max_peers=100)
    for i in range(10_000):
        throttle.failure(f"peer-{i}")
    assert len(throttle) <= 100
