"""Every status carries everything any output needs: its wording in the papers, its label,
its grammar words, its emoji, its colours. A status added without one of them fails here,
not as a ``KeyError`` in a digest on a Monday morning."""

from __future__ import annotations

import dataclasses
import re

import pytest

from digests.board_pages import stylesheet
from digests.chart import digest_chart
from digests.paper_words import status_echoed
from handlers.grammar import HELP_TEXT, parse_update
from handlers.slack.views import _legend as legend_text
from store import Status, normalise_status
from store.status import StatusTraits

HEX = re.compile(r"#[0-9a-f]{6}")
EMOJI = re.compile(r":[a-z0-9_+-]+:")


def gaps(status: Status, traits: StatusTraits) -> list[str]:
    """What ``traits`` lacks for ``status`` to show and parse everywhere."""
    found = []
    for name in ("label", "wording", "echo"):
        if not getattr(traits, name).strip():
            found.append(f"{status}: no {name}")
    if not EMOJI.fullmatch(traits.emoji):
        found.append(f"{status}: no emoji code")
    for name in ("colour", "ink", "paper"):
        if not HEX.fullmatch(getattr(traits, name)):
            found.append(f"{status}: no {name} colour")
    if not traits.said.search(traits.wording):
        found.append(f"{status}: its wording does not say it")
    if not all(w.strip() for w in traits.typed):
        found.append(f"{status}: an empty grammar word")
    if not set(traits.shown) <= set(traits.typed):
        found.append(f"{status}: help shows a word the grammar does not take")
    return found


@pytest.mark.parametrize("status", list(Status))
def test_each_status_has_its_words_emoji_and_colours(status: Status) -> None:
    assert gaps(status, status.traits) == []


def test_the_check_sees_a_status_without_its_emoji_or_colour() -> None:
    traits = Status.ONGOING.traits
    assert gaps(Status.ONGOING, dataclasses.replace(traits, emoji="")) == ["ongoing: no emoji code"]
    assert gaps(Status.ONGOING, dataclasses.replace(traits, paper="blue")) == [
        "ongoing: no paper colour"
    ]
    assert gaps(Status.ONGOING, dataclasses.replace(traits, wording="In hand.")) == [
        "ongoing: its wording does not say it"
    ]


@pytest.mark.parametrize("status", list(Status))
def test_each_status_parses_from_every_word_for_it(status: Status) -> None:
    for word in (status.value, *status.traits.typed):
        assert normalise_status(word) is status, word
        assert parse_update(f"CF-3 {word}").status is status, word
    assert status.value in HELP_TEXT
    assert status_echoed(status.label) is status
    assert status_echoed(f"{status.label}.") is status


def test_every_output_shows_every_status() -> None:
    css = stylesheet()
    for status in Status:
        assert f".status-{status.value} {{ color: {status.traits.ink};" in css
    legend = legend_text()  # under every Slack list and the Home tab
    for status in Status:
        assert f"{status.emoji} {status.label}" in legend
    png = digest_chart([], {s: 1 for s in Status})
    assert png.startswith(b"\x89PNG")


def test_the_rules_are_the_statuses_own() -> None:
    assert [s for s in Status if not s.is_open] == [Status.COMPLETED]
    assert {s for s in Status if s.exempt_from_stale} == {
        Status.NOT_STARTED,
        Status.COMPLETED,
        Status.BAU,
    }
    assert {s for s in Status if s.exempt_from_overdue} == {Status.COMPLETED, Status.BAU}
    assert [s for s in Status if s.needs_note_when_entered] == [Status.ON_HOLD]
