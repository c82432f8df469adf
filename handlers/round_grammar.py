"""The round's words (pure): ``/deliverable round …`` for editors in Slack, and the replies
an owner sends by mail (``approve CF-3``, ``CF-3: <new line>``, ``not mine CF-3``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from handlers.grammar import GrammarError

__all__ = [
    "ROUND_HELP",
    "ReplyCommand",
    "RoundCommand",
    "parse_reply",
    "parse_round_command",
    "round_tag",
    "tagged_round",
]

ROUND_HELP = """\
*The paper round* (editors): every owner approves or edits their own Update lines.
• `/deliverable round open sept-2022 from 2022-03-01 to 2022-09-14 panel 2022-09-21 \
due 2022-09-16` asks every owner, in Slack or by mail
• `/deliverable round status sept-2022` · `round return sept-2022 CF-3: please add the \
funding figure` · `round reassign sept-2022 CF-3 tom.fletcher@example.org` · \
`round close sept-2022`"""

_REF = r"[A-Za-z][A-Za-z0-9]{0,9}-\d{1,5}"
_DATE_WORDS = {"from": "from", "to": "to", "panel": "panel", "due": "due"}


@dataclass(frozen=True)
class RoundCommand:
    verb: str  # open | status | return | reassign | close | help
    name: str | None = None
    dates: dict[str, dt.date] | None = None  # open: from, to, panel, due
    alongside: bool = False
    ref: str | None = None
    comment: str = ""
    email: str | None = None


def _date(word: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise GrammarError(f"{word} {text!r} is not a date; write it like 2022-09-14.") from None


def _open(words: list[str]) -> RoundCommand:
    if not words:
        raise GrammarError("Name the round, e.g. `round open sept-2022 from … to … panel … due …`.")
    name, rest = words[0], words[1:]
    dates: dict[str, dt.date] = {}
    alongside = False
    i = 0
    while i < len(rest):
        word = rest[i].lower().lstrip("-")
        if word == "alongside":
            alongside, i = True, i + 1
            continue
        if word not in _DATE_WORDS or i + 1 >= len(rest):
            raise GrammarError(
                f"I did not understand {rest[i]!r}: give `from DATE to DATE panel DATE due DATE`."
            )
        dates[_DATE_WORDS[word]] = _date(word, rest[i + 1])
        i += 2
    missing = [w for w in _DATE_WORDS if w not in dates]
    if missing:
        raise GrammarError(f"Give {', '.join(missing)} as dates, e.g. `due 2022-09-16`.")
    return RoundCommand("open", name=name, dates=dates, alongside=alongside)


def parse_round_command(text: str) -> RoundCommand:
    """The words after ``/deliverable round``."""
    words = text.split()
    if not words or words[0].lower() in ("help", "?"):
        return RoundCommand("help")
    verb, rest = words[0].lower(), words[1:]
    if verb == "open":
        return _open(rest)
    if verb in ("status", "close"):
        if verb == "close" and not rest:
            raise GrammarError("Say which round to close, e.g. `round close sept-2022`.")
        return RoundCommand(verb, name=rest[0] if rest else None)
    if verb == "return":
        m = re.fullmatch(rf"\s*(\S+)\s+({_REF})\s*:?\s*(.*)", text.strip()[len("return") :], re.S)
        if not m or not m.group(3).strip():
            raise GrammarError("Write `round return sept-2022 CF-3: what the owner should change`.")
        return RoundCommand("return", name=m.group(1), ref=m.group(2).upper(), comment=m.group(3))
    if verb == "reassign":
        if len(rest) != 3 or not re.fullmatch(_REF, rest[1]) or "@" not in rest[2]:
            raise GrammarError("Write `round reassign sept-2022 CF-3 tom.fletcher@example.org`.")
        return RoundCommand("reassign", name=rest[0], ref=rest[1].upper(), email=rest[2])
    raise GrammarError(f"I don't know `round {verb}`.\n{ROUND_HELP}")


# -- replies by mail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyCommand:
    verb: str  # approve | edit | not-mine
    refs: tuple[str, ...] = ()  # approve: the references; () with all=True for "approve all"
    all: bool = False
    text: str = ""  # edit: the new line; not-mine: a comment
    line: int = 0  # where it was in the reply (for error messages)


_TAG = re.compile(r"\[round\s+([a-z0-9][a-z0-9._-]{0,39})\]", re.IGNORECASE)
_APPROVE = re.compile(rf"^approved?\s+((?:{_REF}[\s,;&]*(?:and\s+)?)+)\.?$", re.IGNORECASE)
_APPROVE_ALL = re.compile(r"^approve(?:d)?\s+(?:all|everything)\b\W*$", re.IGNORECASE)
_NOT_MINE = re.compile(rf"^not\s+mine\s*:?\s*({_REF})\s*(?::\s*(.*))?$", re.IGNORECASE)
_EDIT = re.compile(rf"^({_REF})\s*:\s*(.*)$", re.IGNORECASE)


def round_tag(name: str) -> str:
    """What the round's mail carries in its subject, so a reply names its round."""
    return f"[round {name}]"


def tagged_round(subject: str) -> str | None:
    """The round a subject names (``Re: Your lines … [round sept-2022]``), if any."""
    m = _TAG.search(subject or "")
    return m.group(1).lower() if m else None


def parse_reply(body: str) -> tuple[list[ReplyCommand], list[str]]:
    """The commands in a reply's own text (quoted history already removed), and the lines
    that were not understood. An edit runs on over the following lines until a blank line
    or another command."""
    commands: list[ReplyCommand] = []
    problems: list[str] = []
    editing: list[str] | None = None
    for number, raw in enumerate(body.splitlines(), start=1):
        line = raw.strip()
        if not line:
            editing = None
            continue
        found = _reply_line(line, number)
        if found is not None:
            commands.append(found)
            editing = [found.text] if found.verb == "edit" else None
            continue
        if editing is not None and commands:
            editing.append(line)
            last = commands[-1]
            commands[-1] = ReplyCommand("edit", last.refs, text=" ".join(editing), line=last.line)
            continue
        problems.append(f"line {number}: {line[:80]}")
    return commands, problems


def _reply_line(line: str, number: int) -> ReplyCommand | None:
    if _APPROVE_ALL.match(line):
        return ReplyCommand("approve", all=True, line=number)
    m = _APPROVE.match(line)
    if m:
        refs = tuple(r.upper() for r in re.findall(_REF, m.group(1)))
        return ReplyCommand("approve", refs=refs, line=number)
    m = _NOT_MINE.match(line)
    if m:
        return ReplyCommand("not-mine", (m.group(1).upper(),), text=m.group(2) or "", line=number)
    m = _EDIT.match(line)
    if m:
        return ReplyCommand("edit", (m.group(1).upper(),), text=m.group(2).strip(), line=number)
    return None
