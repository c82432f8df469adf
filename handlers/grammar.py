"""The command grammar shared by Slack (`/deliverable ...`) and email subjects.

Pure functions, no I/O::

    help | list [THEME|mine|stale] | show REF | add THEME TITLE
    update [REF [STATUS] [due QUARTER] [deps|no deps] [summary]] [: NOTE]
    | away until DATE | digest | stats
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from store import AN_OFFICE, Office, QuarterParseError, Status, normalise_status

__all__ = [
    "AddCommand",
    "AwayCommand",
    "Command",
    "GrammarError",
    "HelpCommand",
    "ListCommand",
    "ShowCommand",
    "SimpleCommand",
    "UpdateCommand",
    "parse_command",
    "parse_update",
]

HELP_TEXT = """\
*Deliverabot* records progress on the delivery plan.
• `/deliverable update CF-3 ongoing due Q3 2022/23: Market engagement event planned` \
records an update at once
• `/deliverable update CF-3 summary: …` marks the note as the summary for the panel paper
• `/deliverable update CF-3 deps: …` says dependencies are identified (`no deps` clears it)
• `/deliverable update CF-3` (or just `/deliverable update`) opens a form
• `/deliverable list` · `list CF` · `list mine` · `list stale` shows the plan
• `/deliverable show CF-3` shows a deliverable and its last five updates
• `/deliverable add CF Business Community Event` adds a new deliverable
• `/deliverable away until 2022-09-30` pauses your reminders
• `/deliverable digest` previews this week's digest · \
`/deliverable stats` shows correspondence counts
• `/deliverable round help`: the paper round, for editors
Statuses: {statuses} (also: {typed}).
REF is a reference like CF-3 or a few words of the title.""".format(
    statuses=Status.spoken(last=", "),
    typed=", ".join(word for s in Status for word in s.traits.shown),
)


class GrammarError(ValueError):
    """Input that does not fit the grammar; the message says how to write it."""


@dataclass(frozen=True)
class HelpCommand:
    unknown: str | None = None  # the word that was not understood, if any


@dataclass(frozen=True)
class ListCommand:
    scope: str | None = None  # None (everything), "mine", "stale", or a theme code/name

    @property
    def mine(self) -> bool:
        """The caller's own: the answer depends on who is asking."""
        return (self.scope or "").lower() == "mine"


@dataclass(frozen=True)
class ShowCommand:
    ref: str


@dataclass(frozen=True)
class AddCommand:
    theme: str | None
    title: str | None


@dataclass(frozen=True)
class UpdateCommand:
    ref: str | None = None
    status: Status | None = None
    due: str | None = None  # canonical quarter text
    note: str = ""
    summary: bool = False  # the note is the summary for the panel paper
    dependencies: bool | None = None  # `deps` / `no deps`; None leaves the flag alone

    @property
    def needs_form(self) -> bool:
        """Only a reference (or nothing): open the modal instead of recording."""
        return self.ref is None or (
            self.status is None and self.due is None and self.dependencies is None and not self.note
        )

    def payload(self) -> dict[str, Any]:
        """What it asks for, without the reference, as JSON (kept while a person chooses
        which of several deliverables they meant)."""
        return {
            "status": self.status.value if self.status else None,
            "due": self.due,
            "note": self.note,
            "summary": self.summary,
            "dependencies": self.dependencies,
        }

    @classmethod
    def chosen(cls, ref: str, payload: dict[str, Any]) -> UpdateCommand:
        """The command kept as :meth:`payload`, for the deliverable ``ref`` chosen."""
        status = payload.get("status")
        return cls(
            ref=ref,
            status=Status(status) if status else None,
            due=payload.get("due"),
            note=payload.get("note") or "",
            summary=bool(payload.get("summary")),
            dependencies=payload.get("dependencies"),
        )


@dataclass(frozen=True)
class AwayCommand:
    until: dt.date | None  # None clears it


@dataclass(frozen=True)
class SimpleCommand:
    name: str  # "digest" or "stats"


Command = (
    HelpCommand
    | ListCommand
    | ShowCommand
    | AddCommand
    | UpdateCommand
    | AwayCommand
    | SimpleCommand
)

_REF = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,9}-\d{1,5}$")
_DEPS = ("deps", "dependencies", "dependency")


def _split_status(words: list[str]) -> tuple[list[str], Status | None]:
    """Take a status (up to three words, e.g. "business as usual") off the end."""
    for n in (3, 2, 1):
        if len(words) >= n:
            status = normalise_status(" ".join(words[-n:]))
            if status is not None:
                return words[:-n], status
    return words, None


@dataclass
class _Flags:
    summary: bool = False
    dependencies: bool | None = None


def _split_flags(words: list[str], flags: _Flags) -> list[str]:
    """Take ``summary``, ``deps`` and ``no deps`` off the end, in any order, while words stay
    before them (so a title that ends in "dependencies" is still a title)."""
    while len(words) > 1:
        last = words[-1].lower()
        if last == "summary":
            flags.summary, words = True, words[:-1]
        elif last in _DEPS and len(words) > 2 and words[-2].lower() == "no":
            flags.dependencies, words = False, words[:-2]
        elif last in _DEPS:
            flags.dependencies, words = True, words[:-1]
        else:
            break
    return words


def _split_due(words: list[str], office: Office) -> tuple[list[str], str | None]:
    """``due QUARTER`` (the quarter may be several words, "Q3/Q4, 2022/23") off the end."""
    at = next((i for i, w in enumerate(words[:-1]) if w.lower() == "due"), None)
    if at is None:
        return words, None
    quarter = " ".join(words[at + 1 :])
    try:
        return words[:at], str(office.quarter(quarter))
    except QuarterParseError as exc:
        raise GrammarError(f"{exc}.") from None


def _split_words(
    words: list[str], flags: _Flags, office: Office
) -> tuple[list[str], Status | None, str | None]:
    """The words after the reference (or the title), in any order: a status, ``due
    QUARTER``, ``deps``/``no deps`` and ``summary``. Returns what is left of the words."""
    status: Status | None = None
    due: str | None = None
    while True:
        count = len(words)
        words = _split_flags(words, flags)
        if status is None:
            rest, found = _split_status(words)
            if found is not None and rest:
                words, status = rest, found
        if due is None:
            words, due = _split_due(words, office)
        if len(words) == count:
            return words, status, due


def parse_update(text: str, *, office: Office = AN_OFFICE) -> UpdateCommand:
    """Parse ``REF [STATUS] [due QUARTER] [deps|no deps] [summary] [: NOTE]`` (everything
    after ``update``)."""
    text = text.strip()
    head, _, note = text.partition(":")
    head = head.strip()
    note = note.strip()
    if not head:
        if note:
            raise GrammarError(
                "Say which deliverable before the note, e.g. `update CF-3: Event held`."
            )
        return UpdateCommand()
    flags = _Flags()
    words, status, due = _split_words(head.split(), flags, office)
    if flags.summary and not note:
        raise GrammarError(
            "A summary for the paper needs its text after a colon, e.g. "
            "`update CF-3 summary: Survey launched and 120 businesses replied`."
        )
    if words and _REF.match(words[0]):
        ref, rest = words[0].upper(), words[1:]
        if rest:
            raise GrammarError(
                f"I did not understand {' '.join(rest)!r}. Statuses are {Status.spoken()}; "
                "write the quarter as `due Q3 2022/23`, "
                "dependencies as `deps` or `no deps`, and put the note after a colon."
            )
    else:
        if not words or (status is None and not _split_status(words)[0]):
            raise GrammarError("Say which deliverable: a reference such as CF-3, or title words.")
        ref = " ".join(words)
    return UpdateCommand(
        ref=ref,
        status=status,
        due=due,
        note=note,
        summary=flags.summary,
        dependencies=flags.dependencies,
    )


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise GrammarError(f"{text.strip()!r} is not a date; write it like 2022-09-30.")


def parse_command(text: str, *, office: Office = AN_OFFICE) -> Command:
    """Parse the text after ``/deliverable``."""
    text = (text or "").strip()
    if not text:
        return HelpCommand()
    verb, _, rest = text.partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    if verb in ("help", "?", "-h", "--help"):
        return HelpCommand()
    if verb in ("update", "u"):
        return parse_update(rest, office=office)
    if verb in ("list", "ls"):
        return ListCommand(rest or None)
    if verb == "show":
        if not rest:
            raise GrammarError("Say which deliverable to show, e.g. `show CF-3`.")
        return ShowCommand(rest)
    if verb == "add":
        theme, _, title = rest.partition(" ")
        return AddCommand(theme.strip() or None, title.strip() or None)
    if verb == "away":
        words = rest.split(maxsplit=1)
        if words and words[0].lower() in ("off", "back", "clear", "none"):
            return AwayCommand(None)
        if len(words) == 2 and words[0].lower() == "until":
            return AwayCommand(_parse_date(words[1]))
        raise GrammarError("Write `away until 2022-09-30`, or `away off` when you are back.")
    if verb in ("digest", "stats"):
        return SimpleCommand(verb)
    return HelpCommand(unknown=verb)
