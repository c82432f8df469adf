"""Microsoft 365 sign-in without a user: msal's client-credentials flow against a stub
authority on 127.0.0.1, and XOAUTH2 against Dovecot's oauth2 passdb (which asks the stub's
token introspection)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from certs import make_certificate
from dovecot import USER, Dovecot, free_port, missing_reason
from token_stub import CLIENT_ID, CLIENT_SECRET, SCOPE, TENANT, TokenStub

from bot.config import load_settings
from bot.server import BotProcess
from handlers.mail import InboundWorker, MailHandler, MailPolicy
from handlers.mail.mailbox import FolderRoute, MailboxConfig, MailboxSource
from handlers.mail.mailbox_auth import MsalTokens, SignInError, XOAuth2Login
from handlers.mail.mailbox_imap import ImapServer
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import Store, open_store

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return make_certificate(tmp_path)


@pytest.fixture
def stub(cert: tuple[Path, Path]) -> Iterator[TokenStub]:
    server = TokenStub(*cert, user=USER)
    yield server
    server.close()


@pytest.fixture
def dovecot(stub: TokenStub) -> Iterator[Dovecot]:
    server = Dovecot(introspection_url=stub.introspection_url)
    server.start()
    yield server
    server.close()


def _letter(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "resident@gmail.com"
    msg["Subject"] = f"Letter {n}"
    msg["Date"] = "Mon, 05 Sep 2022 10:00:00 +0100"
    msg["Message-ID"] = f"<oauth-{n}@gmail.com>"
    msg.set_content("About the lights.")
    return msg.as_bytes()


def _tokens(stub: TokenStub, ca: Path, **kwargs: object) -> MsalTokens:
    options: dict[str, object] = {"secret": CLIENT_SECRET, **kwargs}
    return MsalTokens(
        tenant=TENANT,
        client_id=CLIENT_ID,
        authority=stub.authority,
        ca_file=ca,
        **options,  # type: ignore[arg-type]
    )


def _store(tmp_path: Path, example_plan: Path) -> Store:
    store = open_store(tmp_path / "oauth.db")
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    return store


def _sync(dovecot: Dovecot, store: Store, tokens: MsalTokens) -> int:
    config = MailboxConfig(
        server=ImapServer("127.0.0.1", dovecot.port, "starttls", timeout=10),
        account=f"{USER}@127.0.0.1",
        folders=(FolderRoute("INBOX", "correspondence@localhost"),),
    )
    source = MailboxSource(config, writer=Writer(store), login=XOAuth2Login(USER, tokens))
    policy = MailPolicy(mail_domain="localhost", hash_key=b"k")

    async def go() -> int:
        handler = MailHandler(InboundWorker(Writer(store), policy))
        return await source.sync_once(handler.worker.take)

    return asyncio.run(go())


def _counted(store: Store) -> int:
    return store.correspondence_count()


def test_a_good_token_logs_in(
    dovecot: Dovecot, stub: TokenStub, cert: tuple[Path, Path], tmp_path: Path, example_plan: Path
) -> None:
    store = _store(tmp_path, example_plan)
    dovecot.append([_letter(1)])
    assert _sync(dovecot, store, _tokens(stub, cert[0])) == 1
    assert _counted(store) == 1
    assert len(stub.issued) == 1
    grant = stub.grants[0]
    assert grant["grant_type"] == "client_credentials" and grant["scope"] == SCOPE
    assert "method=XOAUTH2" in dovecot.log()


def test_a_certificate_signs_in_instead_of_a_secret(
    dovecot: Dovecot, stub: TokenStub, cert: tuple[Path, Path], tmp_path: Path, example_plan: Path
) -> None:
    pem = tmp_path / "app.pem"  # the app's certificate and its key, as uploaded to Entra ID
    pem.write_text(cert[1].read_text() + cert[0].read_text())
    store = _store(tmp_path, example_plan)
    dovecot.append([_letter(1)])
    tokens = _tokens(stub, cert[0], secret=None, cert_file=pem)
    assert _sync(dovecot, store, tokens) == 1
    assert "client_secret" not in stub.grants[0]
    assert stub.grants[0]["client_assertion_type"].endswith("jwt-bearer")


def test_an_expired_token_is_refreshed(
    dovecot: Dovecot, stub: TokenStub, cert: tuple[Path, Path], tmp_path: Path, example_plan: Path
) -> None:
    store = _store(tmp_path, example_plan)
    tokens = _tokens(stub, cert[0])
    dovecot.append([_letter(1)])
    assert _sync(dovecot, store, tokens) == 1
    first = stub.issued[-1]
    assert tokens.token() == first  # msal hands back its cached token while it is valid
    stub.expire(first)  # the server no longer takes it
    dovecot.append([_letter(2)])
    assert _sync(dovecot, store, tokens) == 1
    assert len(stub.issued) == 2 and stub.issued[-1] != first
    assert _counted(store) == 2


def test_a_wrong_secret_is_a_clear_error_without_the_secret(
    stub: TokenStub, cert: tuple[Path, Path]
) -> None:
    with pytest.raises(SignInError) as err:
        _tokens(stub, cert[0], secret="not-the-secret").token()
    text = str(err.value)
    assert "invalid_client" in text and "AADSTS7000215" in text and CLIENT_ID in text
    assert "not-the-secret" not in text


async def _get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        return r.status, json.loads(await r.text())


def test_a_revoked_token_is_a_clear_error_on_healthz_and_in_the_log(
    dovecot: Dovecot,
    stub: TokenStub,
    cert: tuple[Path, Path],
    tmp_path: Path,
    example_plan: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _store(tmp_path, example_plan).close()
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(tmp_path / "oauth.db"),
            "PORT": str(free_port()),
            "SMTP_PORT": str(free_port()),
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "MAILBOX_URL": dovecot.url(),
            "MAILBOX_AUTH": "xoauth2",
            "MAILBOX_TENANT": TENANT,
            "MAILBOX_CLIENT_ID": CLIENT_ID,
            "MAILBOX_CLIENT_SECRET": CLIENT_SECRET,
            "MAILBOX_AUTHORITY": stub.authority,
            "MAILBOX_CA_FILE": str(cert[0]),
        },
        env_file=None,
    )
    stub.revoked = True  # the app's access was withdrawn: every token is refused

    async def go() -> tuple[int, dict]:
        process = BotProcess(settings=settings, store=open_store(settings.db_path))
        await process.start()
        try:
            assert process.mailbox is not None
            for _ in range(200):
                if process.mailbox.health["INBOX"].sign_in:
                    break
                await asyncio.sleep(0.05)
            return await _get(f"http://127.0.0.1:{process.http_port}/healthz")
        finally:
            await process.stop()

    with caplog.at_level(logging.DEBUG):
        status, body = asyncio.run(go())
    assert status == 503 and body["status"] == "degraded"
    assert "refused a new token" in body["reason"] and USER in body["reason"]
    assert "IMAP.AccessAsApp" in body["reason"]
    assert stub.issued, "no token was asked for"
    logged = caplog.text + json.dumps(body)
    assert "refused a new token" in caplog.text
    for token in stub.issued:
        assert token not in logged
        assert token.split(".")[1] not in logged
    assert CLIENT_SECRET not in logged
