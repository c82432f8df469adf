"""Reading the plan for a person in any channel: ``list`` and ``show``, as results that
each channel renders (Slack as Block Kit; another chat platform its own way)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.grammar import ListCommand
from handlers.service.errors import ServiceError
from handlers.service.plan_shape import find_theme
from handlers.service.updates import resolve_deliverable
from store import Deliverable, Office, Person, Reader, Theme, Update

__all__ = [
    "DeliverableRow",
    "Listing",
    "Shown",
    "Unidentified",
    "deliverable_rows",
    "list_deliverables",
    "show_deliverable",
]


class Unidentified(ServiceError):
    """The answer depends on who is asking, and the channel does not know them."""


@dataclass(frozen=True)
class DeliverableRow:
    deliverable: Deliverable
    theme: Theme
    owner: Person | None
    last_update: Update | None
    stale: bool


@dataclass(frozen=True)
class Listing:
    title: str
    rows: Sequence[DeliverableRow]


@dataclass(frozen=True)
class Shown:
    """A deliverable with its theme, owner and latest updates (newest first)."""

    deliverable: Deliverable
    theme: Theme
    owner: Person | None
    updates: Sequence[Update]
    people: dict[int, Person]


def deliverable_rows(store: Reader, office: Office) -> list[DeliverableRow]:
    """Every deliverable in plan order, with its theme, owner, newest update, staleness
    (no update for the office's ``stale_weeks``, as of its clock)."""
    now, stale_weeks = office.now(), office.stale_weeks
    return [
        DeliverableRow(
            deliverable=v.deliverable,
            theme=v.theme,
            owner=v.owner,
            last_update=v.last_update,
            stale=v.stale(now, weeks=stale_weeks),
        )
        for v in store.overview()
    ]


def list_deliverables(
    store: Reader, cmd: ListCommand, *, actor: Person | None, office: Office
) -> Listing:
    """``list``: the open deliverables, ``mine`` (the actor's), ``stale``, ``all``, or a
    theme's. Raises :class:`Unidentified` for ``mine`` without an actor, and a
    ``ValidationError`` for a theme that matches nothing."""
    found = deliverable_rows(store, office)
    scope = (cmd.scope or "").lower()
    if not scope:
        open_rows = [r for r in found if r.deliverable.status.is_open]
        return Listing("Open deliverables", open_rows or found)
    if cmd.mine:
        if actor is None:
            raise Unidentified("I don't know who you are in the plan yet.")
        return Listing(
            "Your deliverables", [r for r in found if r.deliverable.owner_id == actor.id]
        )
    if scope == "stale":
        title = f"Stale deliverables (no update for {office.stale_weeks} weeks)"
        return Listing(title, [r for r in found if r.stale])
    if scope == "all":
        return Listing("All deliverables", found)
    theme = find_theme(store, cmd.scope or "")
    return Listing(f"{theme.code} · {theme.name}", [r for r in found if r.theme.id == theme.id])


def show_deliverable(store: Reader, ref: str, *, updates: int = 5) -> Shown:
    """``show``: one deliverable and its last ``updates`` updates."""
    d = resolve_deliverable(store, ref)
    theme = next(t for t in store.themes() if t.id == d.theme_id)
    people = {p.id: p for p in store.people()}
    history = store.updates(deliverable_id=d.id, newest_first=True, limit=updates)
    owner = people.get(d.owner_id) if d.owner_id else None
    return Shown(d, theme, owner, history, people)
