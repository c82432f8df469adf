"""The mailbox through Microsoft Graph, against a Graph stub and the stub authority on
127.0.0.1 (msal's real client-credentials flow, real HTTP)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from certs import make_certificate
from graph_stub import GraphStub
from token_stub import CLIENT_ID, CLIENT_SECRET, TENANT, TokenStub

from bot.config import load_settings
from bot.wiring import mailbox_source
from handlers.mail import InboundWorker, MailHandler, MailPolicy
from handlers.mail.mailbox_auth import SignInError
from handlers.mail.mailbox_graph import GraphSource
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import Store, open_store

USER = "correspondence@opcc.example.org"


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[tuple[TokenStub, GraphStub, Path]]:
    cert, key = make_certificate(tmp_path)
    tokens = TokenStub(cert, key, user=USER)
    graph = GraphStub(tokens, USER)
    yield tokens, graph, cert
    graph.close()
    tokens.close()


def _letter(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <r{n}@gmail.com>"
    msg["Subject"] = f"Letter {n}"
    msg["Date"] = "Mon, 05 Sep 2022 10:00:00 +0100"
    msg["Message-ID"] = f"<graph-{n}@gmail.com>"
    msg.set_content(f"About the lights, {n}.")
    return msg.as_bytes()


def _source(
    stubs: tuple[TokenStub, GraphStub, Path], tmp_path: Path, example_plan: Path, **env: str
) -> tuple[GraphSource, Store]:
    tokens, graph, cert = stubs
    settings = load_settings(
        {
            "MAILBOX_URL": f"graph://{USER}/Inbox",
            "MAILBOX_GRAPH_URL": graph.url,
            "MAILBOX_TENANT": TENANT,
            "MAILBOX_CLIENT_ID": CLIENT_ID,
            "MAILBOX_CLIENT_SECRET": CLIENT_SECRET,
            "MAILBOX_AUTHORITY": tokens.authority,
            "MAILBOX_CA_FILE": str(cert),
            "MAILBOX_SINCE": "2022-04-01",
            **env,
        },
        env_file=None,
    )
    store = open_store(tmp_path / "graph.db")
    if not store.people():
        import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    source = mailbox_source(settings, Writer(store))
    assert isinstance(source, GraphSource)
    return source, store


def _sync(source: GraphSource, store: Store) -> int:
    async def go() -> int:
        handler = MailHandler(
            InboundWorker(Writer(store), MailPolicy(mail_domain="localhost", hash_key=b"k"))
        )
        return await source.sync_once(handler.worker.take)

    return asyncio.run(go())


def test_a_first_sync_pages_through_delta_and_moves_to_processed(
    stubs: tuple[TokenStub, GraphStub, Path], tmp_path: Path, example_plan: Path
) -> None:
    tokens, graph, _ = stubs
    for n in range(3):  # before MAILBOX_SINCE: left alone
        graph.add(_letter(100 + n), received=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    for n in range(120):
        graph.add(_letter(n), received=dt.datetime(2022, 9, 5, tzinfo=dt.UTC))
    source, store = _source(stubs, tmp_path, example_plan)
    assert _sync(source, store) == 120
    assert store.correspondence_count() == 120
    assert graph.count("Processed") == 120 and graph.count("Inbox") == 3
    assert sum("$skiptoken" in r for r in graph.requests) >= 2  # pages of 50
    assert tokens.grants[0]["scope"] == "https://graph.microsoft.com/.default"
    # The next round starts from the delta link: only what is new.
    graph.add(_letter(500))
    assert _sync(source, store) == 1
    assert store.correspondence_count() == 121


def test_retry_after_is_waited_out(
    stubs: tuple[TokenStub, GraphStub, Path],
    tmp_path: Path,
    example_plan: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, graph, _ = stubs
    for n in range(5):
        graph.add(_letter(n))
    source, store = _source(stubs, tmp_path, example_plan)
    graph.throttle = 2
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert _sync(source, store) == 5
    assert time.monotonic() - started >= 2  # Retry-After: 1, twice
    assert caplog.text.count("Graph says wait 1 s") == 2
    assert store.correspondence_count() == 5


def test_an_expired_delta_link_starts_a_new_full_sync_and_counts_nothing_twice(
    stubs: tuple[TokenStub, GraphStub, Path], tmp_path: Path, example_plan: Path
) -> None:
    _, graph, _ = stubs
    for n in range(10):
        graph.add(_letter(n))
    source, store = _source(stubs, tmp_path, example_plan, MAILBOX_AFTER="seen")
    assert _sync(source, store) == 10
    assert len(graph.read) == 10 and graph.count("Inbox") == 10  # marked read, left there
    graph.expire_delta_links()
    graph.add(_letter(10))
    assert _sync(source, store) == 1  # the ten are known; only the new one is taken
    assert store.correspondence_count() == 11
    assert any("deltatoken" in r for r in graph.requests)


def test_a_revoked_app_is_a_clear_error(
    stubs: tuple[TokenStub, GraphStub, Path], tmp_path: Path, example_plan: Path
) -> None:
    tokens, graph, _ = stubs
    graph.add(_letter(1))
    source, store = _source(stubs, tmp_path, example_plan)
    assert _sync(source, store) == 1
    tokens.revoked = True
    graph.add(_letter(2))
    with pytest.raises(SignInError) as err:
        _sync(source, store)
    assert "Graph refused the app" in str(err.value) and "Mail.ReadWrite" in str(err.value)
    assert not any(t in str(err.value) for t in tokens.issued)


def test_serve_polls_graph(
    stubs: tuple[TokenStub, GraphStub, Path], tmp_path: Path, example_plan: Path
) -> None:
    _, graph, _ = stubs
    source, store = _source(stubs, tmp_path, example_plan, MAILBOX_POLL_SECONDS="1")
    source.config = dataclasses.replace(source.config, poll_seconds=0.2)
    handler = MailHandler(
        InboundWorker(Writer(store), MailPolicy(mail_domain="localhost", hash_key=b"k"))
    )

    async def go() -> None:
        task = asyncio.create_task(source.run(handler.worker.take))
        for _ in range(100):
            if source.health["Inbox"].contact is not None:
                break
            await asyncio.sleep(0.05)
        graph.add(_letter(1))
        for _ in range(100):
            if store.correspondence_count() == 1:
                break
            await asyncio.sleep(0.05)
        source.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert store.correspondence_count() == 1
    assert source.problem() is None
