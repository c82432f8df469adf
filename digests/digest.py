"""The weekly digest: built from the store as plain data for one ISO week, then rendered.

It leads with the news. A one-line headline (what changed this week, and the plan's counts
against last week's), then the week's completions, slips and holds with their reasons, then
the other updates, then who needs chasing (grouped by owner, at most five lines), then
correspondence. Each deliverable appears in one list only. The lines are built here from
parts that know who wrote them (:mod:`digests.rich`), so every format escapes staff text and
never the bot's own words or links.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from digests.rich import Line, Link, Staff, Words, line
from store import AN_OFFICE, Office, Reader, Status

__all__ = [
    "MAX_OWNER_LINES",
    "CorrespondenceWeek",
    "Countdown",
    "Digest",
    "Entry",
    "Held",
    "OwnerGroup",
    "build_digest",
    "parse_iso_week",
    "ref_part",
    "week_bounds",
    "week_label",
]

MAX_OWNER_LINES = 5
TITLE_CHARS = 60


def parse_iso_week(text: str) -> tuple[int, int]:
    """``2022-W37`` → (2022, 37)."""
    m = re.fullmatch(r"\s*(\d{4})-?W(\d{1,2})\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"{text!r} is not an ISO week; write it like 2022-W37")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {week}") from None
    return year, week


def week_bounds(year: int, week: int, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00 in the office's time zone (DST-safe)."""
    monday = dt.date.fromisocalendar(year, week, 1)
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start, end


def day_span(first: dt.date, last: dt.date) -> str:
    """ "12–18 September 2022", "26 September–2 October 2022", across years in full."""
    if first.year != last.year:
        return f"{first.day} {first:%B %Y}–{last.day} {last:%B %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%B}–{last.day} {last:%B %Y}"
    return f"{first.day}–{last.day} {last:%B %Y}"


def week_label(year: int, week: int, *, office: Office = AN_OFFICE) -> str:
    """ "Week 37, 12–18 September 2022 · Q2 2022/23"."""
    monday = dt.date.fromisocalendar(year, week, 1)
    sunday = monday + dt.timedelta(days=6)
    quarter = office.quarter_of(sunday)
    return f"Week {week}, {day_span(monday, sunday)} · {quarter}"


def short_title(title: str, limit: int = TITLE_CHARS) -> str:
    """A title cut at a word before ``limit`` characters, with an ellipsis."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title.rfind(" ", 0, limit)
    return title[: cut if cut > limit // 2 else limit].rstrip(" ,.;:-") + "…"


def ref_part(ref: str, board_url: str | None) -> Staff | Link:
    """A reference, linked to its page on the board when the board's address is known."""
    return Link(f"{board_url}/{ref}", (Staff(ref),)) if board_url else Staff(ref)


@dataclass(frozen=True)
class Entry:
    """One deliverable's week: what changed and what staff said about it."""

    ref: str
    title: str
    who: str | None
    kind: str  # completed | slipped | held | new | update
    change: str = ""  # the bot's words: "Ongoing → On hold", "due Q3 2022/23 → Q4 2022/23"
    notes: tuple[str, ...] = ()
    url: str | None = None

    @property
    def resumed(self) -> bool:
        return self.change.startswith(f"{Status.ON_HOLD.label} →")

    @functools.cached_property
    def line(self) -> Line:
        ref = Link(self.url, (Staff(self.ref),)) if self.url else Staff(self.ref)
        parts: list[object] = [ref, " ", Staff(short_title(self.title))]
        if self.who:
            parts += [" (", Staff(self.who), ")"]
        if self.change or self.notes:
            parts.append(":")
        if self.change:
            parts += [" ", self.change + "."]
        for note in self.notes:
            parts += [" ", Staff(note)]
        return line(*parts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OwnerGroup:
    """One owner's deliverables that need chasing, as at the week's end."""

    owner: str
    overdue: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    due_soon: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.overdue) + len(self.stale) + len(self.due_soon)

    def line(self, board_url: str | None) -> Line:
        parts: list[object] = [Staff(self.owner), ": "]
        kinds = [
            (self.overdue, "overdue"),
            (self.stale, "stale"),
            (self.due_soon, "due this quarter"),
        ]
        first = True
        for refs, word in kinds:
            if not refs:
                continue
            if not first:
                parts.append("; ")
            first = False
            for i, ref in enumerate(refs):
                parts += [", " if i else "", ref_part(ref, board_url)]
            parts.append(f" {word}")
        return line(*parts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Held:
    ref: str
    since: dt.date | None


@dataclass(frozen=True)
class Countdown:
    """The next panel, and how many of the paper's lines have no update since the last."""

    panel: dt.date
    days: int  # from the Monday the digest goes out
    pending: int
    lines: int
    since: dt.date | None  # the last panel, or where the record starts

    @property
    def text(self) -> str:
        when = "today" if self.days == 0 else f"in {self.days} day{'s' if self.days != 1 else ''}"
        since = f" since {self.since:%-d %B %Y}" if self.since else ""
        return (
            f"Next panel {self.panel:%A %-d %B %Y}, {when}: {self.pending} of {self.lines} "
            f"lines for the paper have no update{since}."
        )


@dataclass(frozen=True)
class CorrespondenceWeek:
    this_week: int
    last_week: int
    avg_4: float
    avg_12: float
    by_category: dict[str, int]
    weekly: list[tuple[dt.date, int]]  # (Monday, count) for the last 12 weeks
    answered_in_target: str | None  # e.g. "Last 4 weeks: 3 of 4 answered, ..."

    @property
    def line(self) -> str:
        """The bot's own sentence about the week's mail (no staff text in it)."""
        if not self.this_week:
            average = f" (4-week average {self.avg_4:.1f})" if self.avg_4 else ""
            return f"No correspondence recorded this week{average}."
        cats = ", ".join(f"{c} {n}" for c, n in self.by_category.items())
        return (
            f"This week {self.this_week} (last week {self.last_week}, 4-week average "
            f"{self.avg_4:.1f}, 12-week {self.avg_12:.1f})" + (f" · {cats}" if cats else "")
        )


@dataclass(frozen=True)
class Digest:
    plan: str
    office: str
    year: int
    week: int
    label: str
    generated_for: dt.date  # the Sunday that ends the week
    status_counts: dict[Status, int]
    counts_before: dict[Status, int] = field(default_factory=dict)
    imported: int = 0  # deliverables a first plan import recorded this week
    completed: list[Entry] = field(default_factory=list)
    slipped: list[Entry] = field(default_factory=list)
    held: list[Entry] = field(default_factory=list)
    new: list[Entry] = field(default_factory=list)
    updates: list[Entry] = field(default_factory=list)
    owners: list[OwnerGroup] = field(default_factory=list)
    on_hold: list[Held] = field(default_factory=list)
    countdown: Countdown | None = None
    correspondence: CorrespondenceWeek | None = None
    stale_weeks: int = 4
    board_url: str | None = None

    @property
    def entries(self) -> list[Entry]:
        return [*self.completed, *self.slipped, *self.held, *self.new, *self.updates]

    @property
    def news(self) -> list[tuple[str, list[Entry]]]:
        """The week's lists, in the order the digest shows them."""
        return [
            ("Completed", self.completed),
            ("Slipped", self.slipped),
            ("Put on hold", self.held),
            ("New deliverables", self.new),
            ("Other updates", self.updates),
        ]

    @property
    def quiet(self) -> bool:
        """Nothing recorded, nothing received."""
        mail = self.correspondence.this_week if self.correspondence else 0
        return not (self.entries or self.imported or mail)

    @property
    def wants_chart(self) -> bool:
        """A chart only when the week had mail: never an empty one."""
        return bool(self.correspondence and self.correspondence.this_week)

    @property
    def attention(self) -> int:
        """How many deliverables need chasing (each counted once)."""
        return sum(g.size for g in self.owners)

    @property
    def changes_text(self) -> str:
        if self.quiet:
            return "A quiet week: no updates and no correspondence recorded"
        resumed = sum(1 for e in self.updates if e.resumed)
        parts = [
            f"{len(self.completed)} completed" if self.completed else "",
            f"{len(self.slipped)} slipped" if self.slipped else "",
            f"{len(self.held)} put on hold" if self.held else "",
            f"{resumed} resumed" if resumed else "",
            f"{len(self.new)} new" if self.new else "",
        ]
        others = len(self.updates) - resumed
        if others:
            parts.append(f"{others} other update{'s' if others != 1 else ''}")
        text = ", ".join(p for p in parts if p)
        if self.imported:
            return "Plan imported" + (f"; this week also {text}" if text else "")
        return f"This week: {text}" if text else "No updates this week"

    @property
    def counts_text(self) -> str:
        total = sum(self.status_counts.values())
        compare = bool(sum(self.counts_before.values())) and not self.imported
        parts = []
        for s, n in self.status_counts.items():
            if not n and not (compare and self.counts_before.get(s)):
                continue
            delta = n - self.counts_before.get(s, 0) if compare else 0
            sign = f" ({'+' if delta > 0 else '−'}{abs(delta)})" if delta else ""
            parts.append(f"{n} {s.label.lower()}{sign}")
        if not parts:
            return "no deliverables"
        if self.imported:
            return f"{self.imported} deliverables ({', '.join(parts)})"
        return f"{total} deliverables: " + ", ".join(parts)

    @property
    def headline(self) -> str:
        """One line: what changed this week, and the plan's counts against last week's."""
        if self.imported:  # "Plan imported: 43 deliverables (…); this week also 2 new."
            head, _, also = self.changes_text.partition("; ")
            return f"{head}: {self.counts_text}" + (f"; {also}" if also else "") + "."
        return f"{self.changes_text} · {self.counts_text}."

    @property
    def quiet_line(self) -> str:
        tail = f"; {self.attention} need attention" if self.attention else ""
        return f"A quiet week: no updates and no correspondence recorded{tail}."

    @property
    def owner_lines(self) -> list[Line]:
        return [g.line(self.board_url) for g in self.owners[:MAX_OWNER_LINES]]

    @property
    def more_line(self) -> Line | None:
        rest = self.owners[MAX_OWNER_LINES:]
        if not rest:
            return None
        n = sum(g.size for g in rest)
        text = f"and {n} more for {len(rest)} other owner{'s' if len(rest) != 1 else ''}"
        if self.board_url:
            return line(Link(f"{self.board_url}?attention=1", (Words(text),)), " on the board")
        return line(text)

    @property
    def hold_line(self) -> Line | None:
        if not self.on_hold:
            return None
        parts: list[object] = ["On hold: "]
        for i, h in enumerate(self.on_hold):
            parts += [", " if i else "", ref_part(h.ref, self.board_url)]
            if h.since:
                parts.append(f" since {h.since:%-d %B %Y}")
        return line(*parts)  # type: ignore[arg-type]

    @property
    def week_notes(self) -> list[tuple[str, str | None, str]]:
        """(ref, who, note) for every note of the week, list by list."""
        return [(e.ref, e.who, n) for e in self.entries for n in e.notes]


def build_digest(
    store: Reader,
    *,
    year: int,
    week: int,
    office: Office = AN_OFFICE,
    board_url: str | None = None,
    panels: Sequence[dt.date] = (),
) -> Digest:
    """The digest for one ISO week, as the plan stood at the end of it (the office's time
    zone, financial year, stale weeks, answer targets and bank holidays)."""
    from digests.digest_week import build_week  # the week's lists, in their own module

    return build_week(
        store,
        year=year,
        week=week,
        office=office,
        board_url=board_url.rstrip("/") if board_url else None,
        panels=tuple(sorted(panels)),
    )
