"""Panel report drafts: built from the store as plain data, then rendered.

The shape follows the Forward Plan paper: for each theme in plan order, the deliverables
completed within the period, the current ones, and the new ones, each with an "Update:"
line in the papers' own voice; then a correspondence paragraph.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2

from digests.paper_lines import Choice, Slip, choose_for_paper, compose_line, find_slip
from digests.paper_words import (
    AcronymSpeller,
    Cleaned,
    Glossary,
    Words,
    clean_note,
    mentions_dependencies,
    without_repeats,
)
from digests.render import render
from store import (
    AN_OFFICE,
    CORRESPONDENCE_CATEGORIES,
    Deliverable,
    Office,
    Reader,
    State,
    Status,
    Theme,
    Update,
    replay,
)

__all__ = [
    "CorrespondenceSummary",
    "Report",
    "ReportItem",
    "ThemeSection",
    "build_report",
    "choose_notes",
    "compose_new_line",
    "compose_update_line",
    "render_docx",
    "render_report",
]


@dataclass(frozen=True)
class ReportItem:
    ref: str
    title: str
    status: Status
    due: str | None
    dependencies: bool
    notes: tuple[str, ...]
    update_line: str
    new_line: str = ""  # the explanatory line under a new deliverable
    explain: tuple[str, ...] = ()  # why it is in its list and which rule chose its line
    flags: tuple[str, ...] = ()  # what the coordinator should look at (report --explain)
    draft: bool = False  # report --round: its owner has not approved this line (yet)


@dataclass(frozen=True)
class ThemeSection:
    code: str
    name: str
    aim: str
    completed: list[ReportItem] = field(default_factory=list)
    current: list[ReportItem] = field(default_factory=list)
    new: list[ReportItem] = field(default_factory=list)


@dataclass(frozen=True)
class CorrespondenceSummary:
    weeks: int
    total: int
    per_month: int
    complaints: int
    by_category: dict[str, int]
    paragraph: str
    # "Business intelligence information": correspondence by category and month.
    categories: list[str] = field(default_factory=list)
    months: list[tuple[str, list[int], int]] = field(default_factory=list)  # (label, counts, total)
    # The same, with a column for every category in a fixed order (for the Word table).
    all_months: list[tuple[str, list[int], int]] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    plan: str
    office: str
    period_from: dt.date
    period_to: dt.date
    themes: list[ThemeSection]
    correspondence: CorrespondenceSummary
    history_note: str = ""  # said when the period begins before the record does


NOTE_MODES = ("latest", "all")


def choose_notes(updates: list[Update], mode: str = "latest") -> tuple[str, ...]:
    """The notes a draft shows, oldest first (see :mod:`digests.paper_lines` for the rule).

    ``latest``: the summary note, else the notes that changed something with the newest;
    ``all``: every note, for a full history.
    """
    if mode not in NOTE_MODES:
        raise ValueError(f"unknown notes mode {mode!r}; use {' or '.join(NOTE_MODES)}")
    choice = choose_for_paper(updates, clean=lambda u: clean_note(u.note), mode=mode)
    return tuple(u.note for u in choice.chosen)


def compose_update_line(
    status: Status,
    notes: list[str] | tuple[str, ...],
    due: str | None,
    dependencies: bool,
    *,
    start_month: int = 4,
) -> str:
    """The "Update:" text: status wording, the notes, the due quarter, the flag.

    Nothing is said twice: the status wording is left out when the notes already say it, and
    the due quarter when the notes already name it in any form ("Q3/4", "Q3/Q4, 2022/23").
    """
    sentences = [s for n in notes for s in clean_note(n).sentences]
    return compose_line(status, sentences, due, dependencies, start_month=start_month)


def compose_new_line(notes: list[str] | tuple[str, ...], dependencies: bool) -> str:
    """The explanatory line under a new deliverable, as the papers give it (no status)."""
    return _new_line([s for n in notes for s in clean_note(n).sentences], dependencies)


def _new_line(sentences: list[str] | tuple[str, ...], dependencies: bool) -> str:
    body = " ".join(without_repeats(sentences))
    if dependencies and not mentions_dependencies(body):
        body = f"{body} Dependencies identified.".strip()
    return body


def _bounds(day_from: dt.date, day_to: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


def _correspondence(store: Reader, day_from: dt.date, day_to: dt.date) -> CorrespondenceSummary:
    days = (day_to - day_from).days + 1
    weeks = max(1, round(days / 7))
    daily = store.correspondence_daily(since=day_from, until=day_to)
    by_category: dict[str, int] = {}
    by_month: dict[str, dict[str, int]] = {}
    for day, category, n in daily:
        by_category[category] = by_category.get(category, 0) + n
        month = by_month.setdefault(day[:7], {})
        month[category] = month.get(category, 0) + n
    by_category = dict(sorted(by_category.items()))
    total = sum(by_category.values())
    month_span = max(days / (365.25 / 12), 1.0)
    per_month = round(total / month_span)
    complaints = by_category.get("complaint", 0)
    to_text = f"{day_to.day} {day_to:%B %Y}"
    if total == 0:
        paragraph = f"No correspondence was recorded in the {weeks} weeks to {to_text}."
    else:
        paragraph = (
            f"In the {weeks} weeks to {to_text} the office received {total} "
            f"piece{'s' if total != 1 else ''} of correspondence, on average {per_month} per month"
        )
        if complaints:
            paragraph += (
                f"; {complaints} {'were complaints' if complaints != 1 else 'was a complaint'} "
                "referred to the Constabulary's Professional Standards Department"
            )
        paragraph += "."
    categories = list(by_category)
    months: list[tuple[str, list[int], int]] = []
    all_months: list[tuple[str, list[int], int]] = []
    cursor = day_from.replace(day=1)
    while cursor <= day_to:
        in_month = by_month.get(f"{cursor:%Y-%m}", {})
        counts = [in_month.get(c, 0) for c in categories]
        every = [in_month.get(c, 0) for c in CORRESPONDENCE_CATEGORIES]
        total_month = sum(in_month.values())
        months.append((f"{cursor:%B %Y}", counts, total_month))
        all_months.append((f"{cursor:%b %Y}", every, total_month))
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return CorrespondenceSummary(
        weeks, total, per_month, complaints, by_category, paragraph, categories, months, all_months
    )


def _history_note(store: Reader, day_from: dt.date) -> str:
    starts = store.history_starts()
    if starts is None or day_from >= starts:
        return ""
    when = f"{starts.day} {starts:%B %Y}"
    if store.baseline() is not None:
        return (
            f"The record starts on {when}, when the plan was first imported; states before "
            "then are as imported. Set start: in the plan file to date the plan's history."
        )
    return f"The record starts on {when}, the plan's start: date."


@dataclass
class _Draft:
    """One deliverable's entry before the paper's words are final (acronyms are spelled out
    in the order the paper is read, so that waits until every list is known)."""

    deliverable: Deliverable
    state: State
    choice: Choice
    listed: str  # why it is in its list
    slip: Slip | None


@dataclass
class _Paper:
    """What building the paper needs from the store, read once."""

    store: Reader
    tz: dt.tzinfo
    start_month: int
    mode: str
    start: dt.datetime
    end: dt.datetime
    words: Words = field(init=False)
    people: dict[int, str] = field(init=False)
    history: dict[int, list[Update]] = field(init=False)
    deps_changed: set[int] = field(init=False)
    cleaned: dict[tuple[str, dt.date], Cleaned] = field(default_factory=dict)

    def __post_init__(self) -> None:
        people = self.store.people()
        self.people = {p.id: p.name for p in people}
        self.words = Words(
            glossary=Glossary(self.store.glossary()),
            people=tuple(p.name for p in people),
            titles={d.ref: d.title for d in self.store.deliverables()},
            start_month=self.start_month,
        )
        if self.mode == "all":
            self.history, self.deps_changed = {}, set()
            for u in self.store.updates(since=self.start, until=self.end):
                self.history.setdefault(u.deliverable_id, []).append(u)
        else:
            self.history, self.deps_changed = self.store.paper_candidates(self.start, self.end)

    def clean(self, u: Update) -> Cleaned:
        key = (u.note, u.recorded_at.astimezone(self.tz).date())
        if key not in self.cleaned:  # the same words on the same day read the same
            self.cleaned[key] = clean_note(u.note, self.words, on=key[1])
        return self.cleaned[key]

    def draft(self, d: Deliverable, state: State, history: list[Update], listed: str) -> _Draft:
        slip = find_slip(history, state.due, tz=self.tz, start_month=self.start_month)
        choice = choose_for_paper(
            history,
            clean=self.clean,
            tz=self.tz,
            deps_changed=self.deps_changed,
            who=lambda pid: self.people.get(pid, "") if pid is not None else "",
            mode=self.mode,
            also=(slip.update.id,) if slip is not None else (),
        )
        return _Draft(d, state, choice, listed, slip)

    def item(self, draft: _Draft, speller: AcronymSpeller, which: str) -> ReportItem:
        """The entry as the paper gives it; acronyms are spelled out at their first use in
        what the paper shows (the Update line, or the line under a new deliverable)."""
        d, state, choice = draft.deliverable, draft.state, draft.choice
        title = speller.apply(d.title)
        line = compose_line(
            state.status,
            choice.sentences,
            state.due,
            state.dependencies,
            start_month=self.start_month,
            leave_due_out=draft.slip is not None,
            plain=self.words.plain,
        )
        new_line = _new_line(choice.sentences, state.dependencies)
        if which == "new":
            new_line = speller.apply(new_line)
        else:
            line = speller.apply(line)
        flags = []
        if draft.slip is not None:
            flags.append(draft.slip.flag(self.tz).replace("{ref}", d.ref))
        flags += [
            f"the line names {name}: add {name} to the glossary (what the paper calls them) "
            "or reword the note"
            for name in choice.names_left
        ]
        return ReportItem(
            ref=d.ref,
            title=title,
            status=state.status,
            due=state.due,
            dependencies=state.dependencies,
            notes=tuple(u.note for u in choice.chosen),
            update_line=line,
            new_line=new_line,
            explain=(draft.listed, f"line: {choice.rule}", *choice.details),
            flags=tuple(flags),
        )


def _listed(
    d: Deliverable, state: State, own: bool, origin_on: dt.date | None, start: dt.datetime
) -> tuple[str, str]:
    """(list, why): completed in the period, new in it, or current; "" for not reported."""
    day_from = start.date()
    if state.status is Status.COMPLETED:
        if state.completed_at is None or state.completed_at < start:
            return "", ""
        done = state.completed_at.astimezone(start.tzinfo).date()
        return "completed", f"Completed: completed on {done}, in the period"
    if not own and day_from <= d.added_on:
        return "new", f"New: added on {d.added_on}" + (
            f", after the plan's start ({origin_on})" if origin_on else ""
        )
    why = f"Current: {state.status.label.lower()}"
    if own and origin_on is not None:
        why += f"; the plan's own since {origin_on}, so never New"
    return "current", why


def build_report(
    store: Reader,
    *,
    day_from: dt.date,
    day_to: dt.date,
    office: Office = AN_OFFICE,
    notes: str = "latest",
) -> Report:
    """The report's data as at the end of ``day_to`` (the office's time zone and financial
    year), from the append-only update history.

    ``notes`` is ``latest`` (the paper's rule: see :mod:`digests.paper_lines`) or ``all``.
    """
    if day_to < day_from:
        raise ValueError(f"--to {day_to} is before --from {day_from}")
    if notes not in NOTE_MODES:
        raise ValueError(f"unknown notes mode {notes!r}; use {' or '.join(NOTE_MODES)}")
    tz, start_month = office.tz, office.fy_start_month
    start, end = _bounds(day_from, day_to, tz)
    baseline, origin = store.baseline(), store.origin()
    states = store.states_at(end)
    paper = _Paper(store, tz, start_month, notes, start, end)
    drafts: list[tuple[Theme, dict[str, list[_Draft]]]] = []
    for theme in store.themes():
        lists: dict[str, list[_Draft]] = {"completed": [], "current": [], "new": []}
        for d in store.deliverables(theme_id=theme.id):
            in_baseline = baseline is not None and baseline.covers(d)
            own = origin is not None and origin.owns(d)
            if d.added_on > day_to and not in_baseline:
                continue
            as_of = states.get(d.id)
            history = paper.history.get(d.id, [])
            if as_of is not None:
                state = as_of.state(baseline=in_baseline)
            elif in_baseline:
                # The period is before the record: the imported state is all that is known.
                history = store.updates(deliverable_id=d.id, limit=1)
                state = replay(history, baseline=True, fallback=d)
            else:
                state, history = replay([], fallback=d), []
            which, why = _listed(d, state, own, origin.on if origin else None, start)
            if which:
                lists[which].append(paper.draft(d, state, history, why))
        drafts.append((theme, lists))
    speller = AcronymSpeller(paper.words.glossary)
    sections = []
    for theme, lists in drafts:  # in the order the paper is read
        section = ThemeSection(theme.code, theme.name, theme.aim)
        for which in ("completed", "current", "new"):
            getattr(section, which).extend(paper.item(x, speller, which) for x in lists[which])
        sections.append(section)
    return Report(
        plan=store.get_meta("plan") or "Delivery Plan",
        office=store.get_meta("office") or "",
        period_from=day_from,
        period_to=day_to,
        themes=sections,
        correspondence=_correspondence(store, day_from, day_to),
        history_note=_history_note(store, day_from),
    )


def render_docx(report: Report, *, template: Path | None = None, section: str = "5") -> bytes:
    """The report as Word, through docxtpl and a template the office can restyle."""
    return fill_docx(
        template or "report.docx",
        {
            "report": report,
            "section": section,
            "period_from": f"{report.period_from.day} {report.period_from:%B %Y}",
            "period_to": f"{report.period_to.day} {report.period_to:%B %Y}",
        },
    )


def fill_docx(template: Path | str, context: dict[str, object]) -> bytes:
    """A Word template (a path, or the name of one shipped in digests/templates) filled in
    with docxtpl. Every value is XML-escaped (autoescape), so nothing typed by staff or in
    the office's wording can alter the document."""
    from docxtpl import DocxTemplate

    if isinstance(template, str):
        template = Path(str(resources.files("digests").joinpath(f"templates/{template}")))
    doc = DocxTemplate(str(template))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    doc.render(context, jinja_env=env, autoescape=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def render_report(report: Report, fmt: str = "markdown") -> str:
    if fmt == "markdown":
        return render("markdown", "report.md.j2", report=report)
    if fmt == "text":
        return render("text", "report.txt.j2", report=report)
    if fmt == "html":
        return render("html", "report.html.j2", report=report)
    raise ValueError(f"unknown report format {fmt!r}")
