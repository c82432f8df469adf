"""Golden files: each renderer on fixed data and a fixed clock.

Set UPDATE_GOLDEN=1 to rewrite them after an intended change, then read the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zoneinfo
from pathlib import Path

import pytest

from digests.digest import build_digest
from digests.digest_render import render_digest
from digests.report import build_report, render_report
from handlers.slack.digest import digest_mrkdwn, slack_message
from store import Office, Store

GOLDEN = Path(__file__).resolve().parent / "golden"
LONDON = zoneinfo.ZoneInfo("Europe/London")


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {name}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


BOARD = "https://deliverabot.example.org/board"
PANELS = (dt.date(2022, 9, 14), dt.date(2023, 2, 8))


@pytest.mark.parametrize("linked", [False, True], ids=["plain", "board"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "mrkdwn"])
def test_digest_renderers(digest_store: Store, fmt: str, linked: bool) -> None:
    """Without BOARD_URL and PANEL_DATES, and with them (links and the countdown)."""
    extra = {"board_url": BOARD, "panels": PANELS} if linked else {}
    digest = build_digest(digest_store, year=2022, week=37, office=Office(tz=LONDON), **extra)
    suffix = {"text": "txt", "markdown": "md", "html": "html", "mrkdwn": "mrkdwn"}[fmt]
    _check(
        f"digest-2022-W37{'-board' if linked else ''}.{suffix}",
        digest_mrkdwn(digest)
        if fmt == "mrkdwn"
        else render_digest(digest, fmt, chart_cid="chart@x" if fmt == "html" else None),
    )


@pytest.mark.parametrize("linked", [False, True], ids=["plain", "board"])
def test_digest_block_kit(digest_store: Store, linked: bool) -> None:
    extra = {"board_url": BOARD, "panels": PANELS} if linked else {}
    digest = build_digest(digest_store, year=2022, week=37, office=Office(tz=LONDON), **extra)
    _check(
        f"digest-2022-W37{'-board' if linked else ''}.slack.json",
        json.dumps(slack_message(digest), indent=2, ensure_ascii=False) + "\n",
    )


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_report_renderers(digest_store: Store, fmt: str) -> None:
    report = build_report(
        digest_store,
        day_from=dt.date(2022, 3, 1),
        day_to=dt.date(2022, 9, 18),
        office=Office(tz=LONDON),
    )
    suffix = {"markdown": "md", "html": "html", "text": "txt"}[fmt]
    _check(f"report-2022-03-01-2022-09-18.{suffix}", render_report(report, fmt))


def test_quiet_week_is_one_line(digest_store: Store) -> None:
    # Week 32 (8–14 August 2022): no update, no imported note and no letter.
    digest = build_digest(digest_store, year=2022, week=32, office=Office(tz=LONDON))
    text = render_digest(digest, "text")
    assert digest.quiet
    body = text.split("\n\n", 1)[1].strip().splitlines()
    attention = digest.attention
    assert attention and attention == sum(g.size for g in digest.owners)
    assert (
        body[0]
        == f"A quiet week: no updates and no correspondence recorded; {attention} need attention."
    )
    assert "Other updates" not in text and "Correspondence" not in text
    assert not digest.wants_chart  # no empty chart either
