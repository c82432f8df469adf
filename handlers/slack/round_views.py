"""The round in Block Kit (pure): each owner's DM of their lines with Approve, Edit and Not
mine, the reminder, the edit and return forms, the coordinator's notice, and the round on
an editor's App Home.

Staff text goes through :func:`esc` or into ``plain_text``; button values carry only the
round's name and references, never text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from handlers.slack.blocks import context, esc, plain, section
from store import Deliverable, Status
from store.round import LineState, LineView, RoundBook, Tally, tally

__all__ = [
    "EDIT_CALLBACK",
    "LINES_PER_MESSAGE",
    "RETURN_CALLBACK",
    "edit_modal",
    "home_blocks",
    "line_message",
    "notice_message",
    "return_modal",
    "status_text",
]

EDIT_CALLBACK = "round_edit"
RETURN_CALLBACK = "round_return"
LINES_PER_MESSAGE = 22  # two blocks a line, and a few around them, within Slack's 50
SECTION_NAMES = {"completed": "Completed", "current": "Current", "new": "New"}
MARKS = {
    LineState.APPROVED: ":white_check_mark:",
    LineState.EDITED: ":pencil2:",
    LineState.PENDING: ":hourglass_flowing_sand:",
    LineState.NOT_MINE: ":no_entry_sign:",
}


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%B}"


def value(name: str, ref: str | None, scope: Sequence[str]) -> str:
    """A button's value: the round, the line, and the lines of the message it sits in."""
    return json.dumps({"r": name, "ref": ref, "s": list(scope)}, separators=(",", ":"))


def _line_block(book: RoundBook, view: LineView) -> dict[str, Any]:
    words = esc(view.text) if view.text else "_(nothing under the title yet)_"
    head = (
        f"*{esc(view.ref)}* {esc(view.line.title)} · _{SECTION_NAMES.get(view.line.section, '')}_"
    )
    label = "Update" if view.line.section != "new" else "Line under the title"
    return section(f"{head}\n>{label}: {words}")


def _buttons(book: RoundBook, view: LineView, scope: Sequence[str]) -> dict[str, Any]:
    v = value(book.round.name, view.ref, scope)
    return {
        "type": "actions",
        "block_id": f"round_{view.ref}"[:255],
        "elements": [
            {
                "type": "button",
                "action_id": "round_approve",
                "style": "primary",
                "text": plain("Approve"),
                "value": v,
            },
            {"type": "button", "action_id": "round_edit", "text": plain("Edit"), "value": v},
            {
                "type": "button",
                "action_id": "round_not_mine",
                "text": plain("Not mine"),
                "value": v,
            },
        ],
    }


def _settled(book: RoundBook, view: LineView, tz: dt.tzinfo) -> dict[str, Any]:
    e = view.decided
    when = f", {e.at.astimezone(tz):%-d %b %H:%M}" if e is not None else ""
    said = {
        LineState.APPROVED: "Approved",
        LineState.EDITED: "Edited",
        LineState.NOT_MINE: "Not mine: the coordinator will reassign it",
    }[view.state]
    by = book.people.get(e.person_id, "") if e is not None and e.person_id else ""
    return context(f"{MARKS[view.state]} {said}{' by ' + esc(by) if by else ''}{when}")


def line_message(
    book: RoundBook,
    refs: Sequence[str],
    *,
    person: str,
    tz: dt.tzinfo,
    kind: str = "ask",
) -> dict[str, Any]:
    """One owner's lines (``refs``, in the paper's order) with their buttons; a line already
    answered shows how. ``kind`` is ``ask``, ``again`` (returned or reassigned),
    ``reminder`` or ``final``."""
    r = book.round
    views = [book.by_ref()[ref.upper()] for ref in refs if ref.upper() in book.by_ref()]
    waiting = [v for v in views if v.waiting]
    intro = {
        "ask": (
            f"Hello {esc(person)} :wave: The panel paper for {r.period_from:%-d %B} to "
            f"{r.period_to:%-d %B %Y} goes to the panel on {_day(r.panel_on)}. Please check "
            f"the line it will print for each of your deliverables by *{_day(r.due_on)}*: "
            "*Approve* it, *Edit* it, or say it is *Not mine*."
        ),
        "again": f"{esc(person)}, this line needs another look before *{_day(r.due_on)}*.",
        "reminder": (
            f":bell: A reminder, {esc(person)}: {len(waiting)} of your lines for the panel "
            f"paper are waiting. They are due by *{_day(r.due_on)}*."
        ),
        "final": (
            f":bell: Last call, {esc(person)}: {len(waiting)} of your lines for the panel "
            "paper are due *today*. Lines not approved go in as the bot's draft."
        ),
    }[kind]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Your lines for the panel paper")},
        section(intro),
    ]
    scope = [v.ref for v in views]
    for view in views:
        blocks.append(_line_block(book, view))
        if view.returned is not None and view.waiting:
            who = book.people.get(view.returned.person_id or 0, "The coordinator")
            blocks.append(
                context(
                    f":leftwards_arrow_with_hook: {esc(who)}: {esc(view.returned.comment or '')}"
                )
            )
        blocks.append(_buttons(book, view, scope) if view.waiting else _settled(book, view, tz))
    if len(waiting) > 1:
        blocks.append(
            {
                "type": "actions",
                "block_id": "round_all",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "round_approve_all",
                        "text": plain(f"Approve all {len(waiting)} as shown"),
                        "value": value(r.name, None, scope),
                    }
                ],
            }
        )
    blocks.append(context(f"Round `{esc(r.name)}` · due {_day(r.due_on)}"))
    text = f"{len(waiting)} of your lines for the panel paper are waiting (due {_day(r.due_on)})."
    if not waiting:
        text = "All your lines for the panel paper are answered. Thank you."
    return {"text": text, "blocks": blocks[:50]}


def notice_message(book: RoundBook, view: LineView) -> dict[str, Any]:
    """To the coordinator: an owner says a line is not theirs."""
    who = book.people.get(view.decided.person_id or 0, "Its owner") if view.decided else "Its owner"
    comment = view.decided.comment if view.decided else None
    text = (
        f":no_entry_sign: {esc(who)} says *{esc(view.ref)}* {esc(view.line.title)} is not "
        f"theirs (round `{esc(book.round.name)}`)."
        + (f"\n>{esc(comment)}" if comment else "")
        + "\nReassign it: "
        + f"`/deliverable round reassign {esc(book.round.name)} {esc(view.ref)} EMAIL`"
    )
    return {"text": f"{esc(who)} says {esc(view.ref)} is not theirs.", "blocks": [section(text)]}


def _input(
    block_id: str, label: str, element: dict[str, Any], optional: bool = True
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def edit_modal(
    view: LineView,
    deliverable: Deliverable,
    quarters: list[dict[str, Any]],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """The line prefilled, with the deliverable's status, due quarter and dependencies, so a
    correction is made once."""
    line: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "line",
        "multiline": True,
        "max_length": 3000,
        "initial_value": view.text[:3000],
    }
    status_options = [{"text": plain(s.label), "value": s.value} for s in Status]
    status = {
        "type": "radio_buttons",
        "action_id": "status",
        "options": status_options,
        "initial_option": {
            "text": plain(deliverable.status.label),
            "value": deliverable.status.value,
        },
    }
    due: dict[str, Any] = {
        "type": "static_select",
        "action_id": "due",
        "placeholder": plain("Choose a quarter"),
        "options": quarters or [{"text": plain("none"), "value": "none"}],
    }
    chosen = [o for o in due["options"] if o["value"] == deliverable.due]
    if chosen:
        due["initial_option"] = chosen[0]
    deps_option = {"text": plain("Dependencies identified"), "value": "dependencies"}
    deps: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "dependencies",
        "options": [deps_option],
    }
    if deliverable.dependencies:
        deps["initial_options"] = [deps_option]
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK,
        "title": plain("Edit your line"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": [
            section(f"*{esc(view.ref)}* {esc(view.line.title)}"),
            _input("line", "The line the paper prints", line, optional=False),
            _input("status", "Status", status),
            _input("due", "Due quarter", due),
            _input("flags", "Flags", deps),
        ],
    }


def return_modal(book: RoundBook, view: LineView) -> dict[str, Any]:
    comment = {
        "type": "plain_text_input",
        "action_id": "comment",
        "multiline": True,
        "max_length": 1000,
    }
    return {
        "type": "modal",
        "callback_id": RETURN_CALLBACK,
        "title": plain("Return a line"),
        "submit": plain("Return"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"r": book.round.name, "ref": view.ref}),
        "blocks": [
            section(
                f"*{esc(view.ref)}* {esc(view.line.title)} ({esc(book.owner_name(view))})"
                f"\n>{esc(view.text)}"
            ),
            _input("comment", "What should the owner change?", comment, optional=False),
        ],
    }


def _counts(t: Tally) -> str:
    return (
        f"{MARKS[LineState.APPROVED]} {t.approved} approved · {MARKS[LineState.EDITED]} {t.edited} "
        f"edited · {MARKS[LineState.PENDING]} {t.pending} pending · "
        f"{MARKS[LineState.NOT_MINE]} {t.not_mine} not mine"
    )


def status_text(book: RoundBook) -> str:
    """The round at a glance (mrkdwn): overall, by owner and by theme."""
    r = book.round
    overall = tally(book.views).get("", Tally())
    state = "closed" if r.closed_at else f"due {_day(r.due_on)}, panel {_day(r.panel_on)}"
    lines = [f"*Round {esc(r.name)}* · {state}", _counts(overall), "*By owner*"]
    for key, t in tally(book.views, "owner").items():
        name = book.people.get(int(key), "nobody") if key else "nobody"
        lines.append(
            f"• {esc(name)}: {t.settled}/{t.total} settled, {t.pending} pending, "
            f"{t.not_mine} not mine"
        )
    lines.append("*By theme*")
    for key, t in tally(book.views, "theme").items():
        lines.append(f"• {esc(key)} {esc(book.themes.get(key, ''))}: {t.settled}/{t.total} settled")
    return "\n".join(lines)


def home_blocks(books: Sequence[RoundBook], *, limit: int = 20) -> list[dict[str, Any]]:
    """Open rounds on an editor's App Home: the counts, and each answered line with a Return
    button (the newest answers first), then the lines said to be not theirs."""
    blocks: list[dict[str, Any]] = []
    for book in books:
        r = book.round
        overall = tally(book.views).get("", Tally())
        blocks.append({"type": "header", "text": plain(f"Paper round {r.name}")})
        blocks.append(
            section(f"Due {_day(r.due_on)} · panel {_day(r.panel_on)}\n{_counts(overall)}")
        )
        answered = sorted(
            (v for v in book.views if v.state is not LineState.PENDING),
            key=lambda v: -(v.decided.id if v.decided else 0),
        )
        for view in answered[:limit]:
            emoji = MARKS[view.state]
            text = f"{emoji} *{esc(view.ref)}* {esc(book.owner_name(view))}: {esc(view.text)[:280]}"
            if view.settled:
                button = {
                    "type": "button",
                    "action_id": "round_return_open",
                    "text": plain("Return"),
                    "value": value(r.name, view.ref, ()),
                }
                blocks.append(section(text, accessory=button))
            else:
                blocks.append(section(text))
        if len(answered) > limit:
            blocks.append(
                context(
                    f"…and {len(answered) - limit} more: `/deliverable round status {esc(r.name)}`"
                )
            )
        blocks.append({"type": "divider"})
    return blocks
