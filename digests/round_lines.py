"""The paper and the round: the lines a round asks about (as the paper drafts them), the
paper with each approved or edited line in place and the rest marked "[draft]", and a paper
rebuilt exactly from the data a closed round froze."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
from typing import Any

from digests.report import (
    CorrespondenceSummary,
    Report,
    ReportItem,
    ThemeSection,
    build_report,
)
from store import AN_OFFICE, Office, Reader, Status
from store.round import DraftLine, RoundBook

__all__ = [
    "DRAFT_MARK",
    "apply_round",
    "draft_lines",
    "highlight_drafts",
    "pending_items",
    "report_from_data",
    "round_report",
    "word_drafts",
]

DRAFT_MARK = "[draft]"
SECTIONS = ("completed", "current", "new")


def draft_lines(
    store: Reader,
    *,
    day_from: dt.date,
    day_to: dt.date,
    office: Office = AN_OFFICE,
) -> list[DraftLine]:
    """Every line the paper for the period would print, in the paper's order, with its
    owner: what a round asks about."""
    report = build_report(store, day_from=day_from, day_to=day_to, office=office)
    deliverables = {d.ref: d for d in store.deliverables()}
    lines: list[DraftLine] = []
    for theme in report.themes:
        for section in SECTIONS:
            for item in getattr(theme, section):
                d = deliverables.get(item.ref)
                if d is None:
                    continue
                lines.append(
                    DraftLine(
                        deliverable_id=d.id,
                        ref=item.ref,
                        title=item.title,
                        theme_code=theme.code,
                        section=section,
                        owner_id=d.owner_id,
                        text=item.new_line if section == "new" else item.update_line,
                    )
                )
    return lines


def apply_round(report: Report, book: RoundBook) -> Report:
    """The paper with each approved or edited line as its owner settled it; every other line
    (pending, "not mine", or not in the round) is drafted as today and marked draft."""
    views = book.by_ref()

    def settle(item: ReportItem, section: str) -> ReportItem:
        view = views.get(item.ref.upper())
        if view is None or not view.settled:
            return dataclasses.replace(item, draft=True)
        if section == "new":
            return dataclasses.replace(item, new_line=view.text, draft=False)
        return dataclasses.replace(item, update_line=view.text, draft=False)

    themes = [
        dataclasses.replace(
            t,
            completed=[settle(i, "completed") for i in t.completed],
            current=[settle(i, "current") for i in t.current],
            new=[settle(i, "new") for i in t.new],
        )
        for t in report.themes
    ]
    return dataclasses.replace(report, themes=themes)


def pending_items(report: Report) -> list[ReportItem]:
    """The paper's lines still marked draft, in the paper's order."""
    return [i for t in report.themes for s in SECTIONS for i in getattr(t, s) if i.draft]


def round_report(
    store: Reader,
    book: RoundBook,
    *,
    office: Office = AN_OFFICE,
    notes: str = "latest",
) -> Report:
    """The round's paper: rebuilt exactly from its frozen data once the round has closed,
    else built now with the round's lines in place."""
    r = book.round
    if r.closed_at is not None:
        frozen = store.snapshot(r.name)
        if frozen is not None:
            return report_from_data(frozen["data"])
    report = build_report(
        store, day_from=r.period_from, day_to=r.period_to, office=office, notes=notes
    )
    return apply_round(report, book)


# -- a paper from its frozen data ------------------------------------------------------------


def _item(data: dict[str, Any]) -> ReportItem:
    fields = {f.name for f in dataclasses.fields(ReportItem)}
    values = {k: v for k, v in data.items() if k in fields}
    values["status"] = Status(values["status"])
    for name in ("notes", "explain", "flags"):
        values[name] = tuple(values.get(name) or ())
    return ReportItem(**values)


def _months(rows: list[Any]) -> list[tuple[str, list[int], int]]:
    return [(str(label), [int(n) for n in counts], int(total)) for label, counts, total in rows]


def report_from_data(data: dict[str, Any]) -> Report:
    """The :class:`Report` that ``report_to_data`` (``--freeze``) stored: the same paper."""
    c = data["correspondence"]
    correspondence = CorrespondenceSummary(
        weeks=c["weeks"],
        total=c["total"],
        per_month=c["per_month"],
        complaints=c["complaints"],
        by_category=dict(c["by_category"]),
        paragraph=c["paragraph"],
        categories=list(c.get("categories") or []),
        months=_months(c.get("months") or []),
        all_months=_months(c.get("all_months") or []),
    )
    themes = [
        ThemeSection(
            code=t["code"],
            name=t["name"],
            aim=t["aim"],
            **{s: [_item(i) for i in t.get(s) or []] for s in SECTIONS},
        )
        for t in data["themes"]
    ]
    return Report(
        plan=data["plan"],
        office=data["office"],
        period_from=dt.date.fromisoformat(data["period_from"]),
        period_to=dt.date.fromisoformat(data["period_to"]),
        themes=themes,
        correspondence=correspondence,
        history_note=data.get("history_note") or "",
    )


# -- Word: a highlighted [draft] ---------------------------------------------------------------


def word_drafts(report: Report) -> Report:
    """The paper for Word: each draft line starts with ``[draft] `` (then highlighted by
    :func:`highlight_drafts`), which any restyled template carries too."""

    def mark(item: ReportItem, section: str) -> ReportItem:
        if not item.draft:
            return item
        if section == "new":
            return dataclasses.replace(item, new_line=f"{DRAFT_MARK} {item.new_line}".strip())
        return dataclasses.replace(item, update_line=f"{DRAFT_MARK} {item.update_line}")

    themes = [
        dataclasses.replace(
            t,
            completed=[mark(i, "completed") for i in t.completed],
            current=[mark(i, "current") for i in t.current],
            new=[mark(i, "new") for i in t.new],
        )
        for t in report.themes
    ]
    return dataclasses.replace(report, themes=themes)


def highlight_drafts(docx: bytes) -> bytes:
    """The Word file with every ``[draft]`` that starts a run in its own yellow-highlighted
    bold run, so the coordinator sees at a glance which lines still wait for an owner."""
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.text.run import Run

    doc = Document(io.BytesIO(docx))
    for paragraph in doc.paragraphs:
        for run in paragraph.runs:
            if not run.text.startswith(DRAFT_MARK):
                continue
            rest = run.text[len(DRAFT_MARK) :]
            mark = Run(copy.deepcopy(run._r), paragraph)
            mark.text = DRAFT_MARK
            mark.font.highlight_color = WD_COLOR_INDEX.YELLOW
            mark.bold = True
            run._r.addprevious(mark._r)
            run.text = rest
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
