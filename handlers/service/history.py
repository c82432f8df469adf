"""Dated updates from a tracker, appended in date order through the update path.

An editor or admin runs it. Each row is an update like any other (the same checks), with its
own date and, when the row names a person of the plan, that person as its author. A row
already recorded (same deliverable, time and note) is skipped, so the import is safe to run
twice; the whole file is written in one transaction, or nothing is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from handlers.service.errors import NotAuthorised, ServiceError, ValidationError
from handlers.service.updates import UpdateRequest, record_update
from store import AN_OFFICE, Deliverable, Office, Person, Source, Status, Store, utc_now

__all__ = ["HistoryRejected", "HistoryRow", "HistorySummary", "import_history"]

PLAN_IMPORT = "plan import"  # the export's "by" for rows a plan import wrote


@dataclass(frozen=True)
class HistoryRow:
    """One dated update, as read from the file (see ``handlers/history.py``)."""

    line: int  # the row number the spreadsheet shows
    ref: str
    recorded_at: dt.datetime  # timezone-aware
    by: str | None = None  # a person's name or email, as written
    source: Source = Source.CLI
    status: Status | None = None
    due: str | None = None
    dependencies: bool | None = None
    summary: bool = False
    of_note: bool = False
    note: str = ""


@dataclass
class HistorySummary:
    lines: list[str] = field(default_factory=list)
    added: int = 0
    duplicates: int = 0
    empty: int = 0
    as_actor: dict[str, int] = field(default_factory=dict)  # "by" values that are nobody

    def text(self, actor: Person) -> str:
        tail = [f"{self.added} added, {self.duplicates} already recorded (skipped)"]
        if self.empty:
            tail[0] += f", {self.empty} with no note and no change (skipped)"
        for name, n in sorted(self.as_actor.items()):
            who = f"by {name!r}" if name else "without a 'by'"
            tail.append(f"{n} row(s) {who} (not a person in the plan) recorded as by {actor.name}")
        return "\n".join([*self.lines, *tail])


class HistoryRejected(ServiceError):
    """Rows the service refused; ``errors`` is (row number, message) for each."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(errors)} row(s) refused")
        self.errors = errors


class _DryRun(Exception):
    pass


def _author(store: Store, by: str | None, people: list[Person]) -> Person | None:
    if not by:
        return None
    wanted = by.strip().lower()
    found = store.person_by_email(wanted) if "@" in wanted else None
    return found or next((p for p in people if p.name.strip().lower() == wanted), None)


def _change(row: HistoryRow, d: Deliverable) -> str:
    parts = []
    if row.status is not None and row.status != d.status:
        parts.append(f"{d.status.label} → {row.status.label}")
    if row.due is not None and row.due != d.due:
        parts.append(f"due {d.due or 'none'} → {row.due}")
    if row.dependencies is not None and row.dependencies != d.dependencies:
        parts.append("dependencies identified" if row.dependencies else "no dependencies")
    if row.summary:
        parts.append("summary")
    if row.of_note:
        parts.append("of note")
    return ", ".join(parts) or "note"


def _is_empty(row: HistoryRow, d: Deliverable) -> bool:
    return not row.note.strip() and (
        (row.status is None or row.status == d.status)
        and (row.due is None or row.due == d.due)
        and (row.dependencies is None or row.dependencies == d.dependencies)
    )


def _check_order(store: Store, row: HistoryRow, d: Deliverable) -> None:
    """History is in order: a row never goes before what the deliverable already has (the
    record is append-only and read in sequence), nor after today."""
    when = row.recorded_at
    if when > utc_now() + dt.timedelta(minutes=5):
        raise ValidationError(f"the date {when:%Y-%m-%d %H:%M} UTC is in the future")
    latest = store.latest_update_at(d.id)
    if latest is not None and when < latest:
        raise ValidationError(
            f"already has an update of {latest:%Y-%m-%d %H:%M} UTC, later than this row "
            f"({when:%Y-%m-%d %H:%M}); history is appended in order, so import it straight "
            "after the plan (with start: on or before the first row's date) and before new "
            "updates"
        )


def import_history(
    store: Store,
    rows: list[HistoryRow],
    *,
    actor: Person,
    office: Office = AN_OFFICE,
    dry_run: bool = False,
) -> HistorySummary:
    """Append ``rows`` in date order (file order within a time), or refuse them all.

    Only an editor or admin may import history. Raises :class:`HistoryRejected` with every
    refused row; nothing is written then, nor on a dry run.
    """
    if not actor.can_edit_any:
        raise NotAuthorised(
            f"{actor.name} is not an editor; only editors and admins may import history."
        )
    summary = HistorySummary()
    errors: list[tuple[int, str]] = []
    try:
        with store.transaction():
            people = store.people()
            for row in sorted(rows, key=lambda r: (r.recorded_at, r.line)):
                try:
                    _one(store, row, actor, people, summary, office)
                except ServiceError as exc:
                    errors.append((row.line, f"{row.ref}: {exc}"))
            if errors:
                raise HistoryRejected(sorted(errors))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


def _one(
    store: Store,
    row: HistoryRow,
    actor: Person,
    people: list[Person],
    summary: HistorySummary,
    office: Office,
) -> None:
    d = store.deliverable_by_ref(row.ref)
    if d is None:
        raise ServiceError("no deliverable has this reference; import the plan first")
    if store.has_update(d.id, row.recorded_at, row.note.strip()):
        summary.duplicates += 1
        return
    if _is_empty(row, d):
        summary.empty += 1
        return
    _check_order(store, row, d)
    author = _author(store, row.by, people)
    if author is None and (row.by or "").lower() != PLAN_IMPORT:
        summary.as_actor[row.by or ""] = summary.as_actor.get(row.by or "", 0) + 1
    change = _change(row, d)
    outcome = record_update(
        store,
        UpdateRequest(
            deliverable=d.ref,
            actor=actor,
            author=author,
            source=row.source,
            note=row.note,
            status=row.status,
            due=row.due,
            dependencies=row.dependencies,
            recorded_at=row.recorded_at,
            summary=row.summary,
            of_note=row.of_note,
        ),
        office=office,
    )
    summary.added += 1
    day = row.recorded_at.date().isoformat()
    summary.lines.append(f"+ row {row.line}: {day} {outcome.deliverable.ref} {change}")
