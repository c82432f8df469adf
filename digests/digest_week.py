"""One week's digest in the making: the plan at the week's start and end, the week's updates
sorted into one list each, who needs chasing, the next panel, and the week's mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from digests.digest import (
    CorrespondenceWeek,
    Countdown,
    Digest,
    Entry,
    Held,
    OwnerGroup,
    week_bounds,
    week_label,
)
from digests.stats import stats_from_counts
from store import (
    AN_OFFICE,
    AsOf,
    Deliverable,
    FinancialYearQuarter,
    Office,
    Reader,
    Status,
    Update,
    due_end,
    stale_status,
)

__all__ = ["build_week", "weekly_correspondence"]


@dataclass
class _Week:
    """The plan as it stood at the start and at the end of one week."""

    start: dt.datetime
    end: dt.datetime
    sunday: dt.date
    start_month: int
    people: dict[int, str]  # person id -> name
    deliverables: dict[int, Deliverable]  # those that existed by the week's end, plan order
    history: list[Update]  # the week's own updates, in sequence
    board_url: str | None
    state: dict[int, AsOf] = field(default_factory=dict)

    def who(self, person_id: int | None) -> str | None:
        return self.people.get(person_id) if person_id is not None else None

    def owner(self, d: Deliverable) -> str | None:
        return self.who(d.owner_id)

    def status(self, d: Deliverable) -> Status:
        s = self.state.get(d.id)
        return s.status if s else d.status

    def due(self, d: Deliverable) -> str | None:
        s = self.state.get(d.id)
        return s.due if s else d.due

    def url(self, ref: str) -> str | None:
        return f"{self.board_url}/{ref}" if self.board_url else None


def _kind(week: _Week, d: Deliverable, rows: list[Update], is_new: bool) -> tuple[str, str]:
    """Which list a deliverable's week belongs to, and the change in the bot's words."""
    moves = [u for u in rows if not u.created]
    end_status = week.status(d)
    first_status = next((u.status_before for u in moves if u.status_before), end_status)
    first_due = moves[0].due_before if moves else week.due(d)
    end_due = week.due(d)
    changes = []
    if moves and first_status != end_status:
        changes.append(f"{first_status.label} → {end_status.label}")
    slipped = False
    if moves and first_due != end_due:
        changes.append(f"due {first_due or 'none'} → {end_due or 'none'}")
        before_end = due_end(first_due, start_month=week.start_month)
        after_end = due_end(end_due, start_month=week.start_month)
        slipped = bool(before_end and after_end and after_end > before_end)
    if is_new:
        return "new", (end_status.label if not changes else "; ".join(changes))
    if end_status is Status.COMPLETED and first_status is not Status.COMPLETED and moves:
        return "completed", "; ".join(c for c in changes if "→ Completed" not in c)
    if end_status is Status.ON_HOLD and first_status is not Status.ON_HOLD and moves:
        return "held", "; ".join(c for c in changes if f"→ {Status.ON_HOLD.label}" not in c)
    if slipped:
        return "slipped", "; ".join(changes)
    return "update", "; ".join(changes)


def _entries(week: _Week, new_ids: set[int], imported_ids: set[int]) -> dict[str, list[Entry]]:
    """The week's updates, one entry per deliverable, each in exactly one list."""
    rows_of: dict[int, list[Update]] = {}
    for u in week.history:
        if u.recorded_at >= week.start and u.deliverable_id in week.deliverables:
            rows_of.setdefault(u.deliverable_id, []).append(u)
    lists: dict[str, list[Entry]] = {
        k: [] for k in ("completed", "slipped", "held", "new", "update")
    }
    order = {did: i for i, did in enumerate(week.deliverables)}  # plan order
    for did in sorted(set(rows_of) | new_ids, key=order.__getitem__):
        d = week.deliverables[did]
        rows = rows_of.get(did, [])
        if did in imported_ids:
            rows = [u for u in rows if not u.created]  # the import is one line, not 43
        if not rows and did not in new_ids:
            continue
        kind, change = _kind(week, d, rows, did in new_ids)
        notes = tuple(dict.fromkeys(u.note.strip() for u in rows if u.note.strip()))
        people = [u.person_id for u in rows if u.person_id is not None]
        who = week.who(people[-1]) if people else week.owner(d)
        lists[kind].append(Entry(d.ref, d.title, who, kind, change, notes, week.url(d.ref)))
    return lists


def _owners(
    store: Reader, week: _Week, listed: set[int], stale_weeks: int, *, current: bool
) -> list[OwnerGroup]:
    """Open deliverables not in this week's lists that are overdue, stale or due this
    quarter, grouped by owner, the owner with the most first. On-hold ones stand apart.
    For the plan as it stands now (``current``) the store lists them in SQL."""
    quarter = FinancialYearQuarter.of_date(week.sunday, start_month=week.start_month)
    found: dict[str, dict[str, list[str]]] = {}
    if current:
        for f in store.flagged(
            added_by=week.sunday,
            now=week.end,
            stale_weeks=stale_weeks,
            quarter_first=quarter.first_day,
            quarter_last=quarter.last_day,
            start_month=week.start_month,
        ):
            if f.deliverable_id not in listed:
                owner = week.who(f.owner_id) or "No owner"
                ref = week.deliverables[f.deliverable_id].ref
                found.setdefault(owner, {}).setdefault(f.kind, []).append(ref)
        return _groups(found)
    for d in week.deliverables.values():
        status = week.status(d)
        if d.id in listed or status in (Status.COMPLETED, Status.ON_HOLD):
            continue
        ends = due_end(week.due(d), start_month=week.start_month)
        s = week.state.get(d.id)
        kind = ""
        if not status.exempt_from_overdue and ends and ends < quarter.first_day:
            kind = "overdue"
        elif stale_status(
            status, d.added_on, s.last_at if s else None, week.end, weeks=stale_weeks
        ):
            kind = "stale"
        elif not status.exempt_from_overdue and ends and ends <= quarter.last_day:
            kind = "due_soon"
        if kind:
            owner = week.owner(d) or "No owner"
            found.setdefault(owner, {}).setdefault(kind, []).append(d.ref)
    return _groups(found)


def _groups(found: dict[str, dict[str, list[str]]]) -> list[OwnerGroup]:
    groups = [
        OwnerGroup(
            owner,
            tuple(k.get("overdue", ())),
            tuple(k.get("stale", ())),
            tuple(k.get("due_soon", ())),
        )
        for owner, k in found.items()
    ]
    return sorted(groups, key=lambda g: (-g.size, g.owner))


def _on_hold(store: Reader, week: _Week, listed: set[int]) -> list[Held]:
    """Every deliverable on hold at the week's end (and not in its lists), with the day it
    went on hold: a standing line until it resumes."""
    held = [
        d
        for d in week.deliverables.values()
        if d.id not in listed and week.status(d) is Status.ON_HOLD
    ]
    since = store.held_since([d.id for d in held], week.end) if held else {}
    return [Held(d.ref, since[d.id].date() if d.id in since else None) for d in held]


def _countdown(
    store: Reader, week: _Week, panels: tuple[dt.date, ...], history_start: dt.date | None
) -> Countdown | None:
    monday = week.sunday + dt.timedelta(days=1)
    upcoming = [p for p in panels if p >= monday]
    if not upcoming:
        return None
    previous = [p for p in panels if p < monday]
    since = previous[-1] if previous else history_start
    since_at = dt.datetime.combine(since or dt.date(1970, 1, 1), dt.time(0), tzinfo=dt.UTC)
    if since:
        since_at = dt.datetime.combine(since, dt.time(0), tzinfo=week.start.tzinfo)
    noted = store.latest_notes(since_at, week.end)
    paper = [
        d
        for d in week.deliverables.values()
        if week.status(d) is not Status.COMPLETED
        or ((s := week.state.get(d.id)) and s.completed_at and s.completed_at >= since_at)
    ]
    pending = sum(1 for d in paper if d.id not in noted)
    return Countdown(upcoming[0], (upcoming[0] - monday).days, pending, len(paper), since)


def _counts(
    store: Reader, w: _Week, start_status: dict[int, Status], *, current: bool
) -> tuple[dict[Status, int], dict[Status, int]]:
    """Deliverables by status at the week's end, and at its start (those added before it):
    counted in SQL for the plan as it stands now, then moved back by the week's own rows."""
    first = w.start.date()
    if current:
        counts = store.status_counts(added_by=w.sunday)
        before = store.status_counts(added_by=first - dt.timedelta(days=1))
        for did, was in start_status.items():
            d = w.deliverables.get(did)
            if d is not None and d.added_on < first:
                before[w.status(d)] -= 1
                before[was] += 1
        return counts, before
    counts = {s: 0 for s in Status}
    before = {s: 0 for s in Status}
    for d in w.deliverables.values():
        counts[w.status(d)] += 1
        if d.added_on < first:
            before[start_status.get(d.id, w.status(d))] += 1
    return counts, before


def build_week(
    store: Reader,
    *,
    year: int,
    week: int,
    office: Office,
    board_url: str | None,
    panels: tuple[dt.date, ...],
) -> Digest:
    start, end = week_bounds(year, week, office.tz)
    start_month, stale_weeks = office.fy_start_month, office.stale_weeks
    sunday = (end - dt.timedelta(days=1)).date()
    w = _Week(
        start=start,
        end=end,
        sunday=sunday,
        start_month=start_month,
        people={p.id: p.name for p in store.people()},
        deliverables={d.id: d for d in store.deliverables() if d.added_on <= sunday},
        history=store.updates(since=start, until=end),
        board_url=board_url,
    )
    w.state = store.states_at(end)
    # The state at the week's start, from the week's own rows: each one records the status
    # it changed from, and a deliverable the week did not touch is as it ends.
    start_status: dict[int, Status] = {}
    for u in w.history:
        if u.status_before is not None:
            start_status.setdefault(u.deliverable_id, u.status_before)
    current = store.current_at(end)
    counts, before = _counts(store, w, start_status, current=current)
    history_start = store.history_starts()
    # The plan's own deliverables (its first import) are never new, as in the report: the
    # week they were recorded says "plan imported" instead of listing them.
    origin = store.origin()
    this_week = [d for d in w.deliverables.values() if start.date() <= d.added_on <= sunday]
    imported = {d.id for d in this_week if origin is not None and origin.owns(d)}
    new = {d.id for d in this_week if d.id not in imported}
    lists = _entries(w, new, imported)
    listed_refs = {e.ref for entries in lists.values() for e in entries}
    listed = {d.id for d in w.deliverables.values() if d.ref in listed_refs}
    return Digest(
        plan=store.get_meta("plan") or "Delivery Plan",
        office=store.get_meta("office") or "",
        year=year,
        week=week,
        label=week_label(year, week, office=office),
        generated_for=sunday,
        status_counts=counts,
        counts_before=before,
        imported=len(imported),
        completed=lists["completed"],
        slipped=lists["slipped"],
        held=lists["held"],
        new=lists["new"],
        updates=lists["update"],
        owners=_owners(store, w, listed, stale_weeks, current=current),
        on_hold=_on_hold(store, w, listed),
        countdown=_countdown(store, w, panels, history_start),
        correspondence=weekly_correspondence(store, start.date(), sunday, office),
        stale_weeks=stale_weeks,
        board_url=board_url,
    )


def weekly_correspondence(
    store: Reader,
    monday: dt.date,
    sunday: dt.date,
    office: Office = AN_OFFICE,
) -> CorrespondenceWeek:
    """The 12 weeks of mail that end with the week of ``monday``..``sunday``."""
    first = monday - dt.timedelta(weeks=11)
    weekly_counts = [0] * 12
    by_category: dict[str, int] = {}
    for day, category, n in store.correspondence_daily(since=first, until=sunday):
        index = (dt.date.fromisoformat(day) - first).days // 7
        weekly_counts[index] += n
        if index == 11:
            by_category[category] = by_category.get(category, 0) + n
    weekly = [(first + dt.timedelta(weeks=i), weekly_counts[i]) for i in range(12)]
    trailing_4 = weekly_counts[-5:-1]
    trailing_12 = weekly_counts[:-1]
    answered_line = None
    window_start = sunday - dt.timedelta(weeks=4)
    # Counted in SQL by (day received, category, day answered): the answer times cost the
    # window's distinct days, not one Python row per letter.
    window = store.correspondence_counts(since=window_start, until=sunday)
    if any(answered_on is not None for _, _, answered_on, _ in window):
        stats = stats_from_counts(window, by="month", office=office, today=sunday)
        received = sum(s.received for s in stats)
        within = sum(s.within_target for s in stats)
        answered = sum(s.answered for s in stats)
        decided = sum(s.decided for s in stats)
        share = f" ({round(100 * within / decided)}%)" if decided else ""
        answered_line = (
            f"Last 4 weeks: {answered} of {received} answered, {within} within target{share}."
        )
    return CorrespondenceWeek(
        this_week=weekly_counts[-1],
        last_week=weekly_counts[-2],
        avg_4=sum(trailing_4) / len(trailing_4),
        avg_12=sum(trailing_12) / len(trailing_12),
        by_category=dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))),
        weekly=weekly,
        answered_in_target=answered_line,
    )
