"""The Slack side of delivery: the digest posted to a channel with its chart in the thread,
and direct messages (the Friday reminder, a note to one person)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from digests.digest import Digest
from handlers.slack.blocks import mrkdwn
from handlers.slack.digest import slack_message
from handlers.slack.notices import reminder_message
from store import Deliverable, Person

__all__ = ["SlackNotifier", "SlackPostFailed"]


class SlackPostFailed(Exception):
    """Slack refused a direct message; the text is what the ledger keeps."""


@dataclass(frozen=True)
class Posted:
    reference: str  # "slack ts 1663…"
    follow_up: Callable[[], Awaitable[Any]] | None = None  # extra, after it is recorded


class SlackNotifier:
    """Posts through the Web API client. Staff text is escaped by the messages themselves;
    every post also asks Slack not to parse names or links (``parse="none"``)."""

    channel = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def _post(self, channel: str, message: dict[str, Any]) -> Any:
        return await self.client.chat_postMessage(
            channel=channel, parse="none", link_names=False, **message
        )

    async def post_digest(self, target: str, digest: Digest, chart: bytes | None) -> Posted:
        """Post to channel ``target``; the chart upload is left as the follow-up."""
        posted = await self._post(target, slack_message(digest))
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

        return Posted(f"slack ts {ts}", upload_chart if chart else None)

    async def nudge(
        self, address: str, person: Person, items: Sequence[Deliverable], *, stale_weeks: int
    ) -> Posted:
        """The Friday reminder, as a DM to the person's Slack id ``address``."""
        return await self.direct(address, reminder_message(person, items, stale_weeks=stale_weeks))

    async def direct(self, address: str, message: dict[str, Any] | str) -> Posted:
        """A direct message (Block Kit, or mrkdwn text) to the Slack user ``address``."""
        if isinstance(message, str):
            message = {"text": message, "blocks": [{"type": "section", "text": mrkdwn(message)}]}
        try:
            posted = await self._post(address, message)
        except SlackApiError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise SlackPostFailed(str(status)) from exc
        return Posted(f"slack ts {posted.get('ts')}")
