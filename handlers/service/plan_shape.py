"""The plan's shape: themes and new deliverables."""

from __future__ import annotations

import datetime as dt

from handlers.bounded import MAX_TITLE_CHARS
from handlers.service.errors import ValidationError
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
    Theme,
)

__all__ = [
    "MAX_TITLE_CHARS",
    "add_deliverable",
    "check_add",
    "create_deliverable",
    "find_theme",
    "next_ref",
]


def next_ref(
    store: Reader, theme_id: int, code: str, *, reserved: set[int] | frozenset[int] = frozenset()
) -> str:
    """The next free reference in a theme, ``CODE-n``: one more than any number in use (in
    the store, or ``reserved`` by the file being imported)."""
    numbers = {
        int(r.rsplit("-", 1)[1])
        for r in store.refs_for_theme(theme_id)
        if r.rsplit("-", 1)[-1].isdigit()
    }
    return f"{code}-{max(numbers | set(reserved), default=0) + 1}"


def find_theme(store: Reader, text: str) -> Theme:
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


def create_deliverable(
    store: Store,
    *,
    ref: str,
    theme_id: int,
    title: str,
    status: Status,
    owner_id: int | None,
    due: str | None,
    added_on: dt.date,
    position: int,
    person_id: int | None,
    source: Source,
    dependencies: bool | None = None,
    note: str = "",
    recorded_at: dt.datetime | None = None,
    summary: bool = False,
    idempotency_key: str | None = None,
) -> int:
    """A new deliverable and the update that starts its history (by ``person_id``, or the
    plan import), in the caller's transaction; its id. ``dependencies`` is the flag when the
    creator says it (a plan file does; ``add`` leaves it unsaid)."""
    did = store.insert_deliverable(
        ref=ref,
        theme_id=theme_id,
        title=title,
        status=status,
        owner_id=owner_id,
        due=due,
        dependencies=bool(dependencies),
        added_on=added_on,
        position=position,
    )
    store.append_update(
        deliverable_id=did,
        person_id=person_id,
        source=source,
        note=note,
        status_before=None,
        status_after=status,
        due_before=None,
        due_after=due,
        dependencies=dependencies,
        recorded_at=recorded_at,
        summary=summary,
        idempotency_key=idempotency_key,
    )
    return did


def _plan_add(store: Reader, theme: str, title: str) -> tuple[Theme, str, list[Deliverable]]:
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


def check_add(store: Reader, *, theme: str, title: str) -> Theme:
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
    office: Office = AN_OFFICE,
    idempotency_key: str | None = None,
) -> Deliverable:
    """Add a new deliverable (status not-started, counted as new today), owned by ``actor``.

    A repeat of the request (the same ``idempotency_key``) adds nothing and returns the
    deliverable the first one added."""
    due_text = None
    if due:
        try:
            due_text = str(office.quarter(due))
        except QuarterParseError as exc:
            raise ValidationError(str(exc), field="due") from exc
    with store.transaction():
        earlier = store.update_by_key(idempotency_key) if idempotency_key else None
        if earlier is not None and earlier.person_id == actor.id:
            added = store.deliverable(earlier.deliverable_id)
            assert added is not None
            return added
        found, title, existing = _plan_add(store, theme, title)
        did = create_deliverable(
            store,
            ref=next_ref(store, found.id, found.code),
            theme_id=found.id,
            title=title,
            status=Status.NOT_STARTED,
            owner_id=actor.id,
            due=due_text,
            added_on=today,
            position=max((d.position for d in existing), default=0) + 1,
            person_id=actor.id,
            source=source,
            idempotency_key=idempotency_key,
        )
        created = store.deliverable(did)
        assert created is not None
    return created
