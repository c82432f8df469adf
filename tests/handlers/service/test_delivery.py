"""Delivery, channel-neutral: claim → send → mark once, and each channel's notifier."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from pathlib import Path

import pytest

from digests.digest import Digest, build_digest
from handlers.mail import Mailer, MailNotifier
from handlers.outbox import Outbox
from handlers.service.delivery import (
    Delivery,
    DeliveryFailed,
    Destination,
    Sent,
    deliver,
)
from handlers.service.writer import Writer
from handlers.slack.digest import slack_draft
from store import Office, Store

NOW = dt.datetime(2022, 9, 19, 9, tzinfo=dt.UTC)


def _digest(store: Store) -> Digest:
    return build_digest(store, year=2022, week=37, office=Office(tz=dt.UTC))


def test_destinations_are_values_whose_text_is_the_ledger_key() -> None:
    for text in ("slack:C0LEADERS", "email:a@x.org,b@x.org", "outbox", "person:7"):
        destination = Destination.parse(text)
        assert str(destination) == text
    assert Destination.parse("email:a@x.org,b@x.org") == Destination("email", "a@x.org,b@x.org")


async def test_a_delivery_is_claimed_sent_and_marked_once(plan_store: Store) -> None:
    sends: list[int] = []

    async def send() -> Sent:
        sends.append(1)
        return Sent("slack ts 1.2")

    delivery = Delivery("digest", "2022-W37", Destination("slack", "C1"))
    first = await deliver(Writer(plan_store), delivery, send, now=NOW)
    again = await deliver(Writer(plan_store), delivery, send, now=NOW)
    assert first is not None and (first.destination, first.state) == ("slack:C1", "sent")
    assert again is None and sends == [1]
    [row] = plan_store.ledger()
    assert (row["state"], row["reference"], row["destination"]) == (
        "sent",
        "slack ts 1.2",
        "slack:C1",
    )


async def test_a_refusal_is_kept_as_the_error_and_heard_first(plan_store: Store) -> None:
    heard: list[str] = []

    async def refused() -> Sent:
        raise DeliveryFailed("429")

    delivery = Delivery("reminder", "2022-W37", Destination("person", "3"))
    outcome = await deliver(
        Writer(plan_store),
        delivery,
        refused,
        now=NOW,
        on_failure=lambda exc: heard.append(str(exc)),
    )
    assert outcome is not None and (outcome.state, outcome.reference) == ("failed", "429")
    assert heard == ["429"]
    [row] = plan_store.ledger()
    assert (row["state"], row["error"]) == ("failed", "429")
    # --retry takes the failed row over, once.
    retried = await deliver(
        Writer(plan_store), delivery, _ok, now=NOW + dt.timedelta(hours=1), ledger_id=int(row["id"])
    )
    assert retried is not None and retried.state == "sent"
    assert (
        await deliver(Writer(plan_store), delivery, _ok, now=NOW, ledger_id=int(row["id"])) is None
    )


async def _ok() -> Sent:
    return Sent("done")


async def test_a_failed_follow_up_is_a_warning_not_a_second_send(plan_store: Store) -> None:
    async def chart() -> None:
        raise OSError("upload refused")

    async def send() -> Sent:
        return Sent("slack ts 9", follow_up=chart)

    delivery = Delivery("digest", "2022-W37", Destination("slack", "C1"))
    outcome = await deliver(Writer(plan_store), delivery, send, now=NOW)
    assert outcome is not None and outcome.state == "sent"
    [row] = plan_store.ledger()
    assert (row["state"], row["warning"]) == ("sent", "chart not attached: OSError")


def _eml(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


async def test_the_mail_notifier_posts_nudges_and_notes(plan_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    notifier = MailNotifier(Mailer(relay=None, outbox=folder), mail_domain="opcc.example")
    digest = _digest(plan_store)
    sent = await notifier.post_digest("a@x.org,b@x.org", digest, None)
    owner = plan_store.person_by_email("priya.shah@example.org")
    assert owner is not None
    items = [d for d in plan_store.deliverables() if d.owner_id == owner.id][:2]
    await notifier.nudge(owner.email, owner, items, stale_weeks=4)
    await notifier.direct(owner.email, "Your address for updates by mail has changed.")
    digest_mail, nudge, note = _eml(folder)
    assert sent.reference.startswith(digest_mail["Message-ID"])
    assert digest_mail["To"] == "a@x.org, b@x.org"
    assert digest_mail["From"] == "Deliverabot <digest@opcc.example>"
    assert "weekly digest" in digest_mail["Subject"]
    body = nudge.get_content()
    assert "no update for 4 weeks" in body
    assert all(f"- {d.ref} {d.title}" in body for d in items)
    assert note["To"] == owner.email
    assert "has changed" in note.get_content()


@pytest.mark.parametrize("channel", ["slack", "outbox"])
async def test_the_outbox_keeps_a_digest_in_its_channel_s_own_form(
    plan_store: Store, tmp_path: Path, channel: str
) -> None:
    folder = tmp_path / "outbox"
    outbox = Outbox(folder, drafts={"slack": slack_draft})
    poster = outbox.for_channel(channel) if channel != "outbox" else outbox
    sent = await poster.post_digest("C0LEADERS", _digest(plan_store), b"\x89PNG")
    kept = Path(sent.reference.removeprefix("outbox "))
    assert kept.parent == folder
    assert sorted(p.suffix for p in folder.iterdir()) == sorted(
        [".json" if channel == "slack" else ".md", ".png"]
    )
    if channel == "slack":
        payload = json.loads(kept.read_text())
        assert payload["channel"] == "C0LEADERS"
        assert payload["blocks"][0]["type"] == "header"
    else:
        assert kept.read_text().startswith("# ")
