"""A deliverable's status and everything known about each one, in one table.

Adding a status is one entry in :data:`_TRAITS` (and the enum member): its words in the
papers and in the grammar, its emoji, its colours, and its rules. ``tests/store/
test_status.py`` fails when an entry misses any of them. Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["Status", "StatusTraits", "normalise_status"]


class Status(enum.StrEnum):
    NOT_STARTED = "not-started"
    ONGOING = "ongoing"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    BAU = "bau"

    @property
    def traits(self) -> StatusTraits:
        return _TRAITS[self]

    @property
    def wording(self) -> str:
        """How the panel papers word this status."""
        return self.traits.wording

    @property
    def label(self) -> str:
        return self.traits.label

    @property
    def emoji(self) -> str:
        """Its emoji code (Slack's, and any chat platform that takes the same codes)."""
        return self.traits.emoji

    @property
    def colour(self) -> str:
        """Its colour in charts."""
        return self.traits.colour

    @property
    def is_open(self) -> bool:
        """Still to be done: listed as current in the paper, open in lists."""
        return not self.traits.closed

    @property
    def exempt_from_stale(self) -> bool:
        """Nothing is expected of it week to week: it never goes stale."""
        return self.traits.exempt_from_stale

    @property
    def exempt_from_overdue(self) -> bool:
        """It has no completion to be late for: a past due quarter is not overdue."""
        return self.traits.exempt_from_overdue

    @property
    def needs_note_when_entered(self) -> bool:
        """Moving a deliverable into it needs a note saying why."""
        return self.traits.needs_note_when_entered

    def said_in(self, note: str) -> bool:
        """Whether a note already says this status in its own words ("Recruitment on hold
        whilst…"), so the papers' wording need not be put before it."""
        return self.traits.said.search(note) is not None

    @classmethod
    def spoken(cls, last: str = " and ") -> str:
        """``not-started, ongoing, on-hold, completed and bau``: for help and errors."""
        values = [s.value for s in cls]
        return ", ".join(values[:-1]) + last + values[-1]


@dataclass(frozen=True)
class StatusTraits:
    label: str  # in lists and forms
    wording: str  # in the panel papers
    said: re.Pattern[str]  # a note that says the status in the papers' words
    typed: tuple[str, ...]  # what staff type for it, besides its value (the grammar)
    shown: tuple[str, ...]  # the ones help mentions
    echo: str  # a note that says nothing but this status (regex alternation)
    emoji: str
    colour: str  # the chart's bar
    ink: str  # the board's badge: text
    paper: str  # ... and background
    closed: bool = False
    exempt_from_stale: bool = False
    exempt_from_overdue: bool = False
    needs_note_when_entered: bool = False


def _said(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_TRAITS: dict[Status, StatusTraits] = {
    Status.NOT_STARTED: StatusTraits(
        label="Not started",
        wording="Activities not started.",
        said=_said(r"\bnot\s+(?:yet\s+)?started\b"),
        typed=("not started", "notstarted", "todo"),
        shown=(),
        echo=r"not\s+(?:yet\s+)?started",
        emoji=":white_circle:",
        colour="#b0b7c3",
        ink="#282d30",
        paper="#e8e9ea",
        exempt_from_stale=True,
    ),
    Status.ONGOING: StatusTraits(
        label="Ongoing",
        wording="Activities ongoing.",
        said=_said(r"\bactivities\s+(?:are\s+)?on-?going\b"),
        typed=("on-going", "started", "in progress", "in-progress", "underway"),
        shown=("started", "in progress"),
        echo=r"on-?going|in\s+progress|under\s?way",
        emoji=":large_blue_circle:",
        colour="#2b6cb0",
        ink="#0c2d4a",
        paper="#bbd4ea",
    ),
    Status.ON_HOLD: StatusTraits(
        label="On hold",
        wording="On hold.",
        said=_said(r"\bon\s+hold\b"),
        typed=("on hold", "onhold", "paused", "hold"),
        shown=("paused",),
        echo=r"on\s+hold|paused",
        emoji=":double_vertical_bar:",
        colour="#dd6b20",
        ink="#6e3619",
        paper="#fcd6c3",
        needs_note_when_entered=True,
    ),
    Status.COMPLETED: StatusTraits(
        label="Completed",
        wording="Activities completed.",
        said=_said(r"\bactivities\s+(?:are\s+|were\s+)?completed\b"),
        typed=("complete", "done", "delivered", "finished"),
        shown=("done",),
        echo=r"complete[d]?|done|finished|delivered",
        emoji=":white_check_mark:",
        colour="#2f855a",
        ink="#005a30",
        paper="#cce2d8",
        closed=True,
        exempt_from_stale=True,
        exempt_from_overdue=True,
    ),
    Status.BAU: StatusTraits(
        label="Business as usual",
        wording="Embedded into business as usual.",
        said=_said(r"\bembedded\s+(?:in|into)\s+business\s+as\s+usual\b"),
        typed=("business as usual", "business-as-usual", "embedded"),
        shown=("business as usual",),
        echo=r"bau|business\s+as\s+usual|embedded(?:\s+in(?:to)?\s+business\s+as\s+usual)?",
        emoji=":repeat:",
        colour="#6b46c1",
        ink="#3d2375",
        paper="#dbd5e9",
        exempt_from_stale=True,
        exempt_from_overdue=True,
    ),
}

# Words staff actually type, mapped to the statuses: each value, and its typed words.
_SYNONYMS = {word: s for s in Status for word in (s.value, *_TRAITS[s].typed)}


def normalise_status(text: str) -> Status | None:
    """Map a status or a common synonym to a :class:`Status`; ``None`` when unknown."""
    key = re.sub(r"\s+", " ", text.strip().lower())
    return _SYNONYMS.get(key)
