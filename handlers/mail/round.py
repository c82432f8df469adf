"""The paper round by mail, for owners without a Slack id: one mail listing their lines,
answered by replying to their personal address (``updates+<code>@``), whose code proves the
sender as for updates by mail: ``approve CF-3``, ``approve all``, ``CF-3: <new line>`` or
``not mine CF-3``. A reply without a valid code never gets here (see ``mail_updates``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from handlers.mail.parse import header, strip_quoted, text_body
from handlers.mail.policy import MailPolicy, ProcessResult, auto_reply
from handlers.round_grammar import ReplyCommand, parse_reply, round_tag, tagged_round
from handlers.service import ServiceError
from handlers.service.round import (
    LineOutcome,
    approve_line,
    approve_waiting,
    edit_line,
    not_mine,
)
from handlers.service.round_admin import find_round
from store import Person, Reader, Source, Store, one_paragraph
from store.round import LineView, RoundBook

__all__ = ["ask_mail", "notice_mail", "process_round_reply", "round_reply_for"]

_FIRST_COMMAND = re.compile(r"^\s*(approve|not\s+mine)\b", re.IGNORECASE)


def _day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _lines(book: RoundBook, views: list[LineView]) -> list[str]:
    out: list[str] = []
    for v in views:
        label = "Line under the title" if v.line.section == "new" else "Update"
        out += [
            f"{v.ref}  {one_paragraph(v.line.title)}  ({v.line.section})",
            f"    {label}: {one_paragraph(v.text) or '(nothing yet)'}",
        ]
        if v.returned is not None and v.waiting:
            who = book.people.get(v.returned.person_id or 0, "The coordinator")
            out.append(f"    {who} asks: {one_paragraph(v.returned.comment or '')}")
        out.append("")
    return out


def ask_mail(
    book: RoundBook,
    person: Person,
    refs: list[str],
    *,
    reply_to: str,
    mail_domain: str,
    kind: str = "ask",
) -> EmailMessage:
    """The owner's lines by mail (``kind``: ask, again, reminder or final), answered by
    replying: the reply goes to their personal address, which proves it is theirs."""
    r = book.round
    by_ref = book.by_ref()
    views = [by_ref[ref.upper()] for ref in refs if ref.upper() in by_ref]
    opening = {
        "ask": (
            f"The panel paper for {r.period_from:%-d %B} to {r.period_to:%-d %B %Y} goes to the "
            f"panel on {_day(r.panel_on)}. Please check the line it will print for each of "
            f"your deliverables by {_day(r.due_on)}, and reply to this mail."
        ),
        "again": f"This line needs another look before {_day(r.due_on)}. Please reply.",
        "reminder": (
            f"A reminder: {len(views)} of your lines for the panel paper are waiting. They "
            f"are due by {_day(r.due_on)}."
        ),
        "final": (
            f"Last call: {len(views)} of your lines for the panel paper are due today. Lines "
            "not approved go in as the bot's draft."
        ),
    }[kind]
    body = [
        f"Hello {person.name},",
        "",
        opening,
        "",
        "Reply with one line for each, above the quoted text:",
        "  approve CF-3            the line stands as it is",
        "  approve all             every line below stands as it is",
        "  CF-3: <the new line>    the paper prints your words instead",
        "  not mine CF-3           it is someone else's; the coordinator reassigns it",
        "",
        *_lines(book, views),
        "Your reply goes to your personal address for updates by mail; the code in it is",
        "what proves the reply is yours, so keep it to yourself.",
    ]
    msg = EmailMessage()
    msg["From"] = f"Deliverabot <updates@{mail_domain}>"
    msg["To"] = person.email
    msg["Reply-To"] = reply_to
    subject = "Your lines for the panel paper" if kind != "final" else "Due today: your lines"
    msg["Subject"] = f"{subject} {round_tag(r.name)}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=mail_domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(body) + "\n")
    return msg


def notice_mail(
    book: RoundBook, view: LineView, coordinator: Person, *, mail_domain: str
) -> EmailMessage:
    """To the coordinator: an owner says a line is not theirs."""
    who = book.people.get(view.decided.person_id or 0, "Its owner") if view.decided else "Its owner"
    comment = view.decided.comment if view.decided else None
    name = book.round.name
    lines = [
        f"{who} says {view.ref} {one_paragraph(view.line.title)} is not theirs (round {name}).",
        *([f"They wrote: {one_paragraph(comment)}"] if comment else []),
        "",
        f"Reassign it: deliverabot round reassign {name} {view.ref} EMAIL",
    ]
    msg = EmailMessage()
    msg["From"] = f"Deliverabot <updates@{mail_domain}>"
    msg["To"] = coordinator.email
    msg["Subject"] = f"Not mine: {view.ref} {round_tag(name)}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=mail_domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(lines) + "\n")
    return msg


def round_reply_for(store: Reader, subject: str, body: str) -> tuple[bool, str | None]:
    """Whether a proven mail to ``updates+<code>@`` answers a round, and which: its subject
    names one (``[round sept-2022]``), or its first line is ``approve …`` or ``not mine …``
    while a round is open."""
    name = tagged_round(subject)
    if name is not None:
        return True, name
    first = next((line for line in body.splitlines() if line.strip()), "")
    if _FIRST_COMMAND.match(first) and store.rounds(open_only=True):
        return True, None
    return False, None


def _apply(
    store: Store,
    name: str,
    cmd: ReplyCommand,
    person: Person,
    key: str,
    policy: MailPolicy,
) -> list[str]:
    now = policy.office.now()
    done: list[LineOutcome]
    if cmd.verb == "approve" and cmd.all:
        done = approve_waiting(store, name, actor=person, now=now, source="email")
        return [f"{o.view.ref}: approved" for o in done] or ["approve all: nothing was waiting"]
    if cmd.verb == "approve":
        return [
            f"{o.view.ref}: approved"
            for o in (
                approve_line(store, name, ref=ref, actor=person, now=now, source="email")
                for ref in cmd.refs
            )
        ]
    ref = cmd.refs[0]
    if cmd.verb == "not-mine":
        not_mine(store, name, ref=ref, actor=person, now=now, source="email", comment=cmd.text)
        return [f"{ref}: not yours; the coordinator is told"]
    outcome = edit_line(
        store,
        name,
        ref=ref,
        actor=person,
        text=cmd.text,
        now=now,
        source=Source.EMAIL,
        key=f"{key}:{cmd.line}:{ref}",
        office=policy.office,
    )
    return [f"{ref}: the paper prints your words: {outcome.view.text}"]


def process_round_reply(
    store: Store, msg: EmailMessage, person: Person, name: str | None, policy: MailPolicy
) -> ProcessResult:
    """Apply each command of a proven reply; the person gets one reply saying what was done
    and what was not (a closed round, a line that is not theirs, a line not understood)."""
    body = strip_quoted(text_body(msg))
    commands, problems = parse_reply(body)
    basis = header(msg, "Message-ID") or body
    key = "mail:" + hashlib.sha256(f"{person.id}:{basis}".encode()).hexdigest()[:32]
    done: list[str] = []
    refused: list[str] = []
    try:
        found = find_round(store, name)
        for cmd in commands:
            try:
                done += _apply(store, found.name, cmd, person, key, policy)
            except ServiceError as exc:
                refused.append(f"{', '.join(cmd.refs) or cmd.verb}: {exc}")
    except ServiceError as exc:
        refused.append(str(exc))
        found = None
    if not commands and found is not None:
        refused.append("I found no 'approve CF-3', 'CF-3: <new line>' or 'not mine CF-3'.")
    text = [f"Round {found.name if found else name or '?'}:", ""]
    text += [f"  done: {line}" for line in done] + [f"  not done: {line}" for line in refused]
    if problems:
        text += ["", "Lines I did not understand (nothing was done with them):"]
        text += [f"  {p}" for p in problems[:20]]
    reply = auto_reply(msg, to=person.email, mail_domain=policy.mail_domain, body="\n".join(text))
    state = "update" if done else "update_refused"
    detail = f"round {found.name if found else name}: {len(done)} done, {len(refused)} refused"
    return ProcessResult(state, detail, reply)
