"""Which notes make a deliverable's "Update:" line, and the line itself. Pure.

The rule, in this order (``report --explain`` says which one chose each line):

1. the newest note staff marked as the summary for the paper;
2. else the period's notes that changed something (status, due quarter, dependencies) or
   that staff marked "of note", with the newest note, joined as sentences in date order
   without repeats, within about :data:`LIMIT_WORDS` words (cut at a sentence, never in
   the middle of one);
3. a note that only says there is no change ("no change, see tactical plan") is never used.

A note that names a later quarter than the recorded due ("slipping to Q4") when no update
set ``due`` afterwards makes the line leave its "Scheduled for" sentence out, and the
deliverable is flagged for the coordinator.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from digests.paper_words import (
    Cleaned,
    clean_note,
    is_status_echo,
    mentions_dependencies,
    says_nothing,
    without_repeats,
    word_count,
)
from store import (
    FinancialYearQuarter,
    QuarterParseError,
    QuarterSpan,
    Status,
    Update,
    mentions_span,
    parse_quarter_span,
)
from store.slippage import later_quarter_named

__all__ = [
    "LIMIT_WORDS",
    "ONE_NOTE_MAX_WORDS",
    "Choice",
    "Slip",
    "choose_for_paper",
    "compose_line",
    "find_slip",
]

LIMIT_WORDS = 40  # the length of the papers' Update lines, for notes joined together
ONE_NOTE_MAX_WORDS = 60  # one note alone may run to the papers' longest lines


@dataclass(frozen=True)
class Choice:
    """The notes behind a line, their sentences as the paper gives them, and why."""

    chosen: tuple[Update, ...]  # date order
    sentences: tuple[str, ...]
    rule: str
    details: tuple[str, ...] = ()
    names_left: tuple[str, ...] = ()


def _day(u: Update, tz: dt.tzinfo) -> str:
    return u.recorded_at.astimezone(tz).date().isoformat()


def _change(u: Update, deps_changed: Collection[int]) -> str:
    parts = []
    if u.changed_status and u.status_before is not None and u.status_after is not None:
        parts.append(f"status {u.status_before.label} → {u.status_after.label}")
    if u.changed_due:
        parts.append(f"due {u.due_before or 'none'} → {u.due_after or 'none'}")
    if u.id in deps_changed:
        parts.append("dependencies " + ("identified" if u.dependencies else "cleared"))
    if u.of_note:
        parts.append("marked of note")
    return ", ".join(parts)


def _fit(sentences: Sequence[str], budget: int) -> list[str]:
    """The leading sentences that fit in ``budget`` words."""
    kept: list[str] = []
    for s in sentences:
        if word_count(" ".join([*kept, s])) > budget:
            break
        kept.append(s)
    return kept


def _candidates(
    with_notes: list[Update], deps_changed: Collection[int], also: Collection[int]
) -> tuple[list[Update], Update | None, int]:
    """The notes that changed something, the newest note with something to say, and how
    many notes were passed over. Only the notes needed are read (oldest first in, newest
    found from the end)."""
    flagged = [
        u
        for u in with_notes
        if (
            not u.created
            and (u.changed_status or u.changed_due or u.of_note or u.id in deps_changed)
        )
        or u.id in also
    ]
    changed = [u for u in flagged if not says_nothing(u.note)]
    skipped = len(flagged) - len(changed)
    newest = None
    for u in reversed(with_notes):
        if u in changed:
            newest = u
            break
        if says_nothing(u.note):
            skipped += 1 if u not in flagged else 0
            continue
        newest = u
        break
    return changed, newest, skipped


def _within_limit(
    ordered: list[Update],
    cleaned: dict[int, Cleaned],
    clean: Callable[[Update], Cleaned],
    tz: dt.tzinfo,
) -> tuple[list[tuple[Update, list[str]]], list[str]]:
    """Whole sentences of the notes in priority order, within the paper's length. Notes are
    cleaned (into ``cleaned``) only when there is room left for them."""
    kept: list[tuple[Update, list[str]]] = []
    said: list[str] = []
    details: list[str] = []
    for u in ordered:
        room = LIMIT_WORDS - word_count(" ".join(said))
        if kept and room < 3:
            details.append(f"for length, the note of {_day(u, tz)} was left out")
            continue
        cleaned[u.id] = clean(u)
        new = [s for s in cleaned[u.id].sentences if s not in said]
        if not new:
            continue
        budget = ONE_NOTE_MAX_WORDS if not kept else room
        fits = _fit(new, budget)
        if not kept and not fits:
            fits = new[:1]  # never an empty line for want of a short first sentence
        if len(fits) < len(new):
            what = "cut after its first sentences" if fits else "left out"
            details.append(f"for length, the note of {_day(u, tz)} was {what}")
        if fits:
            kept.append((u, fits))
            said += fits
    return kept, details


def choose_for_paper(
    history: Sequence[Update],
    *,
    clean: Callable[[Update], Cleaned],
    tz: dt.tzinfo = dt.UTC,
    deps_changed: Collection[int] = (),
    who: Callable[[int | None], str] = lambda _p: "",
    mode: str = "latest",
    also: Collection[int] = (),
) -> Choice:
    """The notes for one deliverable's line from its period's updates (oldest first).

    ``also``: ids of updates that changed something in prose (a slip to a later quarter).
    """
    with_notes = [u for u in history if u.note.strip()]

    def by(u: Update) -> str:
        name = who(u.person_id)
        return f"{_day(u, tz)}, {name}" if name else _day(u, tz)

    if mode == "all":
        every = [clean(u) for u in with_notes]
        return Choice(
            tuple(with_notes),
            tuple(s for c in every for s in c.sentences),
            "every note of the period (--notes all)",
            names_left=tuple(dict.fromkeys(n for c in every for n in c.names_left)),
        )
    summaries = [u for u in with_notes if u.summary]
    if summaries:
        chosen = summaries[-1]
        c = clean(chosen)
        return Choice(
            (chosen,),
            c.sentences,
            f"the note marked as the summary for the paper ({by(chosen)})",
            ("words: " + "; ".join(c.changes),) if c.changes else (),
            c.names_left,
        )
    changed, newest, skipped = _candidates(with_notes, deps_changed, also)
    skip_line = (
        (f"{skipped} note(s) left out: they only say there is no change, or the status",)
        if skipped
        else ()
    )
    if newest is None:
        why = "no note for the paper in the period" + ("" if with_notes else " (no note at all)")
        return Choice((), (), why + ": the status wording only", skip_line)
    # A note older than the last change of status describes what was before it ("review
    # meetings ongoing" under a completion that said only "done."): it is not the news.
    last_move = max((u.id for u in history if u.changed_status and not u.created), default=0)
    news = [newest] if newest.id >= last_move or newest in changed else []
    if not changed and not news:
        return Choice((), (), "no note since the last change of status: the status wording only")
    # The newest change first, then older ones, then the newest note, within the length.
    ordered = list(dict.fromkeys([*sorted(changed, key=lambda u: -u.id), *news]))
    cleaned: dict[int, Cleaned] = {}
    kept, cut = _within_limit(ordered, cleaned, clean, tz)
    kept.sort(key=lambda pair: pair[0].id)
    sentences = without_repeats(s for _, ss in kept for s in ss)
    used = [u for u, _ in kept]
    changes_said = [
        f"{by(u)}: {_change(u, deps_changed) or 'names a later quarter'}"
        for u in used
        if u in changed
    ]
    if changes_said:
        rule = "notes that changed something (" + "; ".join(changes_said) + ")"
        if newest in used and newest not in changed:
            rule += f", and the newest note ({by(newest)})"
    elif newest.created:
        rule = f"the plan file's note ({by(newest)}); no update in the period changed anything"
    else:
        rule = f"the newest note ({by(newest)}); no note in the period changed anything"
    words = list(dict.fromkeys(w for u in used for w in cleaned[u.id].changes))
    said = ("words: " + "; ".join(words),) if words else ()
    names = tuple(dict.fromkeys(n for u in used for n in cleaned[u.id].names_left))
    return Choice(tuple(used), tuple(sentences), rule, (*skip_line, *cut, *said), names)


# -- slippage typed as prose -----------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    """A note naming a later quarter than the recorded due, with no due set since."""

    update: Update
    named: QuarterSpan
    recorded: QuarterSpan

    def flag(self, tz: dt.tzinfo) -> str:
        return (
            f"the note of {_day(self.update, tz)} says {self.named}, later than the recorded "
            f"due {self.recorded}, and no update has set due since: the draft leaves "
            f'"Scheduled for" out; set the due quarter (update {{ref}} due {self.named.last}) '
            "or say the quarter stands"
        )


@functools.lru_cache(maxsize=1024)
def _span(text: str | None, start_month: int) -> QuarterSpan | None:
    if not text:
        return None
    try:
        return parse_quarter_span(text, start_month=start_month)
    except QuarterParseError:
        return None


@functools.lru_cache(maxsize=4096)
def _later(note: str, due: QuarterSpan, quarter: FinancialYearQuarter) -> QuarterSpan | None:
    """:func:`later_quarter_named`, once per note, due quarter and quarter of writing."""
    return later_quarter_named(note, due, on=quarter.first_day, start_month=quarter.start_month)


def find_slip(
    history: Sequence[Update], due: str | None, *, tz: dt.tzinfo, start_month: int = 4
) -> Slip | None:
    """The unanswered slip in a deliverable's updates (oldest first), if any.

    A slip is answered by a later update that sets the due quarter, or whose note names the
    recorded quarter again ("due quarter kept at Q2 2022/23").
    """
    recorded = _span(due, start_month)
    if recorded is None:
        return None
    slip: Slip | None = None
    for u in history:
        if u.changed_due:
            slip = None
            continue
        at = _span(u.due_after, start_month)
        if at is None or not u.note.strip():
            continue
        day = u.recorded_at.astimezone(tz).date()
        named = _later(u.note, at, FinancialYearQuarter.of_date(day, start_month=start_month))
        if named is not None:
            slip = Slip(u, named, at)
        elif slip is not None and mentions_span(u.note, recorded):
            slip = None
    if slip is not None and slip.recorded == recorded:
        return slip
    return None


# -- the line ------------------------------------------------------------------------


def compose_line(
    status: Status,
    sentences: Sequence[str],
    due: str | None,
    dependencies: bool,
    *,
    start_month: int = 4,
    leave_due_out: bool = False,
    plain: Callable[[str], str] = lambda s: s,
) -> str:
    """The "Update:" text: the status wording, the notes' sentences, "Scheduled for …" and
    "Dependencies identified.", each said once. The wording is left out when the notes say
    the status in the papers' words ("Recruitment on hold whilst…");
    ``plain`` spells acronyms out for the comparisons ("Embedded into BAU.")."""
    body = [s for s in without_repeats(sentences, plain) if not is_status_echo(plain(s), status)]
    said = " ".join(body)
    parts = [] if body and status.said_in(plain(said)) else [status.wording]
    parts += body
    text = " ".join(parts)
    if due and not leave_due_out and not status.exempt_from_overdue:
        span = _span(due, start_month)
        if span is not None and not mentions_span(said, span):
            verb = "start" if status is Status.NOT_STARTED else "completion"
            parts.append(f"Scheduled for {verb} {span.paper()}.")
    if dependencies and not mentions_dependencies(plain(text)):
        parts.append("Dependencies identified.")
    return " ".join(parts)


def clean_plain(note: str) -> Cleaned:
    """A note cleaned with no glossary, people or titles (for callers without a plan)."""
    return clean_note(note)
