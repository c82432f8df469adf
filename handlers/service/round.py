"""The paper round's use cases, the only writer of rounds: open one, record what each owner
was shown, approve, edit, say "not mine", return a line, reassign it, close the round.

Every decision is an append-only event with who and when. The same decision twice is one
event: an approval (or "not mine") is keyed by the ask it answers, the person, and the
line's last change of course (a return, an edit, a reassignment), so a button pressed
twice, a mail sent twice or a request Slack retries records once, while an approval after a
return is a new one. Edits and returns carry the key of the request that made them (a
form's view and values, a mail's Message-ID). Each call is one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.bounded import MAX_NOTE_CHARS
from handlers.service.errors import NotAuthorised, ServiceError, ValidationError
from handlers.service.updates import UpdateOutcome, UpdateRequest, record_update
from store import AN_OFFICE, Office, Person, Source, Status, Store, one_paragraph
from store.round import (
    EventKind,
    LineView,
    Round,
    RoundBook,
    RoundEvent,
)

__all__ = [
    "MAX_COMMENT_CHARS",
    "LineOutcome",
    "RoundClosed",
    "RoundRefused",
    "approve_line",
    "approve_waiting",
    "edit_line",
    "not_mine",
    "record_asks",
]

MAX_COMMENT_CHARS = 1000


class RoundRefused(ServiceError):
    """A round that cannot be used as asked (unknown, or a line not in it)."""


class RoundClosed(RoundRefused):
    """The round has closed: the paper is written, and nothing about it changes."""


@dataclass(frozen=True)
class LineOutcome:
    round: Round
    view: LineView  # the line after the call
    replayed: bool = False  # the same decision had been recorded; nothing new was written
    update: UpdateOutcome | None = None  # an edit's update (the words as the summary note)


def _key(*parts: object) -> str:
    basis = ":".join(str(p) for p in parts)
    return f"round:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


def _clean(text: str, what: str, limit: int) -> str:
    text = one_paragraph(text or "").strip()
    if len(text) > limit:
        raise ValidationError(f"The {what} is {len(text)} characters; the limit is {limit}.")
    return text


def _book(store: Store, name: str) -> RoundBook:
    book = store.round_book(name)
    if book is None:
        raise RoundRefused(f"There is no round called {name!r}.")
    return book


def _coordinator(store: Store, round_: Round) -> str:
    person = store.person(round_.opened_by) if round_.opened_by is not None else None
    return person.name if person else "the coordinator"


def _open_book(store: Store, name: str) -> RoundBook:
    book = _book(store, name)
    r = book.round
    if r.closed_at is not None:
        raise RoundClosed(
            f"The round {r.name} closed on {r.closed_at:%-d %B %Y}, so nothing was changed: "
            f"the paper has been written. Tell {_coordinator(store, r)} if a line is wrong."
        )
    return book


def _line(store: Store, book: RoundBook, ref: str) -> LineView:
    view = book.by_ref().get(ref.strip().upper())
    if view is None:
        d = store.deliverable_by_ref(ref)
        what = f"{d.ref} {d.title}" if d else repr(ref)
        raise RoundRefused(f"{what} is not in the round {book.round.name}.")
    return view


def _owned(book: RoundBook, view: LineView, actor: Person) -> None:
    if view.owner_id != actor.id:
        raise NotAuthorised(
            f"{view.ref} is {book.owner_name(view)}'s line in the round {book.round.name}; "
            "only they can answer for it. An editor can reassign it "
            f"(deliverabot round reassign {book.round.name} {view.ref} EMAIL)."
        )


def _editor(actor: Person, doing: str) -> None:
    if not actor.can_edit_any:
        raise NotAuthorised(f"Only an editor or admin can {doing}.")


def _epoch(view: LineView, kind: EventKind) -> int:
    """The id of the line's last change of course (any decision but another ``kind``, a
    return, a reassignment): what makes a repeat a new decision rather than the same one."""
    same = (EventKind.ASKED, kind)
    return max((e.id for e in view.events if e.kind not in same), default=0)


def _after(store: Store, book: RoundBook, ref: str, **extra: object) -> LineOutcome:
    fresh = _book(store, book.round.name)
    return LineOutcome(fresh.round, _line(store, fresh, ref), **extra)  # type: ignore[arg-type]


def _replay(store: Store, key: str | None) -> LineOutcome | None:
    if key is None:
        return None
    earlier = store.round_event_by_key(key)
    if earlier is None:
        return None
    book = _book(store, earlier.round)
    view = next(v for v in book.views if v.line.deliverable_id == earlier.deliverable_id)
    return LineOutcome(book.round, view, replayed=True)


def record_asks(
    store: Store,
    name: str,
    *,
    person_id: int,
    lines: Sequence[tuple[int, str]],
    key: str,
    now: dt.datetime,
    source: str,
) -> dict[int, RoundEvent]:
    """Record the words a person is shown for each of their lines (deliverable id, text),
    before the message goes out; a delivery sent again records nothing new. Returns the ask
    of each line, by deliverable id."""
    asks: dict[int, RoundEvent] = {}
    with store.transaction():
        book = _open_book(store, name)
        owned = {v.line.deliverable_id for v in book.owned_by(person_id)}
        for deliverable_id, text in lines:
            if deliverable_id not in owned:
                continue
            line_key = _key("ask", key, deliverable_id)
            event_id = store.append_round_event(
                round_name=book.round.name,
                deliverable_id=deliverable_id,
                kind=EventKind.ASKED,
                person_id=person_id,
                at=now,
                key=line_key,
                text=text,
                source=source,
            )
            event = store.round_event(event_id) if event_id else store.round_event_by_key(line_key)
            if event is not None:
                asks[deliverable_id] = event
    return asks


# -- the owner's answers -----------------------------------------------------------------------


def _answer(
    store: Store,
    name: str,
    kind: EventKind,
    *,
    ref: str,
    actor: Person,
    now: dt.datetime,
    source: str,
    comment: str | None = None,
) -> LineOutcome:
    book = _open_book(store, name)
    view = _line(store, book, ref)
    _owned(book, view, actor)
    key = _key(kind, view.line.deliverable_id, actor.id, _epoch(view, kind))
    earlier = _replay(store, key)
    if earlier is not None:
        return earlier
    store.append_round_event(
        round_name=book.round.name,
        deliverable_id=view.line.deliverable_id,
        kind=kind,
        person_id=actor.id,
        at=now,
        key=key,
        text=view.text if kind is EventKind.APPROVED else None,
        comment=comment,
        source=source,
    )
    return _after(store, book, view.ref)


def approve_line(
    store: Store, name: str, *, ref: str, actor: Person, now: dt.datetime, source: str
) -> LineOutcome:
    """The owner approves the words they were last shown for this line."""
    with store.transaction():
        return _answer(
            store, name, EventKind.APPROVED, ref=ref, actor=actor, now=now, source=source
        )


def approve_waiting(
    store: Store,
    name: str,
    *,
    actor: Person,
    now: dt.datetime,
    source: str,
    refs: Sequence[str] | None = None,
) -> list[LineOutcome]:
    """Approve all: each of the person's lines still waiting (of ``refs``, the lines the
    message showed, when given), as they were shown; one event per line, and the same ones
    as approving them one by one."""
    wanted = {r.upper() for r in refs} if refs is not None else None
    with store.transaction():
        book = _open_book(store, name)
        return [
            _answer(store, name, EventKind.APPROVED, ref=v.ref, actor=actor, now=now, source=source)
            for v in book.owned_by(actor.id)
            if v.waiting and (wanted is None or v.ref.upper() in wanted)
        ]


def not_mine(
    store: Store,
    name: str,
    *,
    ref: str,
    actor: Person,
    now: dt.datetime,
    source: str,
    comment: str = "",
) -> LineOutcome:
    """The owner says the line is not theirs; the coordinator is told, and reassigns it."""
    note = _clean(comment, "comment", MAX_COMMENT_CHARS) or None
    with store.transaction():
        return _answer(
            store,
            name,
            EventKind.NOT_MINE,
            ref=ref,
            actor=actor,
            now=now,
            source=source,
            comment=note,
        )


def edit_line(
    store: Store,
    name: str,
    *,
    ref: str,
    actor: Person,
    text: str,
    now: dt.datetime,
    source: Source,
    key: str | None,
    status: Status | None = None,
    due: str | None = None,
    dependencies: bool | None = None,
    office: Office = AN_OFFICE,
) -> LineOutcome:
    """The owner writes the line. The words are also the deliverable's summary note for the
    period, recorded as an update with any change of status, due quarter or dependencies, so
    a correction is made once."""
    words = _clean(text, "line", MAX_NOTE_CHARS)
    if not words:
        raise ValidationError("Write the line the paper should print.", field="line")
    with store.transaction():
        event_key = _key("edit", key) if key else None
        earlier = _replay(store, event_key)
        if earlier is not None:
            return earlier
        book = _open_book(store, name)
        view = _line(store, book, ref)
        _owned(book, view, actor)
        update = record_update(
            store,
            UpdateRequest(
                deliverable=view.ref,
                actor=actor,
                source=source,
                note=words,
                status=status,
                due=due,
                dependencies=dependencies,
                summary=True,
                idempotency_key=f"{event_key}:update" if event_key else None,
            ),
            office=office,
        )
        store.append_round_event(
            round_name=book.round.name,
            deliverable_id=view.line.deliverable_id,
            kind=EventKind.EDITED,
            person_id=actor.id,
            at=now,
            key=event_key,
            text=words,
            update_id=update.update_id,
            source=str(source),
        )
        return _after(store, book, view.ref, update=update)
