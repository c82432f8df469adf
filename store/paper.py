"""The office's own wording for the whole panel paper (the `paper:` block of the plan file,
or a small YAML given to `report --paper`): pure data, no I/O.

Every field is optional; ``None`` means "not given", and the report then uses a default
drawn from the Forward Plan paper's structure. An empty list of paragraphs leaves that
section out, and the sections after it are numbered on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["PAPER_PARAGRAPH_FIELDS", "PAPER_TEXT_FIELDS", "PaperWording"]

# One line of text each: the heading block.
PAPER_TEXT_FIELDS = (
    "panel",  # CAMBRIDGESHIRE POLICE AND CRIME PANEL
    "agenda_item",  # 8
    "classification",  # Public Report
    "report_of",  # Report of Cambridgeshire Police and Crime Commissioner
    "contact_officer",  # Jack Hudson, Head of Business Development, OPCC
    "contact_details",  # cambs-pcc@cambs.police.uk 0300 333 3456
    "title",  # DELIVERY OF THE ... POLICE AND CRIME PLAN 2021-24 – FORWARD PLAN
    "themes_title",  # the heading of the generated section: POLICE AND CRIME PLAN 2021-24 THEMES
)
# Lists of paragraphs: the sections around the generated one, in the paper's order.
PAPER_PARAGRAPH_FIELDS = (
    "purpose",
    "recommendations",
    "terms_of_reference",
    "background",
    "monitoring",
    "background_documents",
)


@dataclass(frozen=True)
class PaperWording:
    panel: str | None = None
    date: dt.date | None = None  # the meeting; default: the last day of the report period
    agenda_item: str | None = None
    classification: str | None = None
    report_of: str | None = None
    contact_officer: str | None = None
    contact_details: str | None = None
    title: str | None = None
    themes_title: str | None = None
    purpose: tuple[str, ...] | None = None
    recommendations: tuple[str, ...] | None = None
    terms_of_reference: tuple[str, ...] | None = None
    background: tuple[str, ...] | None = None
    monitoring: tuple[str, ...] | None = None
    background_documents: tuple[str, ...] | None = None

    def over(self, base: PaperWording) -> PaperWording:
        """These fields where given, ``base``'s elsewhere (a paper's own YAML over the plan's)."""
        given = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(base, **given)

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            data[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> PaperWording:
        if not text:
            return cls()
        data = json.loads(text)
        values: dict[str, Any] = {}
        for name in PAPER_TEXT_FIELDS:
            if isinstance(data.get(name), str):
                values[name] = data[name]
        for name in PAPER_PARAGRAPH_FIELDS:
            if isinstance(data.get(name), list):
                values[name] = tuple(str(p) for p in data[name])
        if isinstance(data.get("date"), str):
            values["date"] = dt.date.fromisoformat(data["date"])
        return cls(**values)
