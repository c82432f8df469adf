"""The plan file: parse and validate the YAML as a whole, into a :class:`PlanSpec`.

Every error names the file, the line and the field. Writing the spec is the service's job
(:func:`handlers.service.import_plan`): nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from store import QuarterParseError, Role, Status, parse_quarter_span

__all__ = [
    "REF_PATTERN",
    "DeliverableSpec",
    "PersonSpec",
    "PlanError",
    "PlanInvalid",
    "PlanSpec",
    "ThemeSpec",
    "load_plan",
    "parse_plan",
]

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^@\s<>]+@localhost$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
REF_PATTERN = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{1,5})$")
_TOP_KEYS = {"plan", "office", "start", "people", "themes"}
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


@dataclass(frozen=True)
class PlanError:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class PlanInvalid(Exception):
    def __init__(self, errors: list[PlanError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class PersonSpec:
    name: str
    email: str
    slack: str | None
    role: Role
    line: int


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
    aim: str
    line: int
    deliverables: list[DeliverableSpec] = field(default_factory=list)


@dataclass(frozen=True)
class PlanSpec:
    plan: str
    office: str
    start: dt.date | None
    people: list[PersonSpec]
    themes: list[ThemeSpec]


# -- YAML with line numbers ----------------------------------------------------


class _Map(dict[str, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


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

    def text(self, m: _Map, key: str, where: str, *, required: bool = True) -> str | None:
        value = m.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(self.line_of(m, key), f"{where}.{key}", "is required")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.error(self.line_of(m, key), f"{where}.{key}", "must be text")
            return None
        return str(value).strip()

    def date(self, m: _Map, key: str, where: str) -> dt.date | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.error(
                self.line_of(m, key), f"{where}.{key}", f"{value!r} is not a date (YYYY-MM-DD)"
            )
            return None

    def unknown_keys(self, m: _Map, allowed: set[str], where: str) -> None:
        for key in m:
            if key not in allowed:
                self.error(
                    self.line_of(m, key),
                    f"{where}.{key}",
                    f"unknown field; expected one of {', '.join(sorted(allowed))}",
                )


def parse_plan(text: str, *, filename: str = "<plan>", fy_start_month: int = 4) -> PlanSpec:
    """Parse and validate a whole plan file. Raises :class:`PlanInvalid` with every error."""
    check = _Checker(filename)
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanInvalid([PlanError(filename, line, "yaml", str(problem))]) from None
    if not isinstance(doc, _Map):
        raise PlanInvalid([PlanError(filename, 1, "plan", "the file must be a YAML mapping")])
    check.unknown_keys(doc, _TOP_KEYS, "plan")
    plan_name = check.text(doc, "plan", "plan") or ""
    office = check.text(doc, "office", "plan", required=False) or ""
    start = check.date(doc, "start", "plan")

    people: list[PersonSpec] = []
    emails: dict[str, int] = {}
    raw_people = doc.get("people") or []
    if not isinstance(raw_people, list):
        check.error(check.line_of(doc, "people"), "people", "must be a list")
        raw_people = []
    for i, p in enumerate(raw_people):
        where = f"people[{i}]"
        if not isinstance(p, _Map):
            check.error(
                check.line_of(doc, "people"), where, "must be a mapping with name and email"
            )
            continue
        check.unknown_keys(p, _PERSON_KEYS, where)
        name = check.text(p, "name", where)
        email = check.text(p, "email", where)
        slack = check.text(p, "slack", where, required=False)
        role_text = check.text(p, "role", where, required=False) or "staff"
        role = Role.STAFF
        try:
            role = Role(role_text.lower())
        except ValueError:
            check.error(
                check.line_of(p, "role"),
                f"{where}.role",
                f"unknown role {role_text!r}; use staff, editor or admin",
            )
        if email is not None:
            if not _EMAIL.match(email):
                check.error(
                    check.line_of(p, "email"),
                    f"{where}.email",
                    f"{email!r} is not an email address",
                )
            elif email.lower() in emails:
                check.error(
                    check.line_of(p, "email"),
                    f"{where}.email",
                    f"duplicate person {email!r} (first on line {emails[email.lower()]})",
                )
            else:
                emails[email.lower()] = check.line_of(p, "email")
        if name and email:
            people.append(PersonSpec(name, email, slack, role, p.line))

    themes: list[ThemeSpec] = []
    codes: dict[str, int] = {}
    refs: dict[str, int] = {}
    raw_themes = doc.get("themes")
    if not isinstance(raw_themes, list) or not raw_themes:
        check.error(check.line_of(doc, "themes"), "themes", "must be a non-empty list")
        raw_themes = []
    for ti, t in enumerate(raw_themes):
        where = f"themes[{ti}]"
        if not isinstance(t, _Map):
            check.error(check.line_of(doc, "themes"), where, "must be a mapping with code and name")
            continue
        check.unknown_keys(t, _THEME_KEYS, where)
        code = check.text(t, "code", where)
        name = check.text(t, "name", where)
        aim = check.text(t, "aim", where, required=False) or ""
        if code is not None:
            if not _CODE.match(code):
                check.error(
                    check.line_of(t, "code"),
                    f"{where}.code",
                    f"{code!r} must be capital letters, e.g. CF",
                )
            elif code in codes:
                check.error(
                    check.line_of(t, "code"),
                    f"{where}.code",
                    f"duplicate theme code {code!r} (first on line {codes[code]})",
                )
            else:
                codes[code] = check.line_of(t, "code")
        items: list[DeliverableSpec] = []
        raw_items = t.get("deliverables") or []
        if not isinstance(raw_items, list):
            check.error(check.line_of(t, "deliverables"), f"{where}.deliverables", "must be a list")
            raw_items = []
        for di, d in enumerate(raw_items):
            dwhere = f"{code or where}.deliverables[{di}]"
            if not isinstance(d, _Map):
                check.error(
                    check.line_of(t, "deliverables"), dwhere, "must be a mapping with a title"
                )
                continue
            check.unknown_keys(d, _DELIVERABLE_KEYS, dwhere)
            title = check.text(d, "title", dwhere)
            ref = check.text(d, "ref", dwhere, required=False)
            if ref is not None:
                ref = ref.upper()
                if not REF_PATTERN.match(ref):
                    check.error(
                        check.line_of(d, "ref"), f"{dwhere}.ref", f"{ref!r} must look like CF-3"
                    )
                elif ref in refs:
                    check.error(
                        check.line_of(d, "ref"),
                        f"{dwhere}.ref",
                        f"duplicate reference {ref!r} (first on line {refs[ref]})",
                    )
                else:
                    refs[ref] = check.line_of(d, "ref")
            status_text = check.text(d, "status", dwhere, required=False) or "not-started"
            status = Status.NOT_STARTED
            try:
                status = Status(status_text.lower())
            except ValueError:
                check.error(
                    check.line_of(d, "status"),
                    f"{dwhere}.status",
                    f"unknown status {status_text!r}; use {', '.join(s.value for s in Status)}",
                )
            owner = check.text(d, "owner", dwhere, required=False)
            if owner is not None and owner.lower() not in emails:
                check.error(
                    check.line_of(d, "owner"),
                    f"{dwhere}.owner",
                    f"{owner!r} is not among the people",
                )
            due_text = check.text(d, "due", dwhere, required=False)
            due = None
            if due_text is not None:
                try:
                    due = str(parse_quarter_span(due_text, start_month=fy_start_month))
                except QuarterParseError as exc:
                    check.error(
                        check.line_of(d, "due"), f"{dwhere}.due", f"unparseable quarter: {exc}"
                    )
            deps = d.get("dependencies", False)
            if not isinstance(deps, bool):
                check.error(
                    check.line_of(d, "dependencies"),
                    f"{dwhere}.dependencies",
                    "must be true or false",
                )
                deps = False
            note = check.text(d, "note", dwhere, required=False)
            summary = d.get("summary", False)
            if not isinstance(summary, bool):
                check.error(
                    check.line_of(d, "summary"), f"{dwhere}.summary", "must be true or false"
                )
                summary = False
            elif summary and not note:
                check.error(
                    check.line_of(d, "summary"),
                    f"{dwhere}.summary",
                    "marks the note as the summary for the paper, but there is no note",
                )
            if title:
                items.append(
                    DeliverableSpec(
                        title=title,
                        status=status,
                        line=d.line,
                        ref=ref,
                        owner=owner.lower() if owner else None,
                        due=due,
                        dependencies=deps,
                        added=check.date(d, "added", dwhere),
                        note=note,
                        updated=check.date(d, "updated", dwhere),
                        summary=summary,
                    )
                )
        if code and name:
            themes.append(ThemeSpec(code, name, aim, t.line, items))

    if check.errors:
        raise PlanInvalid(check.errors)
    return PlanSpec(plan=plan_name, office=office, start=start, people=people, themes=themes)


def load_plan(path: str | Path, *, fy_start_month: int = 4) -> PlanSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanInvalid([PlanError(str(path), 0, "file", f"cannot read: {exc}")]) from None
    return parse_plan(text, filename=str(path), fy_start_month=fy_start_month)
