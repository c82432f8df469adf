"""Updates: resolve the deliverable, authorise, validate, append, in one transaction."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from handlers.bounded import MAX_NOTE_CHARS
from handlers.grammar import UpdateCommand
from handlers.service.errors import (
    AmbiguousDeliverable,
    NotAuthorised,
    UnknownDeliverable,
    ValidationError,
)
from store import (
    AN_OFFICE,
    Deliverable,
    Office,
    Person,
    QuarterParseError,
    Reader,
    Source,
    Status,
    Store,
    Update,
)

__all__ = [
    "MAX_NOTE_CHARS",
    "UpdateOutcome",
    "UpdateRequest",
    "check_update",
    "check_update_text",
    "command_request",
    "record_update",
    "recorded_outcome",
    "resolve_deliverable",
    "search_deliverables",
]


@dataclass(frozen=True)
class UpdateRequest:
    deliverable: str  # a reference such as "CF-3", or a few words of the title
    actor: Person
    source: Source
    note: str = ""
    status: Status | None = None
    due: str | None = None  # any quarter form the papers use
    dependencies: bool | None = None
    link: str | None = None
    recorded_at: dt.datetime | None = None  # a dated update (history import, demo)
    summary: bool = False  # the note is the summary for the panel paper
    # The request that asked for it (a Slack command's signature, a form's view and values):
    # a second request with the same key records nothing and gets the first one's outcome.
    idempotency_key: str | None = None
    of_note: bool = False  # the note is of note for the panel paper (the report joins it)
    author: Person | None = None  # who wrote it, when an editor records it for them


def command_request(
    cmd: UpdateCommand,
    *,
    actor: Person,
    source: Source,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> UpdateRequest:
    """The one step from a parsed ``update`` command (Slack, a mail subject, the CLI) to
    the request the service records; ``note`` replaces the command's (mail adds its body)."""
    assert cmd.ref is not None, "a command without a reference opens the form instead"
    return UpdateRequest(
        deliverable=cmd.ref,
        actor=actor,
        source=source,
        note=cmd.note if note is None else note,
        status=cmd.status,
        due=cmd.due,
        dependencies=cmd.dependencies,
        summary=cmd.summary,
        idempotency_key=idempotency_key,
    )


@dataclass(frozen=True)
class UpdateOutcome:
    deliverable: Deliverable  # the state after the update
    update_id: int
    status_before: Status
    status_after: Status
    due_before: str | None
    due_after: str | None
    replayed: bool = False  # the request had been recorded already; nothing new was written
    dependencies_before: bool = False
    dependencies_after: bool = False

    @property
    def dependencies_changed(self) -> bool:
        return self.dependencies_before != self.dependencies_after

    @property
    def status_changed(self) -> bool:
        return self.status_before != self.status_after

    @property
    def due_changed(self) -> bool:
        return self.due_before != self.due_after


_WORD = re.compile(r"[\w']+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _matches(deliverable: Deliverable, wanted: list[str]) -> bool:
    words = _words(f"{deliverable.ref} {deliverable.title}")
    return all(any(w.startswith(q) for w in words) for q in wanted)


def search_deliverables(store: Reader, query: str) -> list[Deliverable]:
    """Deliverables whose reference and title words start with every word of ``query``, in
    plan order (the form's type-ahead and the command's title lookup use the same rule)."""
    wanted = _words(query)
    return [d for d in store.deliverables() if _matches(d, wanted)]


def resolve_deliverable(store: Reader, text: str) -> Deliverable:
    """Find a deliverable by reference, or by an unambiguous match on words of its title.

    Raises :class:`UnknownDeliverable` or :class:`AmbiguousDeliverable`; it never guesses.
    """
    query = text.strip()
    if not query:
        raise ValidationError(
            "Say which deliverable: a reference such as CF-3, or words of its title.",
            field="deliverable",
        )
    by_ref = store.deliverable_by_ref(query)
    if by_ref is not None:
        return by_ref
    if not _words(query):
        raise UnknownDeliverable(f"No deliverable matches {query!r}.", field="deliverable")
    everything = store.deliverables()
    exact = [d for d in everything if d.title.strip().lower() == query.lower()]
    if len(exact) == 1:
        return exact[0]
    matches = [d for d in everything if _matches(d, _words(query))]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownDeliverable(
            f"No deliverable matches {query!r}. Try its reference, e.g. "
            f"{everything[0].ref if everything else 'CF-1'}.",
            field="deliverable",
        )
    raise AmbiguousDeliverable(
        f"{len(matches)} deliverables match {query!r}; choose one.", candidates=matches
    )


@dataclass(frozen=True)
class _Plan:
    deliverable: Deliverable
    note: str
    status_before: Status
    status_after: Status
    due_before: str | None
    due_after: str | None
    dependencies: bool | None


def check_update_text(
    note: str,
    due: str | None = None,
    *,
    summary: bool = False,
    of_note: bool = False,
    office: Office = AN_OFFICE,
) -> tuple[str, str | None]:
    """The checks of :func:`record_update` that need no store (note, summary, due quarter):
    a form shows them before it acknowledges, without waiting for the database. Returns the
    note and the due quarter as they will be kept."""
    note = note.strip()
    if summary and not note:
        raise ValidationError("A summary for the paper needs its text.", field="note")
    if of_note and not note:
        raise ValidationError("A note marked of note for the paper needs its text.", field="note")
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError(
            f"The note is {len(note)} characters; the limit is {MAX_NOTE_CHARS}.", field="note"
        )
    due_after_text: str | None = None
    if due is not None and due.strip():
        try:
            due_after_text = str(office.quarter(due))
        except QuarterParseError as exc:
            raise ValidationError(str(exc), field="due") from exc
    return note, due_after_text


def _plan_update(store: Reader, request: UpdateRequest, office: Office) -> _Plan:
    """Every check of an update, reading only: resolve, authorise, validate."""
    note, due_after_text = check_update_text(
        request.note,
        request.due,
        summary=request.summary,
        of_note=request.of_note,
        office=office,
    )
    deliverable = resolve_deliverable(store, request.deliverable)
    _check_author(request)
    if not deliverable.can_be_updated_by(request.actor):
        owner = store.person(deliverable.owner_id) if deliverable.owner_id else None
        raise NotAuthorised(
            f"Only {owner.name if owner else 'its owner'} or an editor can update "
            f"{deliverable.ref}.",
            field="deliverable",
        )
    status_before = deliverable.status
    status_after = request.status or status_before
    due_before = deliverable.due
    due_after = due_after_text if due_after_text is not None else due_before
    deps = request.dependencies
    changes_anything = (
        status_after != status_before
        or due_after != due_before
        or (deps is not None and deps != deliverable.dependencies)
    )
    if not note and not changes_anything:
        raise ValidationError(
            "Add a note saying what happened, e.g. `: Market engagement event planned`.",
            field="note",
        )
    if not note and status_after != status_before and status_after.needs_note_when_entered:
        raise ValidationError(
            f"Putting a deliverable {status_after.label.lower()} needs a note explaining why.",
            field="note",
        )
    if not note and _slipped(due_before, due_after, office):
        raise ValidationError(
            f"Moving the due quarter later ({due_before} → {due_after}) needs a note "
            "explaining why.",
            field="note",
        )
    return _Plan(deliverable, note, status_before, status_after, due_before, due_after, deps)


def _check_author(request: UpdateRequest) -> None:
    """Recording an update in someone else's name is an editor's job (history imports)."""
    on_behalf = request.author is not None and request.author.id != request.actor.id
    if on_behalf and not request.actor.can_edit_any:
        raise NotAuthorised(
            "Only an editor or admin can record an update on someone else's behalf.",
            field="deliverable",
        )


def check_update(
    store: Reader, request: UpdateRequest, *, office: Office = AN_OFFICE
) -> Deliverable:
    """Run every check :func:`record_update` would, without writing; returns the target.

    Forms use it to show errors inline before closing, without waiting for the write lock.
    """
    return _plan_update(store, request, office).deliverable


def record_update(
    store: Store, request: UpdateRequest, *, office: Office = AN_OFFICE
) -> UpdateOutcome:
    """Validate, authorise and append one update, changing status and due quarter with it.

    A request whose ``idempotency_key`` was recorded already writes nothing: it gets the
    outcome the first one had (checked inside the transaction, so concurrent repeats too)."""
    with store.transaction():
        if request.idempotency_key is not None:
            earlier = store.update_by_key(request.idempotency_key)
            if earlier is not None and earlier.person_id == request.actor.id:
                return _replayed(store, earlier)
        plan = _plan_update(store, request, office)
        deliverable = plan.deliverable
        update_id = store.append_update(
            deliverable_id=deliverable.id,
            person_id=(request.author or request.actor).id,
            source=request.source,
            note=plan.note,
            status_before=plan.status_before,
            status_after=plan.status_after,
            due_before=plan.due_before,
            due_after=plan.due_after,
            dependencies=plan.dependencies,
            recorded_at=request.recorded_at,
            link=request.link,
            summary=request.summary,
            idempotency_key=request.idempotency_key,
            of_note=request.of_note,
        )
        changed: dict[str, object] = {}
        if plan.status_after != plan.status_before:
            changed["status"] = plan.status_after
        if plan.due_after != plan.due_before:
            changed["due"] = plan.due_after
        if plan.dependencies is not None and plan.dependencies != deliverable.dependencies:
            changed["dependencies"] = plan.dependencies
        if changed:
            store.set_deliverable_fields(deliverable.id, **changed)
        after = store.deliverable(deliverable.id)
        assert after is not None
    return UpdateOutcome(
        deliverable=after,
        update_id=update_id,
        status_before=plan.status_before,
        status_after=plan.status_after,
        due_before=plan.due_before,
        due_after=plan.due_after,
        dependencies_before=deliverable.dependencies,
        dependencies_after=after.dependencies,
    )


def recorded_outcome(store: Reader, idempotency_key: str) -> UpdateOutcome | None:
    """The outcome of the update a request with this key made, or ``None`` (reads only)."""
    earlier = store.update_by_key(idempotency_key)
    return _replayed(store, earlier) if earlier is not None else None


def _replayed(store: Reader, earlier: Update) -> UpdateOutcome:
    deliverable = store.deliverable(earlier.deliverable_id)
    assert deliverable is not None
    return UpdateOutcome(
        deliverable=deliverable,
        update_id=earlier.id,
        status_before=earlier.status_before or deliverable.status,
        status_after=earlier.status_after or deliverable.status,
        due_before=earlier.due_before,
        due_after=earlier.due_after,
        replayed=True,
    )


def _slipped(before: str | None, after: str | None, office: Office) -> bool:
    if not before or not after or before == after:
        return False
    try:
        return office.quarter(after) > office.quarter(before)
    except QuarterParseError:
        return False
