"""Pure mail-reading rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.mail import MailPolicy, classify_address, process_inbound
from handlers.mail.parse import (
    category_for,
    keyed_hash,
    normalise_subject,
    parse_category_rules,
    parse_message,
    strip_quoted,
)
from store import Store


def test_classify_address() -> None:
    assert classify_address("correspondence@localhost", "localhost") == ("correspondence", None)
    assert classify_address("<correspondence+MP@LocalHost>", "localhost") == (
        "correspondence",
        "MP",
    )
    assert classify_address("update+CF-3@localhost", "localhost") == ("update", "CF-3")
    assert classify_address("update@localhost", "localhost") == ("updates", None)
    assert classify_address("postmaster@localhost", "localhost") == ("postmaster", None)
    assert classify_address("sales@localhost", "localhost") is None
    assert classify_address("correspondence@evil.example", "localhost") is None


def test_category_order() -> None:
    rules = parse_category_rules("parliament.uk=mp, *.gov.uk=partner")
    assert (
        category_for(plus="foi", subject="[media] x", sender_domain="parliament.uk", rules=rules)
        == "foi"
    )
    assert (
        category_for(
            plus=None, subject="Fwd: [Media] x", sender_domain="parliament.uk", rules=rules
        )
        == "media"
    )
    assert (
        category_for(plus=None, subject="x", sender_domain="house.parliament.uk", rules=rules)
        == "mp"
    )
    assert (
        category_for(plus=None, subject="x", sender_domain="cambs.gov.uk", rules=rules) == "partner"
    )
    assert category_for(plus=None, subject="x", sender_domain="gmail.com", rules=rules) == "public"
    assert (
        category_for(plus="nonsense", subject="[nonsense]", sender_domain=None, rules=rules)
        == "public"
    )
    with pytest.raises(ValueError):
        parse_category_rules("parliament.uk=royalty")


def test_strip_quoted_and_signatures() -> None:
    body = "Event held.\n\n-- \nPriya\n\nOn Tue, 13 Sep 2022 at 10:00, Bot <b@x> wrote:\n> old"
    assert strip_quoted(body) == "Event held."
    assert strip_quoted("Done\n\nSent from my iPhone") == "Done"
    assert strip_quoted("New text\n> quoted line\nmore") == "New text\nmore"
    assert strip_quoted("Reply\n-----Original Message-----\nFrom: x") == "Reply"


def test_subjects_and_hashes() -> None:
    assert normalise_subject("RE: Fwd: FW: [mp] Speeding  on Mill Road") == "speeding on mill road"
    assert keyed_hash(b"k", "Sam@Example.com") == keyed_hash(b"k", "sam@example.com")
    assert keyed_hash(b"k", "sam@example.com") != keyed_hash(b"other", "sam@example.com")
    assert "sam" not in keyed_hash(b"k", "sam@example.com")


@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_fail_cleanly(raw: bytes) -> None:
    msg = parse_message(raw)
    assert msg is not None


def test_processing_never_raises_for_garbage(fresh_store: Store) -> None:
    policy = MailPolicy(mail_domain="localhost", hash_key=b"k")
    for raw in [
        b"",
        b"\x00\xff" * 100,
        b"Content-Type: multipart/mixed\r\n\r\n--",
        b"From: a\r\n\r\n",
    ]:
        with fresh_store.transaction():
            inbound_id = fresh_store.insert_inbound(
                raw=raw, mail_from="a@b.c", rcpt_tos=["correspondence@localhost"]
            )
        result = process_inbound(
            fresh_store, inbound_id, policy, now=dt.datetime(2022, 9, 1, tzinfo=dt.UTC)
        )
        assert result.state in ("quarantined", "counted", "duplicate", "noise")
    assert "pending" not in [r["state"] for r in fresh_store.inbound_list(("pending",))]
