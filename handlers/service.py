"""The one shared service that records updates and correspondence.

Slack, email and the CLI parse their input into a request and call these functions and
nothing else, so validation, authorisation and the append-only rule live in one place.
Each call runs in a single transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field

from store import (
    CORRESPONDENCE_CATEGORIES,
    Deliverable,
    Person,
    QuarterParseError,
    Source,
    Status,
    Store,
    Theme,
    parse_quarter_span,
)

__all__ = [
    "MAX_NOTE_CHARS",
    "AmbiguousDeliverable",
    "CorrespondenceOutcome",
    "CorrespondenceRequest",
    "NotAuthorised",
    "ServiceError",
    "UnknownDeliverable",
    "UpdateOutcome",
    "UpdateRequest",
    "ValidationError",
    "add_deliverable",
    "check_add",
    "check_update",
    "find_theme",
    "mail_token",
    "record_correspondence",
    "record_update",
    "resolve_deliverable",
    "set_away",
    "update_address",
]

MAX_NOTE_CHARS = 3000


class ServiceError(Exception):
    """A user-facing refusal. ``str(err)`` is safe to show to the person who asked."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValidationError(ServiceError):
    pass


class UnknownDeliverable(ServiceError):
    pass


class AmbiguousDeliverable(ServiceError):
    def __init__(self, message: str, candidates: list[Deliverable]) -> None:
        super().__init__(message, field="deliverable")
        self.candidates = candidates


class NotAuthorised(ServiceError):
    pass


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
    recorded_at: dt.datetime | None = None
    summary: bool = False  # the note is the summary for the panel paper


@dataclass(frozen=True)
class UpdateOutcome:
    deliverable: Deliverable  # the state after the update
    update_id: int
    status_before: Status
    status_after: Status
    due_before: str | None
    due_after: str | None

    @property
    def status_changed(self) -> bool:
        return self.status_before != self.status_after

    @property
    def due_changed(self) -> bool:
        return self.due_before != self.due_after


_WORD = re.compile(r"[\w']+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def resolve_deliverable(store: Store, text: str) -> Deliverable:
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
    wanted = _words(query)
    if not wanted:
        raise UnknownDeliverable(f"No deliverable matches {query!r}.", field="deliverable")
    everything = store.deliverables()
    exact = [d for d in everything if d.title.strip().lower() == query.lower()]
    if len(exact) == 1:
        return exact[0]
    matches = []
    for d in everything:
        title_words = _words(d.title)
        if all(any(t.startswith(w) for t in title_words) for w in wanted):
            matches.append(d)
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


def _plan_update(store: Store, request: UpdateRequest, fy_start_month: int) -> _Plan:
    """Every check of an update, reading only: resolve, authorise, validate."""
    note = request.note.strip()
    if request.summary and not note:
        raise ValidationError("A summary for the paper needs its text.", field="note")
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError(
            f"The note is {len(note)} characters; the limit is {MAX_NOTE_CHARS}.", field="note"
        )
    due_after_text: str | None = None
    if request.due is not None and request.due.strip():
        try:
            due_after_text = str(parse_quarter_span(request.due, start_month=fy_start_month))
        except QuarterParseError as exc:
            raise ValidationError(str(exc), field="due") from exc
    deliverable = resolve_deliverable(store, request.deliverable)
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
    if not note and status_after == Status.ON_HOLD and status_before != Status.ON_HOLD:
        raise ValidationError(
            "Putting a deliverable on hold needs a note explaining why.", field="note"
        )
    if not note and _slipped(due_before, due_after, fy_start_month):
        raise ValidationError(
            f"Moving the due quarter later ({due_before} → {due_after}) needs a note "
            "explaining why.",
            field="note",
        )
    return _Plan(deliverable, note, status_before, status_after, due_before, due_after, deps)


def check_update(store: Store, request: UpdateRequest, *, fy_start_month: int = 4) -> Deliverable:
    """Run every check :func:`record_update` would, without writing; returns the target.

    Forms use it to show errors inline before closing, without waiting for the write lock.
    """
    return _plan_update(store, request, fy_start_month).deliverable


def record_update(
    store: Store, request: UpdateRequest, *, fy_start_month: int = 4
) -> UpdateOutcome:
    """Validate, authorise and append one update, changing status and due quarter with it."""
    with store.transaction():
        plan = _plan_update(store, request, fy_start_month)
        deliverable = plan.deliverable
        update_id = store.append_update(
            deliverable_id=deliverable.id,
            person_id=request.actor.id,
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
    )


def _slipped(before: str | None, after: str | None, start_month: int) -> bool:
    if not before or not after or before == after:
        return False
    try:
        return parse_quarter_span(after, start_month=start_month) > parse_quarter_span(
            before, start_month=start_month
        )
    except QuarterParseError:
        return False


@dataclass(frozen=True)
class CorrespondenceRequest:
    dedup_key: str
    received_on: dt.date
    category: str = "public"
    forwarder: str | None = None  # the address that forwarded it
    sender_domain: str | None = None
    sender_hash: str | None = None
    subject: str | None = None
    message_id: str | None = None
    subject_key: str | None = None
    inbound_id: int | None = None
    flags: tuple[str, ...] = field(default=())
    recorded_at: dt.datetime | None = None


@dataclass(frozen=True)
class CorrespondenceOutcome:
    correspondence_id: int
    duplicate: bool
    forwarders: list[str]


def record_correspondence(store: Store, request: CorrespondenceRequest) -> CorrespondenceOutcome:
    """Count one piece of correspondence once; a repeat only adds its forwarder."""
    if request.category not in CORRESPONDENCE_CATEGORIES:
        raise ValidationError(
            f"Unknown category {request.category!r}; use one of "
            f"{', '.join(CORRESPONDENCE_CATEGORIES)}.",
            field="category",
        )
    if not request.dedup_key:
        raise ValidationError("A correspondence item needs a dedup key.", field="dedup_key")
    now = request.recorded_at or dt.datetime.now(dt.UTC)
    with store.transaction():
        existing = store.find_correspondence(request.dedup_key)
        if existing is not None:
            cid = int(existing["id"])
            duplicate = True
        else:
            forwarder_person = (
                store.person_by_email(request.forwarder) if request.forwarder else None
            )
            cid = store.insert_correspondence(
                {
                    "dedup_key": request.dedup_key,
                    "received_on": request.received_on.isoformat(),
                    "category": request.category,
                    "forwarder_id": forwarder_person.id if forwarder_person else None,
                    "sender_domain": request.sender_domain,
                    "sender_hash": request.sender_hash,
                    "subject": request.subject,
                    "flags": ",".join(request.flags) or None,
                    "message_id": request.message_id,
                    "subject_key": request.subject_key,
                    "inbound_id": request.inbound_id,
                    "recorded_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
                }
            )
            duplicate = False
        if request.forwarder:
            store.add_forward(cid, request.forwarder.lower(), now)
        forwarders = store.forwarders(cid)
    return CorrespondenceOutcome(correspondence_id=cid, duplicate=duplicate, forwarders=forwarders)


MAX_TITLE_CHARS = 300


def find_theme(store: Store, text: str) -> Theme:
    """A theme by code (``CF``) or by an unambiguous start of its name."""
    query = text.strip()
    theme = store.theme_by_code(query)
    if theme is not None:
        return theme
    themes = store.themes()
    matches = [t for t in themes if t.name.lower().startswith(query.lower())] if query else []
    if len(matches) == 1:
        return matches[0]
    codes = ", ".join(f"{t.code} ({t.name})" for t in themes)
    raise ValidationError(f"No single theme matches {query!r}. Themes: {codes}.", field="theme")


def _plan_add(store: Store, theme: str, title: str) -> tuple[Theme, str, list[Deliverable]]:
    """Every check of a new deliverable, reading only."""
    title = " ".join(title.split())
    if not title:
        raise ValidationError("Give the new deliverable a title.", field="title")
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(
            f"The title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}.", field="title"
        )
    found = find_theme(store, theme)
    existing = list(store.deliverables(theme_id=found.id))
    if any(d.title.lower() == title.lower() for d in existing):
        raise ValidationError(
            f"{found.code} already has a deliverable called {title!r}.", field="title"
        )
    return found, title, existing


def check_add(store: Store, *, theme: str, title: str) -> Theme:
    """The checks :func:`add_deliverable` makes, without writing (for inline form errors)."""
    return _plan_add(store, theme, title)[0]


def add_deliverable(
    store: Store,
    *,
    theme: str,
    title: str,
    actor: Person,
    source: Source,
    today: dt.date,
    due: str | None = None,
    fy_start_month: int = 4,
) -> Deliverable:
    """Add a new deliverable (status not-started, counted as new today), owned by ``actor``."""
    due_text = None
    if due:
        try:
            due_text = str(parse_quarter_span(due, start_month=fy_start_month))
        except QuarterParseError as exc:
            raise ValidationError(str(exc), field="due") from exc
    with store.transaction():
        found, title, existing = _plan_add(store, theme, title)
        numbers = [
            int(r.rsplit("-", 1)[1])
            for r in store.refs_for_theme(found.id)
            if r.rsplit("-", 1)[-1].isdigit()
        ]
        ref = f"{found.code}-{max(numbers, default=0) + 1}"
        did = store.insert_deliverable(
            ref=ref,
            theme_id=found.id,
            title=title,
            status=Status.NOT_STARTED,
            owner_id=actor.id,
            due=due_text,
            dependencies=False,
            added_on=today,
            position=max((d.position for d in existing), default=0) + 1,
        )
        store.append_update(
            deliverable_id=did,
            person_id=actor.id,
            source=source,
            note="",
            status_before=None,
            status_after=Status.NOT_STARTED,
            due_before=None,
            due_after=due_text,
        )
        created = store.deliverable(did)
        assert created is not None
    return created


def mail_token(store: Store, *, person: Person, rotate: bool = False) -> str:
    """The person's secret for updates by mail, made on first use; ``rotate`` replaces it
    (the old address stops working at once)."""
    with store.transaction():
        token = None if rotate else store.mail_token(person.id)
        if token is None:
            token = secrets.token_hex(10)
            store.set_mail_token(person.id, token)
    return token


def update_address(token: str, mail_domain: str, ref: str | None = None) -> str:
    """``update+CF-3+<token>@domain``, or ``updates+<token>@domain`` for any deliverable."""
    if ref:
        return f"update+{ref}+{token}@{mail_domain}"
    return f"updates+{token}@{mail_domain}"


def set_away(store: Store, *, actor: Person, until: dt.date | None, today: dt.date) -> None:
    """Mark a person away (no reminders) until a date, or clear it with ``None``."""
    if until is not None and until < today:
        raise ValidationError(f"{until.isoformat()} is in the past.", field="until")
    with store.transaction():
        store.set_person_away(actor.id, until)
