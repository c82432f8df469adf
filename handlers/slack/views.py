"""Block Kit builders: pure functions from domain data to Slack payloads.

Every piece of user text goes through :func:`esc` (mrkdwn) or into a ``plain_text`` object,
so ``<!channel>``, ``<!here>`` and ``<@U…>`` typed by staff never ping anyone. Every message
carries a ``text`` fallback and stays within Block Kit's limits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from handlers.service.listing import DeliverableRow, Shown
from handlers.slack.blocks import (
    MAX_SECTION_CHARS,
    context,
    esc,
    plain,
    section,
    sections,
)
from store import (
    Deliverable,
    FinancialYearQuarter,
    Person,
    Status,
    Theme,
    Update,
    age_text,
)

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "MAX_SECTION_CHARS",
    "add_modal",
    "ambiguity_message",
    "confirmation_text",
    "esc",
    "home_view",
    "list_message",
    "quarter_options",
    "show_message",
    "update_modal",
]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
UPDATE_CALLBACK = "deliverable_update"
ADD_CALLBACK = "deliverable_add"


def _cap(blocks: list[dict[str, Any]], limit: int, fallback: str) -> list[dict[str, Any]]:
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    kept.append(context(f"…and {len(blocks) - len(kept)} more blocks. {fallback}"))
    return kept


def row_line(row: DeliverableRow, now: dt.datetime) -> str:
    d = row.deliverable
    due = f" · due {d.due}" if d.due else ""
    when = age_text(row.last_update.recorded_at if row.last_update else None, now)
    stale = " · :hourglass: *stale*" if row.stale else ""
    return f"{d.status.emoji} *{esc(d.ref)}* {esc(d.title)}{due} · updated {when}{stale}"


def list_message(rows: Sequence[DeliverableRow], *, now: dt.datetime, title: str) -> dict[str, Any]:
    if not rows:
        return {
            "text": f"{esc(title)}: nothing to show.",
            "blocks": [section(f"*{esc(title)}*: nothing to show.")],
        }
    blocks: list[dict[str, Any]] = [section(f"*{esc(title)}* ({len(rows)})")]
    themes: dict[int, list[DeliverableRow]] = {}
    for row in rows:
        themes.setdefault(row.theme.id, []).append(row)
    for theme_rows in themes.values():
        theme = theme_rows[0].theme
        blocks.extend(
            sections(
                (row_line(r, now) for r in theme_rows),
                header=f"*{esc(theme.code)} · {esc(theme.name)}*",
            )
        )
    blocks.append(context(_legend()))
    text = f"{title}: {len(rows)} deliverables."
    return {"text": text, "blocks": _cap(blocks, MAX_MESSAGE_BLOCKS, "Narrow it with `list CF`.")}


def _legend() -> str:
    return "  ".join(f"{status.emoji} {status.label}" for status in Status)


def show_message(shown: Shown, *, now: dt.datetime, tz: dt.tzinfo) -> dict[str, Any]:
    d, theme, owner, updates, people = (
        shown.deliverable,
        shown.theme,
        shown.owner,
        shown.updates,
        shown.people,
    )
    facts = [
        f"{d.status.emoji} *{d.status.label}*",
        f"due {d.due}" if d.due else "no due quarter",
        f"owner {esc(owner.name)}" if owner else "no owner",
    ]
    if d.dependencies:
        facts.append("dependencies identified")
    blocks: list[dict[str, Any]] = [
        section(f"*{esc(d.ref)} · {esc(d.title)}*\n{esc(theme.name)}\n" + " · ".join(facts)),
    ]
    if updates:
        lines = []
        for u in updates:
            who = people[u.person_id].name if u.person_id in people else "plan import"
            when = u.recorded_at.astimezone(tz).strftime("%-d %b %Y")
            change = _change_text(u)
            note = esc(u.note) if u.note else "_no note_"
            lines.append(f"• {when}, {esc(who)} ({age_text(u.recorded_at, now)}){change}: {note}")
        blocks.extend(sections(lines, header="*Last updates*"))
    else:
        blocks.append(context("No updates yet."))
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Update"),
                    "action_id": "open_update",
                    "value": d.ref,
                    "style": "primary",
                }
            ],
        }
    )
    return {
        "text": f"{esc(d.ref)} {esc(d.title)}: {d.status.label}",
        "blocks": _cap(blocks, MAX_MESSAGE_BLOCKS, ""),
    }


def _change_text(u: Update) -> str:
    parts = []
    if u.status_after is not None and u.status_before is not None and u.changed_status:
        parts.append(f"{u.status_before.label} → {u.status_after.label}")
    if u.due_before and u.due_after and u.changed_due:
        parts.append(f"due {u.due_before} → {u.due_after}")
    return f" [{'; '.join(parts)}]" if parts else ""


def confirmation_text(
    ref: str,
    title: str,
    status_before: Status,
    status_after: Status,
    due_before: str | None,
    due_after: str | None,
    dependencies: tuple[bool, bool] = (False, False),
) -> str:
    """The reply after an update: what changed, before → after (mrkdwn, escaped)."""
    lines = [f":white_check_mark: Recorded an update on *{esc(ref)}* {esc(title)}."]
    if status_before != status_after:
        lines.append(f"Status: {status_before.label} → *{status_after.label}*")
    else:
        lines.append(f"Status: {status_after.label} (unchanged)")
    if due_before != due_after:
        lines.append(f"Due: {due_before or 'none'} → *{due_after or 'none'}*")
    elif due_after:
        lines.append(f"Due: {due_after} (unchanged)")
    if dependencies[0] != dependencies[1]:
        lines.append(
            "Dependencies: *identified*" if dependencies[1] else "Dependencies: *none any more*"
        )
    return "\n".join(lines)


def ambiguity_message(query: str, candidates: Sequence[Deliverable], token: str) -> dict[str, Any]:
    shown = list(candidates)[:10]
    buttons = [
        {
            "type": "button",
            "text": plain(f"{d.ref} {d.title}", 75),
            "action_id": f"choose_deliverable_{i}",
            "value": json.dumps({"token": token, "ref": d.ref}),
        }
        for i, d in enumerate(shown)
    ]
    blocks: list[dict[str, Any]] = [
        section(f"{len(candidates)} deliverables match “{esc(query)}”. Which one did you mean?")
    ]
    for start in range(0, len(buttons), 5):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"choose_{start}",
                "elements": buttons[start : start + 5],
            }
        )
    if len(candidates) > len(shown):
        blocks.append(context(f"…and {len(candidates) - len(shown)} more. Use a reference."))
    return {"text": f"Several deliverables match “{esc(query)}”; choose one.", "blocks": blocks}


def quarter_options(
    first: FinancialYearQuarter, last: FinancialYearQuarter
) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    q = first
    while q <= last and len(options) < 100:
        options.append({"text": plain(str(q)), "value": str(q)})
        q = q.next()
    return options


def _option(d: Deliverable) -> dict[str, Any]:
    return {"text": plain(f"{d.ref} {d.title}", 75), "value": d.ref}


def deliverable_options(items: Sequence[Deliverable]) -> list[dict[str, Any]]:
    return [_option(d) for d in items[:100]]


def _due_select(deliverable: Deliverable | None, quarters: list[dict[str, Any]]) -> dict[str, Any]:
    due: dict[str, Any] = {
        "type": "static_select",
        "action_id": "due",
        "placeholder": plain("Choose a quarter"),
        "options": quarters or [{"text": plain("none"), "value": "none"}],
    }
    if deliverable is not None and deliverable.due:
        match = [o for o in quarters if o["value"] == deliverable.due]
        if match:
            due["initial_option"] = match[0]
        else:
            opt = {"text": plain(deliverable.due), "value": deliverable.due}
            due["options"] = [opt, *due["options"]][:100]
            due["initial_option"] = opt
    return due


def _flag_boxes(deliverable: Deliverable | None) -> dict[str, Any]:
    flag_option = {"text": plain("Dependencies identified"), "value": "dependencies"}
    summary_option = {
        "text": plain("Use this note as the summary for the panel paper"),
        "value": "summary",
    }
    of_note_option = {
        "text": plain("Of note: join this note to the paper's line"),
        "value": "of_note",
    }
    flags: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "dependencies",
        "options": [flag_option, summary_option, of_note_option],
    }
    if deliverable is not None and deliverable.dependencies:
        flags["initial_options"] = [flag_option]
    return flags


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


def update_modal(
    *,
    deliverable: Deliverable | None,
    quarters: list[dict[str, Any]],
    note: str = "",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The update form: picker, status, due quarter, dependencies and summary flags, note."""
    picker: dict[str, Any] = {
        "type": "external_select",
        "action_id": "deliverable_picker",
        "placeholder": plain("Type a reference or title words"),
        "min_query_length": 0,
    }
    status: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": "status",
        "options": [{"text": plain(f"{s.label}"), "value": s.value} for s in Status],
    }
    if deliverable is not None:
        picker["initial_option"] = _option(deliverable)
        status["initial_option"] = {
            "text": plain(deliverable.status.label),
            "value": deliverable.status.value,
        }
    note_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "note",
        "multiline": True,
        "max_length": 3000,
        "placeholder": plain(
            "What happened? Needed when putting on hold or moving the due quarter later."
        ),
    }
    if note:
        note_input["initial_value"] = note[:3000]
    blocks = [
        _input("deliverable", "Deliverable", picker, optional=False),
        _input("status", "Status", status),
        _input("due", "Due quarter", _due_select(deliverable, quarters)),
        _input("flags", "Flags", _flag_boxes(deliverable)),
        _input("note", "Note", note_input),
    ]
    return _modal(UPDATE_CALLBACK, "Deliverable update", "Record", blocks, metadata or {})


def _modal(
    callback_id: str,
    title: str,
    submit: str,
    blocks: list[dict[str, Any]],
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title),
        "submit": plain(submit),
        "close": plain("Cancel"),
    }
    if metadata is not None:
        view["private_metadata"] = json.dumps(metadata)
    view["blocks"] = blocks
    return view


def add_modal(
    *, themes: Sequence[Theme], title: str = "", theme: Theme | None = None
) -> dict[str, Any]:
    options = [{"text": plain(f"{t.code} · {t.name}"), "value": t.code} for t in themes][:100]
    select: dict[str, Any] = {"type": "static_select", "action_id": "theme", "options": options}
    if theme is not None:
        select["initial_option"] = next(o for o in options if o["value"] == theme.code)
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "title",
        "max_length": 300,
    }
    if title:
        title_input["initial_value"] = title[:300]
    blocks = [
        _input("theme", "Theme", select, optional=False),
        _input("title", "Title", title_input, optional=False),
    ]
    return _modal(ADD_CALLBACK, "New deliverable", "Add", blocks)


def home_view(
    *,
    person: Person | None,
    mine: Sequence[DeliverableRow],
    overview: Sequence[tuple[Theme, dict[Status, int]]],
    now: dt.datetime,
    admin_hint: str,
    mail_address: str | None = None,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if person is None:
        blocks.append(section(f"*Deliverabot*\nI don't know you yet. {esc(admin_hint)}"))
    else:
        blocks.append({"type": "header", "text": plain(f"Your deliverables, {person.name}")})
        if not mine:
            blocks.append(section("You own no open deliverables."))
        for row in mine:
            blocks.append(
                section(
                    row_line(row, now),
                    accessory={
                        "type": "button",
                        "text": plain("Update"),
                        "action_id": "open_update",
                        "value": row.deliverable.ref,
                    },
                )
            )
        if mail_address:
            blocks.append(
                context(
                    f":email: Your personal address for updates by mail: `{esc(mail_address)}` "
                    "(subject like `CF-3 ongoing`, note in the body). Keep it to yourself: "
                    "the code in it is what proves the mail is yours."
                )
            )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("Plan overview")})
    for theme, counts in overview:
        summary = (
            "  ".join(f"{s.emoji} {counts[s]}" for s in Status if counts.get(s))
            or "no deliverables"
        )
        blocks.append(section(f"*{esc(theme.code)} · {esc(theme.name)}*\n{summary}"))
    blocks.append(context(_legend()))
    if len(blocks) > MAX_VIEW_BLOCKS:
        # Keep the overview; shorten the personal list.
        overflow = len(blocks) - MAX_VIEW_BLOCKS + 1
        head, tail = blocks[: -(len(overview) + 3)], blocks[-(len(overview) + 3) :]
        head = head[: len(head) - overflow]
        head.append(context(f"…and {overflow} more of yours. Try `/deliverable list mine`."))
        blocks = head + tail
    return {"type": "home", "blocks": blocks}
