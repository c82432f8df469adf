"""The whole panel paper in Word: the heading block and sections 1–4 and 6–7 in the office's
own wording (``paper:``, see ``store/paper.py``), around the generated section, numbered on.

Where the office gives no wording, the defaults follow the Forward Plan paper's structure
(``../shared/seeds/002_963ce3eec8c76585.txt``), filled in from the plan: its name, its
themes, the report period and the plan's lead (its first admin or editor).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from digests.report import Report, fill_docx
from store import Person, Reader, Role
from store.paper import PaperWording

__all__ = ["Paper", "PaperSection", "build_paper", "render_paper_docx", "stored_wording"]

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class PaperSection:
    number: int
    heading: str
    paragraphs: list[tuple[str, str]]  # ("4.2", text)


@dataclass(frozen=True)
class Paper:
    panel: str
    date: str
    agenda_item: str
    classification: str
    report_of: str
    contact_officer: str
    contact_details: str
    title: str
    before: list[PaperSection]  # 1–4: purpose, recommendations, terms of reference, background
    themes_number: int  # the generated section (5 in the Forward Plan paper)
    themes_title: str
    after: list[PaperSection]  # 6–7: monitoring, background documents


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) < 2 else ", ".join(names[:-1]) + " and " + names[-1]


def _lead(store: Reader) -> Person | None:
    people = store.people()
    for role in (Role.ADMIN, Role.EDITOR):
        found = next((p for p in people if p.role is role), None)
        if found is not None:
            return found
    return None


def _defaults(report: Report, themes_number: int) -> dict[str, tuple[str, ...]]:
    plan = report.plan
    names = [t.name for t in report.themes]
    count = _NUMBERS[len(names)] if len(names) < len(_NUMBERS) else str(len(names))
    period = f"{_day(report.period_from)} to {_day(report.period_to)}"
    return {
        "purpose": (
            f"The purpose of this report is to update the Police and Crime Panel (the “Panel”) "
            f"on the delivery of the {plan} (the “Plan”), for the period {period}.",
        ),
        "recommendations": ("The Panel is recommended to note the contents of this report.",),
        "terms_of_reference": (
            "To review or scrutinise decisions made, or other action taken, by the Police and "
            "Crime Commissioner in connection with the discharge of the Commissioner’s "
            "functions.",
            "To support the effective exercise of the functions of the Police and Crime "
            "Commissioner.",
        ),
        "background": (
            "The Panel’s role is to scrutinise and support the Commissioner in the exercise of "
            f"the Commissioner’s statutory functions. Key to this is the {plan}.",
            f"The Plan is structured around {count} theme{'s' if len(names) != 1 else ''}: "
            f"{_and(names)}. Deliverables were developed to progress each theme and are "
            "brought together in the Delivery Plan.",
            "Much of the work contained within the Delivery Plan involves external partners "
            "and stakeholders. There are dependencies between the activities, and as such "
            "timescales for delivery may change.",
            f"Section {themes_number} details, for each theme, the deliverables and activities "
            "of note completed in the period, the current deliverables and the new "
            "deliverables.",
        ),
        "monitoring": (
            "The Commissioner holds the Chief Constable to account for the efficiency and "
            "effectiveness of the Constabulary through a range of governance and assurance "
            "mechanisms. Reports on how the Commissioner’s Office and partners are supporting "
            "the delivery of the Plan are monitored through these mechanisms.",
            "Updates to the Panel against the delivery of the Plan will be provided twice a year.",
        ),
        "background_documents": (plan,),
    }


_BEFORE = (
    ("purpose", "PURPOSE"),
    ("recommendations", "RECOMMENDATIONS"),
    ("terms_of_reference", "TERMS OF REFERENCE"),
    ("background", "BACKGROUND"),
)
_AFTER = (
    ("monitoring", "MONITORING DELIVERY OF THE PLAN"),
    ("background_documents", "BACKGROUND DOCUMENTS"),
)


def _sections(
    wording: PaperWording,
    defaults: dict[str, tuple[str, ...]],
    names: tuple[tuple[str, str], ...],
    first: int,
) -> list[PaperSection]:
    """The sections that have paragraphs, numbered from ``first``: an empty list in the
    office's wording leaves a section out, and the numbers follow on."""
    sections: list[PaperSection] = []
    for key, heading in names:
        given = getattr(wording, key)
        paragraphs = defaults[key] if given is None else given
        if not paragraphs:
            continue
        number = first + len(sections)
        numbered = [(f"{number}.{i}", text) for i, text in enumerate(paragraphs, start=1)]
        sections.append(PaperSection(number, heading, numbered))
    return sections


def stored_wording(store: Reader) -> PaperWording:
    """The `paper:` block of the last plan import (or nothing given)."""
    return PaperWording.from_json(store.get_meta("paper"))


def build_paper(store: Reader, report: Report, wording: PaperWording | None = None) -> Paper:
    """The paper's words: the office's where given, the defaults elsewhere."""
    wording = wording or PaperWording()
    # Section numbers depend on which of 1–4 are present, and the defaults name section 5.
    present = sum(1 for key, _ in _BEFORE if getattr(wording, key) is None or getattr(wording, key))
    themes_number = present + 1
    defaults = _defaults(report, themes_number)
    lead = _lead(store)
    office = report.office or "the Office of the Police and Crime Commissioner"
    return Paper(
        panel=wording.panel or "POLICE AND CRIME PANEL",
        date=_day(wording.date or report.period_to),
        agenda_item=wording.agenda_item or "[to follow]",
        classification=wording.classification or "Public Report",
        report_of=wording.report_of or "Report of the Police and Crime Commissioner",
        contact_officer=wording.contact_officer
        or (f"{lead.name}, {office}" if lead else f"[name], {office}"),
        contact_details=wording.contact_details or (lead.email if lead else ""),
        title=wording.title or f"DELIVERY OF THE {report.plan.upper()} – FORWARD PLAN",
        before=_sections(wording, defaults, _BEFORE, 1),
        themes_number=themes_number,
        themes_title=wording.themes_title or f"{report.plan.upper()} THEMES",
        after=_sections(wording, defaults, _AFTER, themes_number + 1),
    )


def render_paper_docx(report: Report, paper: Paper, *, template: Path | None = None) -> bytes:
    """The whole paper as Word, through docxtpl and a template the office can restyle
    (every value XML-escaped, as in :func:`digests.report.fill_docx`)."""
    return fill_docx(
        template or "paper.docx",
        {
            "report": report,
            "paper": paper,
            "section": str(paper.themes_number),
            "period_from": _day(report.period_from),
            "period_to": _day(report.period_to),
        },
    )
