"""The weekly digest: built from the store as plain data for one ISO week, then rendered."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from digests.stats import correspondence_stats
from store import (
    AsOf,
    Deliverable,
    FinancialYearQuarter,
    QuarterParseError,
    Reader,
    Status,
    Theme,
    Update,
    parse_quarter_span,
    stale_status,
)

__all__ = [
    "Change",
    "Digest",
    "DigestItem",
    "NoteGroup",
    "build_digest",
    "parse_iso_week",
    "week_bounds",
    "week_label",
]


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


def week_bounds(year: int, week: int, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00 in the office's time zone (DST-safe)."""
    monday = dt.date.fromisocalendar(year, week, 1)
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start, end


def week_label(year: int, week: int, *, start_month: int = 4) -> str:
    """ "Week 37, 12–18 September 2022 · Q2 2022/23"."""
    monday = dt.date.fromisocalendar(year, week, 1)
    sunday = monday + dt.timedelta(days=6)
    if monday.month == sunday.month:
        span = f"{monday.day}–{sunday.day} {sunday:%B %Y}"
    elif monday.year == sunday.year:
        span = f"{monday.day} {monday:%B}–{sunday.day} {sunday:%B %Y}"
    else:
        span = f"{monday.day} {monday:%B %Y}–{sunday.day} {sunday:%B %Y}"
    quarter = FinancialYearQuarter.of_date(sunday, start_month=start_month)
    return f"Week {week}, {span} · {quarter}"


@dataclass(frozen=True)
class DigestItem:
    ref: str
    title: str
    theme: str
    status: Status
    due: str | None
    owner: str | None
    detail: str = ""  # e.g. "no update for 6 weeks", "due Q1 2022/23"

    @property
    def line(self) -> str:
        """Plain text; each format escapes it."""
        owner = f" · {self.owner}" if self.owner else ""
        return f"{self.ref} {self.title} · {self.status.label}{owner} · {self.detail}"


@dataclass(frozen=True)
class Change:
    ref: str
    title: str
    kind: str  # completed | new | status | slipped
    before: str | None
    after: str | None
    note: str
    who: str | None

    @property
    def line(self) -> str:
        """Plain text; each format escapes it."""
        text = f"{self.ref} {self.title}"
        if self.kind == "status":
            text += f": {self.before} → {self.after}"
        elif self.kind == "slipped":
            text += f": due {self.before} → {self.after}"
        if self.who:
            text += f" ({self.who})"
        if self.note:
            text += f". {self.note}"
        return text


@dataclass(frozen=True)
class NoteGroup:
    theme: str
    notes: list[tuple[str, str, str, str]]  # (ref, title, who, note)


@dataclass(frozen=True)
class CorrespondenceWeek:
    this_week: int
    avg_4: float
    avg_12: float
    by_category: dict[str, int]
    weekly: list[tuple[str, int]]  # (week label "W37", count) for the last 12 weeks
    answered_in_target: str | None  # e.g. "3 of 4 answered within target (75%)"


@dataclass(frozen=True)
class Digest:
    plan: str
    office: str
    year: int
    week: int
    label: str
    generated_for: dt.date  # the Sunday that ends the week
    status_counts: dict[Status, int]
    completed: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    status_changes: list[Change] = field(default_factory=list)
    slipped: list[Change] = field(default_factory=list)
    notes: list[NoteGroup] = field(default_factory=list)
    stale: list[DigestItem] = field(default_factory=list)
    overdue: list[DigestItem] = field(default_factory=list)
    due_this_quarter: list[DigestItem] = field(default_factory=list)
    correspondence: CorrespondenceWeek | None = None
    stale_weeks: int = 4

    @property
    def quiet(self) -> bool:
        """Nothing recorded, nothing received: the digest is one line."""
        return not (
            self.completed
            or self.new
            or self.status_changes
            or self.slipped
            or self.notes
            or (self.correspondence and self.correspondence.this_week)
        )

    @property
    def headline(self) -> str:
        parts = [f"{n} {s.label.lower()}" for s, n in self.status_counts.items() if n]
        return ", ".join(parts) if parts else "no deliverables"

    @property
    def attention(self) -> int:
        """How many deliverables need attention: one that is stale and overdue counts once."""
        return len({i.ref for i in (*self.stale, *self.overdue)})

    @property
    def quiet_line(self) -> str:
        attention = self.attention
        tail = f"; {attention} need attention" if attention else ""
        return f"A quiet week: no updates and no correspondence recorded{tail}."


@functools.lru_cache(maxsize=4096)
def _span_end(due: str | None, start_month: int) -> dt.date | None:
    if not due:
        return None
    try:
        return parse_quarter_span(due, start_month=start_month).last_day
    except QuarterParseError:
        return None


@dataclass
class _Week:
    """One week's digest in the making: the plan as it stood at the week's end."""

    start: dt.datetime
    end: dt.datetime
    sunday: dt.date
    start_month: int
    themes: dict[int, Theme]
    people: dict[int, str]  # person id -> name
    deliverables: dict[int, Deliverable]  # those that existed by the week's end
    history: list[Update]  # the week's own updates, in sequence
    state: dict[int, tuple[Status, str | None]] = field(default_factory=dict)
    last_at: dict[int, dt.datetime] = field(default_factory=dict)

    def load_state(self, as_of: dict[int, AsOf]) -> None:
        """The state at the week's end, from the store's per-deliverable summary of the
        history (one row each, not the years of updates behind it)."""
        for did, s in as_of.items():
            if did in self.deliverables:
                self.state[did] = (s.status, s.due)
                if s.last_at is not None:
                    self.last_at[did] = s.last_at

    def who(self, person_id: int | None) -> str | None:
        return self.people.get(person_id) if person_id is not None else None

    def now_of(self, d: Deliverable) -> tuple[Status, str | None]:
        return self.state.get(d.id, (d.status, d.due))

    def item(self, d: Deliverable, detail: str) -> DigestItem:
        status, due = self.now_of(d)
        return DigestItem(
            d.ref, d.title, self.themes[d.theme_id].name, status, due, self.who(d.owner_id), detail
        )


def _changes(week: _Week) -> tuple[list[Change], list[Change], list[Change], list[NoteGroup]]:
    """The week's completions, status changes, slipped due quarters and notes by theme."""
    completed: list[Change] = []
    status_changes: list[Change] = []
    slipped: list[Change] = []
    notes_by_theme: dict[int, list[tuple[str, str, str, str]]] = {}
    for u in week.history:
        if u.recorded_at < week.start or u.deliverable_id not in week.deliverables:
            continue
        d = week.deliverables[u.deliverable_id]
        who = week.who(u.person_id)
        if u.note:
            notes_by_theme.setdefault(d.theme_id, []).append(
                (d.ref, d.title, who or "plan import", u.note)
            )
        if u.status_before is None:
            continue  # the row that created it: its state is reported under "new"
        if u.changed_status and u.status_after is not None:
            kind = "completed" if u.status_after is Status.COMPLETED else "status"
            target = completed if kind == "completed" else status_changes
            after = "Completed" if kind == "completed" else u.status_after.label
            target.append(Change(d.ref, d.title, kind, u.status_before.label, after, u.note, who))
        before_end = _span_end(u.due_before, week.start_month)
        after_end = _span_end(u.due_after, week.start_month)
        if before_end and after_end and after_end > before_end:
            slipped.append(
                Change(d.ref, d.title, "slipped", u.due_before, u.due_after, u.note, who)
            )
    groups = [
        NoteGroup(week.themes[tid].name, notes)
        for tid, notes in sorted(notes_by_theme.items(), key=lambda kv: week.themes[kv[0]].position)
    ]
    return completed, status_changes, slipped, groups


def _attention(
    week: _Week, stale_weeks: int
) -> tuple[list[DigestItem], list[DigestItem], list[DigestItem]]:
    """Stale deliverables, overdue ones, and those due this quarter, as at the week's end."""
    stale: list[DigestItem] = []
    overdue: list[DigestItem] = []
    due_now: list[DigestItem] = []
    quarter = FinancialYearQuarter.of_date(week.sunday, start_month=week.start_month)
    for d in week.deliverables.values():
        status, due = week.now_of(d)
        last = week.last_at.get(d.id)
        if stale_status(status, d.added_on, last, week.end, weeks=stale_weeks):
            weeks = (week.end - last).days // 7 if last else None
            stale.append(week.item(d, f"no update for {weeks} weeks" if weeks else "never updated"))
        due_end = _span_end(due, week.start_month)
        if status is not Status.COMPLETED and due_end is not None:
            if due_end < week.sunday and due_end < quarter.first_day:
                overdue.append(week.item(d, f"was due {due}"))
            elif due_end <= quarter.last_day:
                due_now.append(week.item(d, f"due {due}"))
    return stale, overdue, due_now


def build_digest(
    store: Reader,
    *,
    year: int,
    week: int,
    tz: zoneinfo.ZoneInfo,
    start_month: int = 4,
    stale_weeks: int = 4,
    target_for: Callable[[str], int] = lambda _c: 20,
    nation: str = "ENG",
) -> Digest:
    """The digest for one ISO week, as the plan stood at the end of it."""
    start, end = week_bounds(year, week, tz)
    sunday = (end - dt.timedelta(days=1)).date()
    the_week = _Week(
        start=start,
        end=end,
        sunday=sunday,
        start_month=start_month,
        themes={t.id: t for t in store.themes()},
        people={p.id: p.name for p in store.people()},
        deliverables={d.id: d for d in store.deliverables() if d.added_on <= sunday},
        history=store.updates(since=start, until=end),
    )
    the_week.load_state(store.states_at(end))
    counts = {s: 0 for s in Status}
    for d in the_week.deliverables.values():
        counts[the_week.now_of(d)[0]] += 1
    origin = store.origin()  # the plan's own deliverables are never new (as in the report)
    new = [
        Change(d.ref, d.title, "new", None, d.status.label, "", the_week.who(d.owner_id))
        for d in the_week.deliverables.values()
        if start.date() <= d.added_on <= sunday and not (origin and origin.owns(d))
    ]
    completed, status_changes, slipped, notes = _changes(the_week)
    stale, overdue, due_now = _attention(the_week, stale_weeks)
    return Digest(
        plan=store.get_meta("plan") or "Delivery Plan",
        office=store.get_meta("office") or "",
        year=year,
        week=week,
        label=week_label(year, week, start_month=start_month),
        generated_for=sunday,
        status_counts=counts,
        completed=completed,
        new=new,
        status_changes=status_changes,
        slipped=slipped,
        notes=notes,
        stale=stale,
        overdue=overdue,
        due_this_quarter=due_now,
        correspondence=_correspondence(store, start.date(), sunday, target_for, nation),
        stale_weeks=stale_weeks,
    )


def _correspondence(
    store: Reader,
    monday: dt.date,
    sunday: dt.date,
    target_for: Callable[[str], int],
    nation: str,
) -> CorrespondenceWeek:
    first = monday - dt.timedelta(weeks=11)
    weekly_counts = [0] * 12
    by_category: dict[str, int] = {}
    for day, category, n in store.correspondence_daily(since=first, until=sunday):
        index = (dt.date.fromisoformat(day) - first).days // 7
        weekly_counts[index] += n
        if index == 11:
            by_category[category] = by_category.get(category, 0) + n
    weekly = [
        (f"W{(first + dt.timedelta(weeks=i)).isocalendar()[1]:02d}", weekly_counts[i])
        for i in range(12)
    ]
    this_week = weekly[-1][1]
    trailing_4 = [n for _, n in weekly[-5:-1]]
    trailing_12 = [n for _, n in weekly[:-1]] or [0]
    answered_line = None
    window_start = sunday - dt.timedelta(weeks=4)
    if store.any_answered(since=window_start, until=sunday):
        window = store.correspondence_rows(since=window_start, until=sunday)
        stats = correspondence_stats(
            window, by="month", target_for=target_for, nation=nation, today=sunday
        )
        received = sum(s.received for s in stats)
        within = sum(s.within_target for s in stats)
        answered = sum(s.answered for s in stats)
        decided = sum(s.decided for s in stats)
        share = f" ({round(100 * within / decided)}%)" if decided else ""
        answered_line = (
            f"Last 4 weeks: {answered} of {received} answered, {within} within target{share}."
        )
    return CorrespondenceWeek(
        this_week=this_week,
        avg_4=sum(trailing_4) / len(trailing_4) if trailing_4 else 0.0,
        avg_12=sum(trailing_12) / len(trailing_12),
        by_category=dict(sorted(by_category.items())),
        weekly=weekly,
        answered_in_target=answered_line,
    )
