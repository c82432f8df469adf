"""Slippage typed as prose: when an update's note names a later quarter than the due one
("slipping to Q4 - waiting on MoJ steer") and the update did not move the due quarter, the
reply asks once whether to move it. Each answer is an update like any other.

The question waits as a pending action tied to the person asked; answering takes it in the
same transaction as the update it records, so a second click finds nothing to answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers.service.errors import NotAuthorised, ValidationError
from handlers.service.updates import UpdateOutcome, UpdateRequest, record_update
from store import (
    AN_OFFICE,
    Office,
    Person,
    QuarterParseError,
    QuarterSpan,
    Source,
    Store,
)
from store.slippage import later_quarter_named

__all__ = ["SLIP_KIND", "SlipQuestion", "answer_slip", "ask_about_slip", "keep_note", "slip_named"]

SLIP_KIND = "slip"


@dataclass(frozen=True)
class SlipQuestion:
    token: str
    ref: str
    named: str  # the later quarter the note names, "Q3 2022/23"
    recorded: str  # the due quarter as recorded, "Q2 2022/23"


def keep_note(recorded: str) -> str:
    """The note of a "keep" answer: it names the quarter again, so the report knows the due
    quarter was confirmed, and says "no change", so the paper's line does not use it."""
    return f"No change to the due quarter: {recorded} stands."


def slip_named(
    outcome: UpdateOutcome, note: str, *, on: dt.date, office: Office = AN_OFFICE
) -> tuple[QuarterSpan, QuarterSpan] | None:
    """(the later quarter the note names, the recorded due) when the update left a due
    quarter in place that its own note has overtaken; else None. Pure."""
    if outcome.due_changed or not outcome.due_after or not note.strip():
        return None
    try:
        recorded = office.quarter(outcome.due_after)
    except QuarterParseError:
        return None
    named = later_quarter_named(note, recorded, on=on, start_month=office.fy_start_month)
    return (named, recorded) if named is not None else None


def ask_about_slip(
    store: Store,
    outcome: UpdateOutcome,
    *,
    actor: Person,
    note: str,
    on: dt.date,
    office: Office = AN_OFFICE,
) -> SlipQuestion | None:
    """Keep a question for ``actor`` when the note has overtaken the due quarter."""
    found = slip_named(outcome, note, on=on, office=office)
    if found is None:
        return None
    named, recorded = found
    payload = {
        "person_id": actor.id,
        "ref": outcome.deliverable.ref,
        "named": str(named),
        "recorded": str(recorded),
        "update_id": outcome.update_id,
    }
    with store.transaction():
        token = store.save_pending(SLIP_KIND, payload)
    return SlipQuestion(token, outcome.deliverable.ref, str(named), str(recorded))


def answer_slip(
    store: Store,
    token: str,
    *,
    actor: Person,
    move: bool,
    source: Source = Source.SLACK,
    office: Office = AN_OFFICE,
) -> UpdateOutcome:
    """Move the due quarter to the one the note named (the note is the reason, so the
    update carries it again), or keep it (a note saying it stands). Once only."""
    with store.transaction():
        payload = store.load_pending(token)
        if payload is None or "named" not in payload:
            raise ValidationError("That question has been answered already, or has expired.")
        if payload.get("person_id") != actor.id and not actor.can_edit_any:
            raise NotAuthorised("Only the person who wrote the note, or an editor, can answer.")
        store.drop_pending(token)
        d = store.deliverable_by_ref(payload["ref"])
        if d is None or d.due != payload["recorded"]:
            now = d.due if d is not None else None
            raise ValidationError(
                f"The due quarter of {payload['ref']} is {now or 'unset'} now, so nothing "
                "was changed."
            )
        if move:
            asked = store.updates_by_id([int(payload["update_id"])])
            request = UpdateRequest(
                deliverable=d.ref,
                actor=actor,
                source=source,
                note=asked[0].note if asked else "",
                due=payload["named"],
            )
        else:
            request = UpdateRequest(
                deliverable=d.ref, actor=actor, source=source, note=keep_note(payload["recorded"])
            )
        return record_update(store, request, office=office)
