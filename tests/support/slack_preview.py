"""A picture of the Slack digest for the README: the Block Kit message of `deliverabot demo`'s
week (the example plan, its updates and letters, BOARD_URL and a panel date set) drawn as
HTML, the way Slack shows mrkdwn: bold, links, emoji, and the notification's text fallback.

This is our own drawing of the blocks, not Slack's client; it is what the blocks say.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import tempfile
import zoneinfo
from pathlib import Path
from typing import Any

from bot.demo import LETTERS, UPDATES
from digests.digest import build_digest
from handlers.plan import load_plan
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    import_plan,
    record_correspondence,
    record_update,
)
from handlers.slack.digest import slack_message
from store import Office, Source, open_store

ROOT = Path(__file__).resolve().parents[2]
EMOJI = {
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":double_vertical_bar:": "⏸️",
    ":new:": "🆕",
    ":memo:": "📝",
    ":rotating_light:": "🚨",
    ":envelope:": "✉️",
    ":calendar:": "📆",
    ":bar_chart:": "📊",
}


def demo_message(board_url: str = "https://deliverabot.example.org/board") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "demo.db")
        try:
            import_plan(
                store,
                load_plan(ROOT / "examples" / "opcc-plan-2021-24.yaml"),
                today=dt.date(2022, 9, 14),
            )
            for day, owner, ref, status, due, note in UPDATES:
                record_update(
                    store,
                    UpdateRequest(
                        deliverable=ref,
                        actor=store.person_by_email(owner),  # type: ignore[arg-type]
                        source=Source.SLACK,
                        status=status,
                        due=due,
                        note=note,
                        recorded_at=dt.datetime.fromisoformat(f"{day}T10:00:00+00:00"),
                    ),
                )
            for i, (day, _, _, category, _) in enumerate(LETTERS):
                record_correspondence(
                    store,
                    CorrespondenceRequest(
                        dedup_key=f"demo-{i}",
                        received_on=dt.date.fromisoformat(day),
                        category=category or "public",
                    ),
                )
            digest = build_digest(
                store,
                year=2022,
                week=37,
                office=Office(tz=zoneinfo.ZoneInfo("Europe/London")),
                board_url=board_url,
                panels=(dt.date(2022, 9, 14), dt.date(2023, 2, 8)),
            )
            return slack_message(digest)
        finally:
            store.close()


def mrkdwn_html(text: str) -> str:
    """Slack's mrkdwn (already &-escaped by the bot) as HTML."""
    out = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r'<a href="\1">\2</a>', text)
    out = re.sub(r"(?<![\u200b\w])\*([^*\n]+?)(?<!\u200b)\*", r"<b>\1</b>", out)
    for code, char in EMOJI.items():
        out = out.replace(code, char)
    return out.replace("\n", "<br>")


def digest_preview_html() -> str:
    message = demo_message()
    parts = []
    for block in message["blocks"]:
        if block["type"] == "header":
            parts.append(f"<h1>{html.escape(block['text']['text'])}</h1>")
        elif block["type"] == "context":
            parts.append(f"<p class=ctx>{mrkdwn_html(block['elements'][0]['text'])}</p>")
        else:
            parts.append(f"<p>{mrkdwn_html(block['text']['text'])}</p>")
    style = (
        "body{font-family:Lato,Arial,sans-serif;font-size:15px;line-height:1.45;margin:0;"
        "color:#1d1c1d} .bar{background:#3f0e40;color:#fff;padding:10px 14px;font-weight:bold}"
        " .note{background:#f8f8f8;border-bottom:1px solid #ddd;padding:8px 14px;font-size:13px;"
        "color:#616061} .msg{padding:10px 14px} .who{font-weight:bold} .who span{font-weight:"
        "normal;color:#616061;font-size:12px;margin-left:6px} h1{font-size:17px;margin:8px 0 2px}"
        " .ctx{color:#616061;font-size:13px;margin:0 0 6px} a{color:#1264a3;text-decoration:none}"
        " p{margin:0 0 10px}"
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><style>{style}</style>"
        "<div class=bar># leaders</div>"
        f"<div class=note>Notification: {html.escape(message['text'])}</div>"
        "<div class=msg><div class=who>Deliverabot <span>APP · Monday 09:00</span></div>"
        + "".join(parts)
        + "</div></html>"
    )
