"""The round's coordinator: open a round, find one, return a line with a comment,
reassign it, close the round and freeze its paper. Editors and admins only; each call is
one transaction, and each change an append-only event (see :mod:`handlers.service.round`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.service.errors import ValidationError
from handlers.service.round import (
    MAX_COMMENT_CHARS,
    LineOutcome,
    RoundRefused,
    _after,
    _clean,
    _editor,
    _key,
    _line,
    _open_book,
    _replay,
)
from store import Person, Reader, Store
from store.round import DraftLine, EventKind, Round, round_name

__all__ = [
    "OpenRound",
    "close_round",
    "find_round",
    "open_round",
    "reassign_line",
    "return_line",
]


@dataclass(frozen=True)
class OpenRound:
    name: str
    period_from: dt.date
    period_to: dt.date
    panel_on: dt.date
    due_on: dt.date
    alongside: bool = False  # keep another open round open beside this one


def find_round(store: Reader, name: str | None) -> Round:
    """The round called ``name``; with no name, the one open round (refused when there are
    none or several, naming them)."""
    if name:
        found = store.round(name)
        if found is None:
            names = ", ".join(r.name for r in store.rounds()) or "none yet"
            raise RoundRefused(f"There is no round called {name!r} (rounds: {names}).")
        return found
    open_ = store.rounds(open_only=True)
    if len(open_) == 1:
        return open_[0]
    if not open_:
        raise RoundRefused("No round is open.")
    names = ", ".join(r.name for r in open_)
    raise RoundRefused(f"{len(open_)} rounds are open ({names}); say which one.")


# -- opening ---------------------------------------------------------------------------------


def _check_open(store: Store, request: OpenRound, actor: Person, today: dt.date) -> str:
    _editor(actor, "open a round")
    name = round_name(request.name)
    if name is None:
        raise ValidationError(
            f"{request.name[:60]!r} cannot name a round: use lower-case letters, digits and "
            "dashes, up to 40, e.g. sept-2022.",
            field="name",
        )
    if request.period_to < request.period_from:
        raise ValidationError(f"--to {request.period_to} is before --from {request.period_from}.")
    if request.panel_on < request.due_on:
        raise ValidationError(
            f"--due {request.due_on} is after the panel meets ({request.panel_on})."
        )
    if request.due_on < today:
        raise ValidationError(f"--due {request.due_on} is in the past.")
    existing = store.round(name)
    if existing is not None:
        raise ValidationError(
            f"A round called {name} exists already (opened {existing.opened_at:%-d %B %Y}); "
            "choose another name."
        )
    open_ = store.rounds(open_only=True)
    if open_ and not request.alongside:
        other = open_[0]
        raise ValidationError(
            f"The round {other.name} is open (due {other.due_on:%-d %B %Y}). Close it first "
            f"(round close {other.name}), or open this one alongside it (--alongside) and "
            "name the round in every command and reply."
        )
    return name


def open_round(
    store: Store,
    request: OpenRound,
    *,
    actor: Person,
    lines: Sequence[DraftLine],
    now: dt.datetime,
    today: dt.date,
) -> Round:
    """Open a round for a paper, with every line the paper would print as drafted now."""
    with store.transaction():
        name = _check_open(store, request, actor, today)
        if not lines:
            raise ValidationError(
                f"No deliverable would appear in a paper for {request.period_from} to "
                f"{request.period_to}, so there is nothing to ask anyone."
            )
        round_ = Round(
            name=name,
            period_from=request.period_from,
            period_to=request.period_to,
            panel_on=request.panel_on,
            due_on=request.due_on,
            opened_at=now,
            opened_by=actor.id,
        )
        store.insert_round(round_, lines)
    return round_


# -- the coordinator ---------------------------------------------------------------------------


def return_line(
    store: Store,
    name: str,
    *,
    ref: str,
    actor: Person,
    comment: str,
    now: dt.datetime,
    key: str | None = None,
    source: str = "cli",
) -> LineOutcome:
    """Send a line back to its owner with a comment; it is pending until they answer again."""
    _editor(actor, "return a line")
    note = _clean(comment, "comment", MAX_COMMENT_CHARS)
    if not note:
        raise ValidationError(
            'Say what the owner should change, e.g. "please add the funding figure".'
        )
    with store.transaction():
        event_key = _key("return", key) if key else None
        earlier = _replay(store, event_key)
        if earlier is not None:
            return earlier
        book = _open_book(store, name)
        view = _line(store, book, ref)
        if view.owner_id is None:
            raise RoundRefused(f"{view.ref} has no owner: reassign it first.")
        store.append_round_event(
            round_name=book.round.name,
            deliverable_id=view.line.deliverable_id,
            kind=EventKind.RETURNED,
            person_id=actor.id,
            at=now,
            key=event_key,
            comment=note,
            source=source,
        )
        return _after(store, book, view.ref)


def reassign_line(
    store: Store,
    name: str,
    *,
    ref: str,
    actor: Person,
    to: Person,
    now: dt.datetime,
    key: str | None = None,
    source: str = "cli",
) -> LineOutcome:
    """Give a line to someone else (its owner left, or said "not mine"): the new owner is
    asked, and owns the deliverable in the plan from now on."""
    _editor(actor, "reassign a line")
    with store.transaction():
        event_key = _key("reassign", key) if key else None
        earlier = _replay(store, event_key)
        if earlier is not None:
            return earlier
        book = _open_book(store, name)
        view = _line(store, book, ref)
        if view.owner_id == to.id and view.waiting:
            raise ValidationError(f"{view.ref} is {to.name}'s already, and waiting for them.")
        store.append_round_event(
            round_name=book.round.name,
            deliverable_id=view.line.deliverable_id,
            kind=EventKind.REASSIGNED,
            person_id=actor.id,
            at=now,
            key=event_key,
            owner_id=to.id,
            source=source,
        )
        d = store.deliverable(view.line.deliverable_id)
        if d is not None and d.owner_id != to.id:
            store.set_deliverable_fields(d.id, owner_id=to.id)
        return _after(store, book, view.ref)


def close_round(
    store: Store, name: str, *, actor: Person, snapshot: dict[str, object], now: dt.datetime
) -> Round:
    """Close the round and freeze the paper's data under the round's name (as ``report
    --freeze``), so the paper can be rebuilt exactly, and ``--since-snapshot`` works."""
    _editor(actor, "close a round")
    with store.transaction():
        book = _open_book(store, name)
        if store.snapshot(book.round.name) is not None:
            raise ValidationError(
                f"A snapshot called {book.round.name} exists already, so the round cannot "
                "freeze its paper under its own name."
            )
        store.save_snapshot(book.round.name, snapshot)
        store.set_round_closed(book.round.name, at=now, by=actor.id)
        closed = store.round(book.round.name)
        assert closed is not None
    return closed
