"""The plan as a table: one row per deliverable with its latest state, the same columns for
`plan show --json`, the board's CSV and the spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from store import CORRESPONDENCE_CATEGORIES, Reader

__all__ = ["PLAN_COLUMNS", "UPDATE_COLUMNS", "plan_rows", "to_csv", "to_xlsx"]

PLAN_COLUMNS = (
    "ref",
    "title",
    "theme",
    "theme_code",
    "status",
    "due",
    "owner",
    "owner_email",
    "dependencies",
    "added_on",
    "last_update",
    "note",
)

# The Updates sheet: what `deliverabot history import` reads back (handlers/history.py).
UPDATE_COLUMNS = (
    "ref",
    "recorded_at",
    "by",
    "source",
    "status",
    "due",
    "dependencies",
    "summary",
    "of_note",
    "note",
)


def plan_rows(store: Reader, tz: Any) -> list[dict[str, Any]]:
    rows = []
    for view in store.overview():
        d, u, owner = view.deliverable, view.last_update, view.owner
        rows.append(
            {
                "ref": d.ref,
                "title": d.title,
                "theme": view.theme.name,
                "theme_code": view.theme.code,
                "status": str(d.status),
                "due": d.due,
                "owner": owner.name if owner else None,
                "owner_email": owner.email if owner else None,
                "dependencies": d.dependencies,
                "added_on": d.added_on.isoformat(),
                "last_update": u.recorded_at.astimezone(tz).date().isoformat() if u else None,
                "note": (u.note or None) if u else None,
            }
        )
    return rows


def _cell(value: Any) -> Any:
    """Spreadsheets run text that starts with = + - @ as a formula: keep staff text text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PLAN_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in PLAN_COLUMNS})
    return out.getvalue()


def to_xlsx(store: Reader, rows: list[dict[str, Any]], tz: Any) -> bytes:
    """Four sheets: the plan, every update, correspondence by month and category, and the
    plan's glossary."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    plan = book.active
    assert plan is not None
    plan.title = "Plan"
    plan.append(list(PLAN_COLUMNS))
    for row in rows:
        plan.append([_cell(row.get(k)) for k in PLAN_COLUMNS])
    refs = {d.id: d.ref for d in store.deliverables()}
    people = {p.id: p.name for p in store.people()}
    updates = book.create_sheet("Updates")
    updates.append(list(UPDATE_COLUMNS))
    for u in store.updates():
        updates.append(
            [
                refs.get(u.deliverable_id),
                u.recorded_at.astimezone(tz).replace(tzinfo=None),
                people.get(u.person_id) if u.person_id else "plan import",
                str(u.source),
                str(u.status_after) if u.status_after else None,
                u.due_after,
                u.dependencies,
                u.summary,
                u.of_note,
                _cell(u.note),
            ]
        )
    letters = book.create_sheet("Correspondence")
    letters.append(["month", *CORRESPONDENCE_CATEGORIES, "total"])
    months: dict[str, dict[str, int]] = {}
    for day, category, n in store.correspondence_daily(since=dt.date.min, until=dt.date.max):
        month = months.setdefault(day[:7], {})
        month[category] = month.get(category, 0) + n
    for month_key in sorted(months):
        counts = [months[month_key].get(c, 0) for c in CORRESPONDENCE_CATEGORIES]
        letters.append([month_key, *counts, sum(counts)])
    glossary = book.create_sheet("Glossary")
    glossary.append(["term", "expansion"])
    for term, expansion in store.glossary().items():
        glossary.append([_cell(term), _cell(expansion)])
    for sheet in (plan, updates, letters, glossary):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
