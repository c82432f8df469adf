"""Panel report drafts: built from the store as plain data, then rendered.

The shape follows the Forward Plan paper: for each theme in plan order, the deliverables
completed within the period, the current ones, and the new ones, each with an "Update:"
line in the papers' own voice; then a correspondence paragraph.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2

from digests.render import render
from store import (
    CORRESPONDENCE_CATEGORIES,
    QuarterParseError,
    Status,
    Store,
    Update,
    mentions_span,
    one_paragraph,
    parse_quarter_span,
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


def _sentence(text: str) -> str:
    text = one_paragraph(text).strip()
    if not text:
        return ""
    return text if text[-1] in ".!?)" else text + "."


NOTE_MODES = ("latest", "all")


def choose_notes(updates: list[Update], mode: str = "latest") -> tuple[str, ...]:
    """The notes a draft shows, oldest first.

    ``latest``: the newest note marked as the summary for the paper, else the newest note.
    ``all``: every note, for a full history.
    """
    with_notes = [u for u in updates if u.note.strip()]
    if mode == "all":
        return tuple(u.note for u in with_notes)
    if mode != "latest":
        raise ValueError(f"unknown notes mode {mode!r}; use {' or '.join(NOTE_MODES)}")
    summaries = [u for u in with_notes if u.summary]
    chosen = summaries or with_notes
    return (chosen[-1].note,) if chosen else ()


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
    said = " ".join(s for s in (_sentence(n) for n in notes) if s)
    parts = [] if said and status.said_in(said) else [status.wording]
    if said:
        parts.append(said)
    body = " ".join(parts)
    if due and status in (Status.ONGOING, Status.NOT_STARTED, Status.ON_HOLD):
        try:
            span = parse_quarter_span(due, start_month=start_month)
        except QuarterParseError:
            span = None
        if span is not None and not mentions_span(body, span):
            verb = "start" if status is Status.NOT_STARTED else "completion"
            parts.append(f"Scheduled for {verb} {span.paper()}.")
    if dependencies and "dependencies identified" not in body.lower():
        parts.append("Dependencies identified.")
    return " ".join(parts)


def compose_new_line(notes: list[str] | tuple[str, ...], dependencies: bool) -> str:
    """The explanatory line under a new deliverable, as the papers give it (no status)."""
    body = " ".join(s for s in (_sentence(n) for n in notes) if s)
    if dependencies and "dependencies identified" not in body.lower():
        body = f"{body} Dependencies identified.".strip()
    return body


def _bounds(
    day_from: dt.date, day_to: dt.date, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


def _correspondence(store: Store, day_from: dt.date, day_to: dt.date) -> CorrespondenceSummary:
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


def _notes_reader(
    store: Store, start: dt.datetime, end: dt.datetime, mode: str
) -> Callable[[int], tuple[str, ...]]:
    """The notes a deliverable shows for the period. ``latest`` reads only the one note per
    deliverable it needs; ``all`` reads the period's history."""
    if mode == "all":
        by_deliverable: dict[int, list[Update]] = {}
        for u in store.updates(since=start, until=end):
            by_deliverable.setdefault(u.deliverable_id, []).append(u)
        return lambda did: choose_notes(by_deliverable.get(did, []), "all")
    picks = store.latest_notes(start, end)

    def latest(did: int) -> tuple[str, ...]:
        newest, summary = picks.get(did, (None, None))
        chosen = summary or newest
        return (chosen.note,) if chosen is not None else ()

    return latest


def _history_note(store: Store, day_from: dt.date) -> str:
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


def build_report(
    store: Store,
    *,
    day_from: dt.date,
    day_to: dt.date,
    tz: zoneinfo.ZoneInfo,
    start_month: int = 4,
    notes: str = "latest",
) -> Report:
    """The report's data as at the end of ``day_to``, from the append-only update history.

    ``notes`` is ``latest`` (the summary note, else the newest note of the period) or ``all``.
    """
    if day_to < day_from:
        raise ValueError(f"--to {day_to} is before --from {day_from}")
    if notes not in NOTE_MODES:
        raise ValueError(f"unknown notes mode {notes!r}; use {' or '.join(NOTE_MODES)}")
    start, end = _bounds(day_from, day_to, tz)
    baseline = store.baseline()
    states = store.states_at(end)
    notes_for = _notes_reader(store, start, end, notes)
    sections: list[ThemeSection] = []
    for theme in store.themes():
        section = ThemeSection(theme.code, theme.name, theme.aim)
        for d in store.deliverables(theme_id=theme.id):
            in_baseline = baseline is not None and baseline.covers(d)
            if d.added_on > day_to and not in_baseline:
                continue
            as_of = states.get(d.id)
            if as_of is not None:
                state = as_of.state(baseline=in_baseline)
                chosen = notes_for(d.id)
            elif in_baseline:
                # The period is before the record: the imported state is all that is known.
                first = store.updates(deliverable_id=d.id, limit=1)
                state = replay(first, baseline=True, fallback=d)
                chosen = choose_notes(first, notes)
            else:
                state, chosen = replay([], fallback=d), ()
            item = ReportItem(
                ref=d.ref,
                title=d.title,
                status=state.status,
                due=state.due,
                dependencies=state.dependencies,
                notes=chosen,
                update_line=compose_update_line(
                    state.status, chosen, state.due, state.dependencies, start_month=start_month
                ),
                new_line=compose_new_line(chosen, state.dependencies),
            )
            if state.status is Status.COMPLETED:
                if state.completed_at is not None and state.completed_at >= start:
                    section.completed.append(item)
            elif day_from <= d.added_on and not in_baseline:
                section.new.append(item)
            else:
                section.current.append(item)
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
    """The report as Word, through docxtpl and a template the office can restyle.

    User text is XML-escaped (autoescape), so nothing typed by staff can alter the document.
    """
    from docxtpl import DocxTemplate

    source = template or Path(str(resources.files("digests").joinpath("templates/report.docx")))
    doc = DocxTemplate(str(source))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    doc.render(
        {
            "report": report,
            "section": section,
            "period_from": f"{report.period_from.day} {report.period_from:%B %Y}",
            "period_to": f"{report.period_to.day} {report.period_to:%B %Y}",
        },
        jinja_env=env,
        autoescape=True,
    )
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
