"""The plan from a spreadsheet: `plan import FILE.csv|FILE.xlsx`, with the columns of the
export (`plan show --json`), read within the limits of :mod:`handlers.bounded` and checked
by the same rules as the YAML file, errors by row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.bounded import DEFAULT_LIMITS, Limits, LineMap, read_csv, read_xlsx
from handlers.plan import (
    PlanError,
    PlanInvalid,
    PlanSpec,
    _Map,
    _PlanParser,
    check_glossary,
    load_plan,
)
from store import AN_OFFICE, Office

__all__ = ["TABLE_SUFFIXES", "load_plan_file", "parse_plan_table", "read_glossary", "read_table"]

TABLE_SUFFIXES = (".csv", ".xlsx")
_COLUMNS = {  # spreadsheet column -> the plan file's field
    "ref": "ref",
    "title": "title",
    "status": "status",
    "owner_email": "owner",
    "due": "due",
    "dependencies": "dependencies",
    "added_on": "added",
    "note": "note",
    "last_update": "updated",
}


def _value(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            return None
        if raw[:2] in ("'=", "'+", "'-", "'@"):  # written as text by the export
            raw = raw[1:]
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
    return raw


def read_table(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the spreadsheet shows it, row) for a CSV file or the first sheet."""
    if path.suffix.lower() == ".csv":
        return read_csv(path, limits)
    return read_xlsx(path, limits)


_mapping = LineMap.at


def read_glossary(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, Any, Any]] | None:
    """(row, term, expansion) from the spreadsheet's "Glossary" sheet; None without one."""
    if path.suffix.lower() != ".xlsx":
        return None
    rows = read_xlsx(path, limits, sheet="Glossary")
    found = []
    for n, row in rows:
        values = list(row.values())
        found.append((n, values[0] if values else None, values[1] if len(values) > 1 else None))
    return found or None


def _glossary(parser: _PlanParser, rows: list[tuple[int, Any, Any]]) -> dict[str, str]:
    terms = {str(_value(t)): _value(e) for _, t, e in rows if _value(t) is not None}
    mapping = _mapping(terms, rows[0][0] if rows else 1)
    mapping.key_lines = {str(_value(t)): n for n, t, _ in rows if _value(t) is not None}
    return check_glossary(parser, mapping, mapping.line)


def parse_plan_table(
    rows: list[tuple[int, dict[str, Any]]],
    *,
    filename: str,
    plan: str,
    office: str = "",
    calendar: Office = AN_OFFICE,
    glossary: list[tuple[int, Any, Any]] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> PlanSpec:
    """Rows -> a :class:`PlanSpec`: themes and people in the order they first appear; the
    "Glossary" sheet's rows, when there is one, become the plan's glossary."""
    parser = _PlanParser(filename, calendar, from_table=True, limits=limits)
    missing = {"ref", "title", "theme", "theme_code", "status"} - set(rows[0][1] if rows else ())
    if not rows or missing:
        what = f"missing columns: {', '.join(sorted(missing))}" if rows else "no rows"
        raise PlanInvalid([PlanError(filename, 1, "columns", what)])
    people: dict[str, _Map] = {}
    themes: dict[str, _Map] = {}
    for line, row in rows:
        email = _value(row.get("owner_email"))
        if email and str(email).lower() not in people:
            name = _value(row.get("owner")) or str(email)
            people[str(email).lower()] = _mapping({"name": name, "email": email}, line)
        code = str(_value(row.get("theme_code")) or "").upper()
        if code not in themes:
            themes[code] = _mapping(
                {"code": code or None, "name": _value(row.get("theme")), "deliverables": []},
                line,
            )
        item = {
            field: _value(row.get(column))
            for column, field in _COLUMNS.items()
            if _value(row.get(column)) is not None
        }
        themes[code]["deliverables"].append(_mapping(item, line))
    doc = _mapping({"people": list(people.values()), "themes": list(themes.values())}, rows[0][0])
    spec_people = parser.people(doc)
    spec_themes = parser.themes(doc)
    terms = _glossary(parser, glossary) if glossary is not None else None
    if parser.errors:
        raise PlanInvalid(parser.errors)
    return PlanSpec(
        plan=plan,
        office=office,
        start=None,
        people=spec_people,
        themes=spec_themes,
        glossary=terms,
        source=filename,
    )


def load_plan_file(
    path: Path,
    *,
    plan: str | None = None,
    office: str = "",
    calendar: Office = AN_OFFICE,
    limits: Limits = DEFAULT_LIMITS,
) -> PlanSpec:
    """A plan file of any kind the office keeps: YAML, CSV or XLSX (``office`` is the
    office's name for a table without one; ``calendar`` its financial year)."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return load_plan(path, calendar=calendar, limits=limits)
    rows = read_table(path, limits)
    glossary = read_glossary(path, limits)
    return parse_plan_table(
        rows,
        filename=str(path),
        plan=plan or path.stem,
        office=office,
        calendar=calendar,
        glossary=glossary,
        limits=limits,
    )
