"""The domain model: plain dataclasses with no I/O."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from store.status import Status, normalise_status

__all__ = [
    "CORRESPONDENCE_CATEGORIES",
    "AsOf",
    "Baseline",
    "Deliverable",
    "DeliverableView",
    "Origin",
    "Person",
    "Role",
    "Source",
    "State",
    "Status",
    "Theme",
    "Update",
    "age_text",
    "is_stale",
    "normalise_status",
    "replay",
    "stale_status",
]


class Role(enum.StrEnum):
    STAFF = "staff"
    EDITOR = "editor"
    ADMIN = "admin"


class Source(enum.StrEnum):
    SLACK = "slack"
    EMAIL = "email"
    CLI = "cli"


CORRESPONDENCE_CATEGORIES = ("complaint", "mp", "councillor", "partner", "media", "public", "foi")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    role: Role = Role.STAFF
    away_until: dt.date | None = None
    # Who the person is on each channel: (channel, external id), e.g. ("slack", "U012ABC").
    identities: tuple[tuple[str, str], ...] = ()

    def identity(self, channel: str) -> str | None:
        """The person's id on ``channel`` (their Slack user id, say), or ``None``."""
        return dict(self.identities).get(channel)

    @property
    def can_edit_any(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)


@dataclass(frozen=True)
class Theme:
    id: int
    code: str
    name: str
    aim: str
    position: int


@dataclass(frozen=True)
class Deliverable:
    id: int
    ref: str
    theme_id: int
    title: str
    status: Status
    owner_id: int | None
    due: str | None  # canonical QuarterSpan text, e.g. "Q3 2022/23"
    dependencies: bool
    added_on: dt.date
    position: int

    def can_be_updated_by(self, person: Person) -> bool:
        """Owners update their own deliverables; editors and admins update any."""
        return person.can_edit_any or person.id == self.owner_id


@dataclass(frozen=True)
class Update:
    id: int
    deliverable_id: int
    person_id: int | None
    recorded_at: dt.datetime
    source: Source
    status_before: Status | None
    status_after: Status | None
    due_before: str | None
    due_after: str | None
    note: str
    dependencies: bool | None = None
    summary: bool = False  # staff marked this note as the summary for the panel paper
    of_note: bool = False  # staff marked this note as of note for the panel paper

    @property
    def created(self) -> bool:
        """The row that created the deliverable (by plan import or ``add``)."""
        return self.status_before is None

    @property
    def changed_status(self) -> bool:
        return self.status_after is not None and self.status_after != self.status_before

    @property
    def changed_due(self) -> bool:
        return self.due_after != self.due_before


@dataclass(frozen=True)
class DeliverableView:
    """A deliverable with its theme, owner and newest update: what every listing shows."""

    deliverable: Deliverable
    theme: Theme
    owner: Person | None
    last_update: Update | None

    @property
    def last_update_at(self) -> dt.datetime | None:
        return self.last_update.recorded_at if self.last_update else None

    def stale(self, now: dt.datetime, *, weeks: int = 4) -> bool:
        return is_stale(self.deliverable, self.last_update_at, now, weeks=weeks)


@dataclass(frozen=True)
class Baseline:
    """A first plan import without ``start:``: the deliverables it created existed before it.

    They are not new, and their imported state is all that is known of their past.
    """

    on: dt.date
    last_id: int

    def covers(self, deliverable: Deliverable) -> bool:
        return deliverable.id <= self.last_id and deliverable.added_on == self.on


@dataclass(frozen=True)
class Origin:
    """The plan's first import. The deliverables it brought in are the plan's own: they are
    never "new", whatever ``start:`` says. A deliverable is new when it was added later: by
    ``added:`` after the plan's start, by a later import, or by ``/deliverable add``.

    ``last_id`` is the last deliverable the first import created (``None`` for a database
    imported before this was recorded: then the date alone decides).
    """

    on: dt.date
    last_id: int | None

    def owns(self, deliverable: Deliverable) -> bool:
        return deliverable.added_on <= self.on and (
            self.last_id is None or deliverable.id <= self.last_id
        )


@dataclass(frozen=True)
class State:
    """A deliverable's state rebuilt from its append-only history, in sequence order."""

    status: Status
    due: str | None
    dependencies: bool
    completed_at: dt.datetime | None  # when it last became completed
    last_at: dt.datetime | None  # when the newest row was recorded


@dataclass(frozen=True)
class AsOf:
    """A deliverable's state at a moment, as the store works it out (see ``states_at``)."""

    status: Status
    due: str | None
    dependencies: bool
    last_at: dt.datetime | None
    completed_at: dt.datetime | None  # the last move into "completed"
    completed_after_creation: dt.datetime | None  # the same, not counting the creating row

    def state(self, *, baseline: bool = False) -> State:
        """As ``replay`` gives it: for a baseline deliverable the creating row is not a
        completion."""
        done = self.completed_after_creation if baseline else self.completed_at
        return State(self.status, self.due, self.dependencies, done, self.last_at)


def replay(
    history: list[Update], *, baseline: bool = False, fallback: Deliverable | None = None
) -> State:
    """Fold a deliverable's updates (oldest first) into its state.

    With ``baseline``, the creating row records what was imported, not a completion, so it
    sets no ``completed_at``. With no history at all, ``fallback``'s current fields are used.
    """
    if not history:
        if fallback is None:
            return State(Status.NOT_STARTED, None, False, None, None)
        return State(fallback.status, fallback.due, fallback.dependencies, None, None)
    status, due, deps = Status.NOT_STARTED, None, False
    completed_at: dt.datetime | None = None
    for u in history:
        if u.status_after is not None:
            if (
                u.status_after is Status.COMPLETED
                and status is not Status.COMPLETED
                and not (baseline and u.created)
            ):
                completed_at = u.recorded_at
            status = u.status_after
        due = u.due_after
        if u.dependencies is not None:
            deps = u.dependencies
    return State(status, due, deps, completed_at, history[-1].recorded_at)


def is_stale(
    deliverable: Deliverable,
    last_update_at: dt.datetime | None,
    now: dt.datetime,
    *,
    weeks: int = 4,
) -> bool:
    """No update for ``weeks`` weeks, for a deliverable that is expected to move."""
    return stale_status(deliverable.status, deliverable.added_on, last_update_at, now, weeks=weeks)


def stale_status(
    status: Status,
    added_on: dt.date,
    last_update_at: dt.datetime | None,
    now: dt.datetime,
    *,
    weeks: int = 4,
) -> bool:
    """:func:`is_stale` for a status that may not be the deliverable's current one."""
    if status.exempt_from_stale:
        return False
    if last_update_at is None:
        last_update_at = dt.datetime.combine(added_on, dt.time(0), tzinfo=dt.UTC)
    return now - last_update_at >= dt.timedelta(weeks=weeks)


def age_text(then: dt.datetime | None, now: dt.datetime) -> str:
    """ "today", "3 days ago", "5 weeks ago": how staff say it."""
    if then is None:
        return "never"
    days = (now - then).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 62:
        return f"{days // 7} weeks ago"
    return f"{days // 30} months ago"
