"""The plan file: parse and validate the YAML as a whole, into a :class:`PlanSpec`.

Every error names the file, the line and the field. The file is read within the limits of
:mod:`handlers.bounded` (size, rows, field lengths; no aliases, no duplicate keys). Writing
the spec is the service's job (:func:`handlers.service.import_plan`): nothing is written
unless the whole file is valid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.bounded import (
    DEFAULT_LIMITS,
    MAX_NOTE_CHARS,
    MAX_TITLE_CHARS,
    FileInvalid,
    FileProblem,
    Limits,
    LineMap,
    load_yaml,
    read_text,
)
from store import AN_OFFICE, Office, QuarterParseError, Role, Status
from store.paper import PaperWording

__all__ = [
    "REF_PATTERN",
    "DeliverableSpec",
    "PersonSpec",
    "PlanError",
    "PlanInvalid",
    "PlanSpec",
    "ThemeSpec",
    "check_glossary",
    "load_plan",
    "parse_plan",
]

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^@\s<>]+@localhost$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
REF_PATTERN = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{1,5})$")
_TOP_KEYS = {"plan", "office", "start", "people", "themes", "glossary", "paper"}
_PERSON_KEYS = {"name", "email", "slack", "role"}
_THEME_KEYS = {"code", "name", "aim", "deliverables"}
_DELIVERABLE_KEYS = {
    "ref",
    "title",
    "status",
    "owner",
    "due",
    "dependencies",
    "added",
    "note",
    "summary",
    "updated",
}


# A problem in an import file, and all of them: the same classes for every import.
PlanError = FileProblem
PlanInvalid = FileInvalid
_Map = LineMap


@dataclass(frozen=True)
class PersonSpec:
    name: str
    email: str
    slack: str | None
    role: Role
    line: int
    partial: bool = False  # from a spreadsheet: a known person's Slack id and role stay


@dataclass(frozen=True)
class DeliverableSpec:
    title: str
    status: Status
    line: int
    ref: str | None = None
    owner: str | None = None  # email
    due: str | None = None  # canonical span text
    dependencies: bool = False
    added: dt.date | None = None
    note: str | None = None
    updated: dt.date | None = None
    summary: bool = False  # the note is the summary for the panel paper


@dataclass(frozen=True)
class ThemeSpec:
    code: str
    name: str
    aim: str | None  # None (a spreadsheet has no aims): the stored aim stays
    line: int
    deliverables: list[DeliverableSpec] = field(default_factory=list)


@dataclass(frozen=True)
class PlanSpec:
    plan: str
    office: str
    start: dt.date | None
    people: list[PersonSpec]
    themes: list[ThemeSpec]
    # Abbreviation or acronym -> the paper's words; None: the file has none (the stored
    # glossary stays).
    glossary: dict[str, str] | None = None
    source: str = "<plan>"  # the file, for errors found against the store
    paper: PaperWording | None = None  # the `paper:` block: the office's wording (paper.py)


def _shown(value: object, most: int = 60) -> str:
    """A value from the file in an error line: quoted, and cut short when long."""
    text = repr(value)
    return text if len(text) <= most else text[: most - 2] + "…" + text[0]


class _Checker:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.errors: list[PlanError] = []

    def error(self, line: int, fieldname: str, message: str) -> None:
        self.errors.append(PlanError(self.filename, line, fieldname, message))

    def line_of(self, mapping: Any, key: str | None = None) -> int:
        if isinstance(mapping, _Map):
            if key is not None and key in mapping.key_lines:
                return mapping.key_lines[key]
            return mapping.line
        return 0

    def text(
        self,
        m: _Map,
        key: str,
        where: str,
        *,
        required: bool = True,
        limit: int = MAX_TITLE_CHARS,
    ) -> str | None:
        value = m.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(self.line_of(m, key), f"{where}.{key}", "is required")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.error(self.line_of(m, key), f"{where}.{key}", "must be text")
            return None
        text = str(value).strip()
        if len(text) > limit:
            self.error(
                self.line_of(m, key),
                f"{where}.{key}",
                f"{len(text):,} characters; the limit is {limit:,}",
            )
            return None
        return text

    def date(self, m: _Map, key: str, where: str) -> dt.date | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, (str, int)):
            self.error(self.line_of(m, key), f"{where}.{key}", "must be a date (YYYY-MM-DD)")
            return None
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.error(
                self.line_of(m, key),
                f"{where}.{key}",
                f"{_shown(value)} is not a date (YYYY-MM-DD)",
            )
            return None

    def unknown_keys(self, m: _Map, allowed: set[str], where: str) -> None:
        for key in m:
            if key not in allowed:
                self.error(
                    self.line_of(m, key),
                    f"{where}.{_shown(key)[1:-1]}",
                    f"unknown field; expected one of {', '.join(sorted(allowed))}",
                )


MAX_GLOSSARY_TERMS = 500


def check_glossary(checker: _Checker, raw: Any, line: int) -> dict[str, str]:
    """``glossary:``: a mapping of short terms to what the paper says instead, e.g.
    ``w/: with``, ``ECRC: Eastern Cyber Resilience Centre``."""
    if not isinstance(raw, dict):
        checker.error(line, "glossary", "must be a mapping, e.g. {w/: with, ECRC: ...}")
        return {}
    if len(raw) > MAX_GLOSSARY_TERMS:
        checker.error(line, "glossary", f"has {len(raw)} terms; the limit is {MAX_GLOSSARY_TERMS}")
        return {}
    terms: dict[str, str] = {}
    for key, value in raw.items():
        term = str(key).strip()
        where = checker.line_of(raw, key)
        if term in ("True", "False", "None"):  # YAML read no/yes/on/off/null as a value
            checker.error(where, f"glossary.{term}", "put the term in quotes, e.g. 'no': number")
        elif not term or len(term) > 40 or any(c.isspace() for c in term):
            checker.error(where, f"glossary.{term}", "a term is one word of up to 40 characters")
        elif not isinstance(value, str) or not value.strip() or len(value) > 200:
            checker.error(where, f"glossary.{term}", "needs its words (text, up to 200 characters)")
        else:
            terms[term] = " ".join(value.split())
    return terms


class _PlanParser(_Checker):
    """Reads a plan document section by section, collecting every error on the way."""

    def __init__(
        self,
        filename: str,
        calendar: Office,
        *,
        from_table: bool = False,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(filename)
        self.calendar = calendar  # the financial year that due quarters are in
        self.from_table = from_table
        self.limits = limits
        self.rows = 0  # deliverables read so far, against limits.max_rows
        self.emails: dict[str, int] = {}  # lower-cased email -> line
        self.codes: dict[str, int] = {}
        self.refs: dict[str, int] = {}

    def people(self, doc: _Map) -> list[PersonSpec]:
        people: list[PersonSpec] = []
        raw_people = doc.get("people") or []
        if not isinstance(raw_people, list):
            self.error(self.line_of(doc, "people"), "people", "must be a list")
            raw_people = []
        for i, p in enumerate(raw_people):
            where = f"people[{i}]"
            if i == self.limits.max_rows:
                self.error(self.line_of(p), where, self.limits.too_many_rows())
                break
            if not isinstance(p, _Map):
                self.error(
                    self.line_of(doc, "people"), where, "must be a mapping with name and email"
                )
                continue
            person = self.person(p, where)
            if person is not None:
                people.append(person)
        return people

    def person(self, p: _Map, where: str) -> PersonSpec | None:
        self.unknown_keys(p, _PERSON_KEYS, where)
        name = self.text(p, "name", where)
        email = self.text(p, "email", where)
        slack = self.text(p, "slack", where, required=False)
        role_text = self.text(p, "role", where, required=False) or "staff"
        role = Role.STAFF
        try:
            role = Role(role_text.lower())
        except ValueError:
            self.error(
                self.line_of(p, "role"),
                f"{where}.role",
                f"unknown role {role_text!r}; use staff, editor or admin",
            )
        if email is not None:
            if not _EMAIL.match(email):
                self.error(
                    self.line_of(p, "email"), f"{where}.email", f"{email!r} is not an email address"
                )
            elif email.lower() in self.emails:
                self.error(
                    self.line_of(p, "email"),
                    f"{where}.email",
                    f"duplicate person {email!r} (first on line {self.emails[email.lower()]})",
                )
            else:
                self.emails[email.lower()] = self.line_of(p, "email")
        if name and email:
            return PersonSpec(name, email, slack, role, p.line, partial=self.from_table)
        return None

    def themes(self, doc: _Map) -> list[ThemeSpec]:
        themes: list[ThemeSpec] = []
        raw_themes = doc.get("themes")
        if not isinstance(raw_themes, list) or not raw_themes:
            self.error(self.line_of(doc, "themes"), "themes", "must be a non-empty list")
            raw_themes = []
        for ti, t in enumerate(raw_themes):
            if self.rows > self.limits.max_rows:
                break
            if not isinstance(t, _Map):
                self.error(
                    self.line_of(doc, "themes"),
                    f"themes[{ti}]",
                    "must be a mapping with code and name",
                )
                continue
            theme = self.theme(t, f"themes[{ti}]")
            if theme is not None:
                themes.append(theme)
        return themes

    def theme(self, t: _Map, where: str) -> ThemeSpec | None:
        self.unknown_keys(t, _THEME_KEYS, where)
        code = self.text(t, "code", where)
        name = self.text(t, "name", where)
        aim = self.text(t, "aim", where, required=False, limit=MAX_NOTE_CHARS)
        if aim is None and not self.from_table:
            aim = ""
        if code is not None:
            if not _CODE.match(code):
                self.error(
                    self.line_of(t, "code"),
                    f"{where}.code",
                    f"{code!r} must be capital letters, e.g. CF",
                )
            elif code in self.codes:
                self.error(
                    self.line_of(t, "code"),
                    f"{where}.code",
                    f"duplicate theme code {code!r} (first on line {self.codes[code]})",
                )
            else:
                self.codes[code] = self.line_of(t, "code")
        items: list[DeliverableSpec] = []
        raw_items = t.get("deliverables") or []
        if not isinstance(raw_items, list):
            self.error(self.line_of(t, "deliverables"), f"{where}.deliverables", "must be a list")
            raw_items = []
        for di, d in enumerate(raw_items):
            dwhere = f"{code or where}.deliverables[{di}]"
            self.rows += 1
            if self.rows > self.limits.max_rows:
                self.error(self.line_of(d), dwhere, self.limits.too_many_rows())
                break
            if not isinstance(d, _Map):
                self.error(
                    self.line_of(t, "deliverables"), dwhere, "must be a mapping with a title"
                )
                continue
            item = self.deliverable(d, dwhere)
            if item is not None:
                items.append(item)
        if code and name:
            return ThemeSpec(code, name, aim, t.line, items)
        return None

    def ref(self, d: _Map, where: str) -> str | None:
        ref = self.text(d, "ref", where, required=False)
        if ref is None:
            return None
        ref = ref.upper()
        if not REF_PATTERN.match(ref):
            self.error(self.line_of(d, "ref"), f"{where}.ref", f"{ref!r} must look like CF-3")
        elif ref in self.refs:
            self.error(
                self.line_of(d, "ref"),
                f"{where}.ref",
                f"duplicate reference {ref!r} (first on line {self.refs[ref]})",
            )
        else:
            self.refs[ref] = self.line_of(d, "ref")
        return ref

    def status(self, d: _Map, where: str) -> Status:
        status_text = self.text(d, "status", where, required=False) or "not-started"
        try:
            return Status(status_text.lower())
        except ValueError:
            self.error(
                self.line_of(d, "status"),
                f"{where}.status",
                f"unknown status {status_text!r}; use {', '.join(s.value for s in Status)}",
            )
            return Status.NOT_STARTED

    def due(self, d: _Map, where: str) -> str | None:
        due_text = self.text(d, "due", where, required=False)
        if due_text is None:
            return None
        try:
            return str(self.calendar.quarter(due_text))
        except QuarterParseError as exc:
            self.error(self.line_of(d, "due"), f"{where}.due", f"unparseable quarter: {exc}")
            return None

    def flag(self, d: _Map, key: str, where: str) -> bool:
        value = d.get(key, False)
        if not isinstance(value, bool):
            self.error(self.line_of(d, key), f"{where}.{key}", "must be true or false")
            return False
        return value

    def deliverable(self, d: _Map, where: str) -> DeliverableSpec | None:
        self.unknown_keys(d, _DELIVERABLE_KEYS, where)
        title = self.text(d, "title", where)
        ref = self.ref(d, where)
        status = self.status(d, where)
        owner = self.text(d, "owner", where, required=False)
        if owner is not None and owner.lower() not in self.emails:
            self.error(
                self.line_of(d, "owner"), f"{where}.owner", f"{owner!r} is not among the people"
            )
        due = self.due(d, where)
        deps = self.flag(d, "dependencies", where)
        note = self.text(d, "note", where, required=False, limit=MAX_NOTE_CHARS)
        summary = self.flag(d, "summary", where)
        if summary and not note:
            self.error(
                self.line_of(d, "summary"),
                f"{where}.summary",
                "marks the note as the summary for the paper, but there is no note",
            )
            summary = False
        if not title:
            return None
        return DeliverableSpec(
            title=title,
            status=status,
            line=d.line,
            ref=ref,
            owner=owner.lower() if owner else None,
            due=due,
            dependencies=deps,
            added=self.date(d, "added", where),
            note=note,
            updated=self.date(d, "updated", where),
            summary=summary,
        )


def parse_plan(
    text: str,
    *,
    filename: str = "<plan>",
    calendar: Office = AN_OFFICE,
    limits: Limits = DEFAULT_LIMITS,
) -> PlanSpec:
    """Parse and validate a whole plan file. Raises :class:`PlanInvalid` with every error."""
    parser = _PlanParser(filename, calendar, limits=limits)
    doc = load_yaml(text, filename=filename, limits=limits)
    if not isinstance(doc, _Map):
        raise PlanInvalid([PlanError(filename, 1, "plan", "the file must be a YAML mapping")])
    parser.unknown_keys(doc, _TOP_KEYS, "plan")
    plan_name = parser.text(doc, "plan", "plan") or ""
    office = parser.text(doc, "office", "plan", required=False) or ""
    start = parser.date(doc, "start", "plan")
    people = parser.people(doc)
    themes = parser.themes(doc)
    glossary = None
    if "glossary" in doc:
        glossary = check_glossary(parser, doc["glossary"] or {}, parser.line_of(doc, "glossary"))
    from handlers.paper import parse_paper_block  # it builds on this module's checker

    paper = parse_paper_block(parser, doc.get("paper"), line=parser.line_of(doc, "paper"))
    if parser.errors:
        raise PlanInvalid(parser.errors)
    return PlanSpec(
        plan=plan_name,
        office=office,
        start=start,
        people=people,
        themes=themes,
        glossary=glossary,
        source=filename,
        paper=paper,
    )


def load_plan(
    path: str | Path, *, calendar: Office = AN_OFFICE, limits: Limits = DEFAULT_LIMITS
) -> PlanSpec:
    path = Path(path)
    text = read_text(path, limits)
    return parse_plan(text, filename=str(path), calendar=calendar, limits=limits)
