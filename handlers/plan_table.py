"""The plan from a spreadsheet: `plan import FILE.csv|FILE.xlsx`, with the columns of the
export (`plan show --json`), checked by the same rules as the YAML file, errors by row."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from handlers.plan import (
    PlanError,
    PlanInvalid,
    PlanSpec,
    _Map,
    _PlanParser,
    check_glossary,
    load_plan,
)

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


def read_table(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the spreadsheet shows it, row) for a CSV file or the first sheet."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return [(n, row) for n, row in enumerate(csv.DictReader(f), start=2)]
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    if not values:
        return []
    head = [str(h).strip() if h is not None else "" for h in values[0]]
    return [
        (n, dict(zip(head, row, strict=False)))
        for n, row in enumerate(values[1:], start=2)
        if any(v not in (None, "") for v in row)
    ]


def read_glossary(path: Path) -> list[tuple[int, Any, Any]] | None:
    """(row, term, expansion) from the spreadsheet's "Glossary" sheet; None without one."""
    if path.suffix.lower() != ".xlsx":
        return None
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    if "Glossary" not in book.sheetnames:
        return None
    rows = list(book["Glossary"].iter_rows(values_only=True))
    return [
        (n, row[0], row[1] if len(row) > 1 else None)
        for n, row in enumerate(rows[1:], start=2)
        if row and any(v not in (None, "") for v in row)
    ]


def _glossary(parser: _PlanParser, rows: list[tuple[int, Any, Any]]) -> dict[str, str]:
    terms = {str(_value(t)): _value(e) for _, t, e in rows if _value(t) is not None}
    mapping = _mapping(terms, rows[0][0] if rows else 1)
    mapping.key_lines = {str(_value(t)): n for n, t, _ in rows if _value(t) is not None}
    return check_glossary(parser, mapping, mapping.line)


def _mapping(values: dict[str, Any], line: int) -> _Map:
    m = _Map(values)
    m.line = line
    m.key_lines = dict.fromkeys(values, line)
    return m


def parse_plan_table(
    rows: list[tuple[int, dict[str, Any]]],
    *,
    filename: str,
    plan: str,
    office: str = "",
    fy_start_month: int = 4,
    glossary: list[tuple[int, Any, Any]] | None = None,
) -> PlanSpec:
    """Rows -> a :class:`PlanSpec`: themes and people in the order they first appear; the
    "Glossary" sheet's rows, when there is one, become the plan's glossary."""
    parser = _PlanParser(filename, fy_start_month, from_table=True)
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
    )


def load_plan_file(
    path: Path, *, plan: str | None = None, office: str = "", fy_start_month: int = 4
) -> PlanSpec:
    """A plan file of any kind the office keeps: YAML, CSV or XLSX."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return load_plan(path, fy_start_month=fy_start_month)
    try:
        rows = read_table(path)
        glossary = read_glossary(path)
    except Exception as exc:  # unreadable file: one clear line, like the YAML loader
        raise PlanInvalid([PlanError(str(path), 0, "file", f"cannot read: {exc}")]) from None
    return parse_plan_table(
        rows,
        filename=str(path),
        plan=plan or path.stem,
        office=office,
        fy_start_month=fy_start_month,
        glossary=glossary,
    )
