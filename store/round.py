"""The paper round, as data: a round, its lines, the append-only events on each line, and
what they add up to. No I/O.

A round asks every owner to approve (or edit) the Update line the paper will print for each
of their deliverables. Nothing about a line is ever overwritten: each ask, approval, edit,
return, "not mine" and reassignment is an event, and a line's state is the fold of its
events in order (:func:`fold`), so who approved which words, and when, stays on record.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "NAME_RULE",
    "DraftLine",
    "EventKind",
    "LineState",
    "LineView",
    "Round",
    "RoundBook",
    "RoundEvent",
    "RoundLine",
    "Tally",
    "due_reminder",
    "fold",
    "is_working_day",
    "round_name",
    "tally",
]

# Round names go into button values, mail subjects ("[round sept-2022]") and URLs.
NAME_RULE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


def round_name(text: str) -> str | None:
    """The name as stored (lower case), or ``None`` when it does not fit :data:`NAME_RULE`."""
    name = text.strip().lower()
    return name if NAME_RULE.fullmatch(name) else None


class LineState(enum.StrEnum):
    PENDING = "pending"  # asked (or returned, or reassigned): waiting for its owner
    APPROVED = "approved"  # the owner approved the drafted words
    EDITED = "edited"  # the owner wrote the words
    NOT_MINE = "not-mine"  # the owner says it is someone else's: the coordinator reassigns

    @property
    def label(self) -> str:
        return {
            LineState.PENDING: "pending",
            LineState.APPROVED: "approved",
            LineState.EDITED: "edited",
            LineState.NOT_MINE: "not mine",
        }[self]

    @property
    def settled(self) -> bool:
        """The paper can print this line as its owner's statement."""
        return self in (LineState.APPROVED, LineState.EDITED)


class EventKind(enum.StrEnum):
    ASKED = "asked"  # the words shown to the owner (a DM, a mail, a reminder's first ask)
    APPROVED = "approved"
    EDITED = "edited"
    RETURNED = "returned"  # the coordinator asks the owner again, with a comment
    NOT_MINE = "not-mine"
    REASSIGNED = "reassigned"  # the coordinator gives the line to someone else


@dataclass(frozen=True)
class Round:
    name: str
    period_from: dt.date
    period_to: dt.date
    panel_on: dt.date
    due_on: dt.date
    opened_at: dt.datetime
    opened_by: int | None  # the coordinator: told of "not mine", and named in replies
    closed_at: dt.datetime | None = None
    closed_by: int | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class DraftLine:
    """One line of the paper as drafted when the round opens."""

    deliverable_id: int
    ref: str
    title: str
    theme_code: str
    section: str  # completed | current | new (the paper's lists)
    owner_id: int | None
    text: str  # the Update line (or, for a new deliverable, the line under its title)


@dataclass(frozen=True)
class RoundLine:
    round: str
    deliverable_id: int
    ref: str
    title: str
    theme_code: str
    section: str
    owner_id: int | None  # the owner when the round opened
    draft: str  # the line as drafted when the round opened
    position: int


@dataclass(frozen=True)
class RoundEvent:
    id: int
    round: str
    deliverable_id: int
    kind: EventKind
    person_id: int | None  # who acted (for "asked": the owner asked)
    at: dt.datetime
    text: str | None = None  # asked: the words shown; approved/edited: the words settled
    comment: str | None = None  # returned, not mine
    owner_id: int | None = None  # reassigned: the new owner
    update_id: int | None = None  # edited: the update that carries the words as the summary
    source: str | None = None  # slack | email | cli


@dataclass(frozen=True)
class LineView:
    """A line and where it stands, folded from its events."""

    line: RoundLine
    state: LineState
    owner_id: int | None
    text: str  # the settled words, else the words last shown, else the draft
    asked: RoundEvent | None  # the latest ask of the current owner
    decided: RoundEvent | None  # the approval, edit or "not mine" that set the state
    returned: RoundEvent | None  # the return that made it pending again, if one did
    events: tuple[RoundEvent, ...] = ()

    @property
    def ref(self) -> str:
        return self.line.ref

    @property
    def settled(self) -> bool:
        return self.state.settled

    @property
    def waiting(self) -> bool:
        """Its owner still has to answer (pending; "not mine" waits for the coordinator)."""
        return self.state is LineState.PENDING


def fold(line: RoundLine, events: Iterable[RoundEvent]) -> LineView:
    """A line's state from its events, oldest first: the latest decision stands; a return or
    a reassignment makes it pending again."""
    state, owner, text = LineState.PENDING, line.owner_id, line.draft
    asked: RoundEvent | None = None
    decided: RoundEvent | None = None
    returned: RoundEvent | None = None
    seen: list[RoundEvent] = []
    for e in events:
        seen.append(e)
        if e.kind is EventKind.ASKED:
            if e.person_id == owner:
                asked = e
                if not state.settled:
                    text = e.text or text
        elif e.kind in (EventKind.APPROVED, EventKind.EDITED):
            state = LineState.APPROVED if e.kind is EventKind.APPROVED else LineState.EDITED
            text, decided, returned = e.text or text, e, None
        elif e.kind is EventKind.NOT_MINE:
            state, decided, returned = LineState.NOT_MINE, e, None
        elif e.kind is EventKind.RETURNED:
            state, returned, decided = LineState.PENDING, e, None
        elif e.kind is EventKind.REASSIGNED:
            state, owner, asked, decided, returned = LineState.PENDING, e.owner_id, None, None, None
    return LineView(line, state, owner, text, asked, decided, returned, tuple(seen))


@dataclass(frozen=True)
class Tally:
    approved: int = 0
    edited: int = 0
    pending: int = 0
    not_mine: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.edited + self.pending + self.not_mine

    @property
    def settled(self) -> int:
        return self.approved + self.edited

    def add(self, state: LineState) -> Tally:
        return Tally(
            self.approved + (state is LineState.APPROVED),
            self.edited + (state is LineState.EDITED),
            self.pending + (state is LineState.PENDING),
            self.not_mine + (state is LineState.NOT_MINE),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "approved": self.approved,
            "edited": self.edited,
            "pending": self.pending,
            "not_mine": self.not_mine,
            "total": self.total,
        }


def tally(views: Iterable[LineView], key: str = "") -> dict[str, Tally]:
    """Counts of each state: overall (``key=""``), by ``"owner"`` (person id as text, "" for
    none) or by ``"theme"`` (its code), in the order first met."""
    out: dict[str, Tally] = {}
    for v in views:
        if key == "owner":
            k = "" if v.owner_id is None else str(v.owner_id)
        elif key == "theme":
            k = v.line.theme_code
        else:
            k = ""
        out[k] = out.get(k, Tally()).add(v.state)
    return out


@dataclass(frozen=True)
class RoundBook:
    """A round with every line folded, and the names the channels need: what ``round
    status``, the board, App Home and ``report --round`` all read."""

    round: Round
    views: tuple[LineView, ...]
    people: dict[int, str] = field(default_factory=dict)  # id -> name
    themes: dict[str, str] = field(default_factory=dict)  # code -> name, in plan order

    def by_ref(self) -> dict[str, LineView]:
        return {v.ref.upper(): v for v in self.views}

    def owned_by(self, person_id: int) -> list[LineView]:
        return [v for v in self.views if v.owner_id == person_id]

    def owner_name(self, view: LineView) -> str:
        return self.people.get(view.owner_id, "nobody") if view.owner_id is not None else "nobody"

    def owners(self) -> list[int]:
        """Everyone who owns a line now, in the order of their first line."""
        found: list[int] = []
        for v in self.views:
            if v.owner_id is not None and v.owner_id not in found:
                found.append(v.owner_id)
        return found


# -- reminders: the office's calendar --------------------------------------------------------


def is_working_day(day: dt.date, closed: frozenset[dt.date]) -> bool:
    """Monday to Friday, and not a bank holiday (``closed``)."""
    return day.weekday() < 5 and day not in closed


def _last_working_day(on_or_before: dt.date, closed: frozenset[dt.date]) -> dt.date:
    day = on_or_before
    while not is_working_day(day, closed):
        day -= dt.timedelta(days=1)
    return day


def due_reminder(
    today: dt.date,
    *,
    first_asked: dt.date,
    due_on: dt.date,
    closed: frozenset[dt.date],
    away_until: dt.date | None,
    waiting: Sequence[LineView],
) -> str | None:
    """Whether a person gets a round reminder today: ``"reminder"``, ``"final"`` (the
    morning of the due date, or the last working day before it), or ``None``.

    At most one a working day (the caller's ledger makes it one), never on the day they
    were first asked, never on a weekend or bank holiday, never while they are away, never
    after the due date, and never once nothing of theirs is waiting.
    """
    if not waiting or today <= first_asked or today > due_on:
        return None
    if not is_working_day(today, closed):
        return None
    if away_until is not None and away_until >= today:
        return None
    return "final" if today == _last_working_day(due_on, closed) else "reminder"
