"""The Slack side of delivery: the digest posted to a channel with its chart in the thread,
and direct messages (the Friday reminder, a note to one person)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from digests.digest import Digest
from handlers.service.delivery import DeliveryFailed, Sent
from handlers.slack.blocks import mrkdwn
from handlers.slack.digest import slack_message
from handlers.slack.notices import reminder_message
from store import Deliverable, Person

__all__ = ["SlackNotifier"]


class SlackNotifier:
    """Slack's :class:`~handlers.service.delivery.Notifier`, through the Web API client.
    Staff text is escaped by the messages themselves; every post also asks Slack not to
    parse names or links (``parse="none"``)."""

    channel = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, message: dict[str, Any]) -> Any:
        """``chat.postMessage`` as every post of ours makes it (Slack's errors raised)."""
        return await self.client.chat_postMessage(
            channel=channel, parse="none", link_names=False, **message
        )

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Sent:
        """Post to channel ``target``; the chart upload is left as the follow-up."""
        posted = await self.post(target, slack_message(digest))
        ts = str(posted.get("ts"))
        channel = str(posted.get("channel") or target)
        client = self.client

        async def upload_chart() -> None:
            await client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=chart,
                filename=f"digest-{digest.year}-W{digest.week:02d}.png",
                title=f"Digest chart, week {digest.week}",
            )

        return Sent(f"slack ts {ts}", upload_chart if chart else None)

    async def nudge(
        self, address: str, person: Person, items: Sequence[Deliverable], *, stale_weeks: int
    ) -> Sent:
        """The Friday reminder, as a DM to the person's Slack id ``address``."""
        return await self.message(address, reminder_message(person, items, stale_weeks=stale_weeks))

    async def direct(self, address: str, message: str) -> Sent:
        """A direct message in mrkdwn (staff text in it escaped) to the Slack user ``address``."""
        blocks = [{"type": "section", "text": mrkdwn(message)}]
        return await self.message(address, {"text": message, "blocks": blocks})

    async def message(self, address: str, message: dict[str, Any]) -> Sent:
        """A Block Kit message to a user or channel; Slack's refusal is
        :class:`DeliveryFailed` with its HTTP status."""
        try:
            posted = await self.post(address, message)
        except SlackApiError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise DeliveryFailed(str(status)) from exc
        return Sent(f"slack ts {posted.get('ts')}")
