"""The exports stream (write-only openpyxl, CSV in chunks) yet say exactly what they said
before: the old, in-memory builders are kept here as the reference they are checked against."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from digests import plan_table
from digests.plan_table import PLAN_COLUMNS, UPDATE_COLUMNS, plan_rows, to_csv, to_xlsx
from handlers.service import UpdateRequest, record_update
from store import CORRESPONDENCE_CATEGORIES, Reader, Source, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")
FORMULAS = ['=HYPERLINK("http://x")', "+44 7700 900123", "-1 day", "@here look"]


def _old_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _old_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PLAN_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _old_cell(row.get(k)) for k in PLAN_COLUMNS})
    return out.getvalue()


def _old_xlsx(store: Reader, rows: list[dict[str, Any]], tz: Any) -> bytes:
    """The builder before the exports streamed (openpyxl's normal mode)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    plan = book.active
    assert plan is not None
    plan.title = "Plan"
    plan.append(list(PLAN_COLUMNS))
    for row in rows:
        plan.append([_old_cell(row.get(k)) for k in PLAN_COLUMNS])
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
                _old_cell(u.note),
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
        glossary.append([_old_cell(term), _old_cell(expansion)])
    for sheet in (plan, updates, letters, glossary):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _read(data: bytes) -> dict[str, Any]:
    """What a reader of the file sees: every sheet's values, number formats, bold headers
    and frozen panes."""
    book = load_workbook(io.BytesIO(data))
    seen: dict[str, Any] = {"sheets": book.sheetnames}
    for sheet in book.worksheets:
        seen[sheet.title] = [
            [(c.value, c.number_format if c.value is not None else None) for c in row]
            for row in sheet.iter_rows()
        ]
        seen[sheet.title + ".bold"] = [bool(c.font.b) for c in sheet[1]]
        seen[sheet.title + ".bold2"] = (
            [bool(c.font.b) for c in sheet[2]] if sheet.max_row > 1 else []
        )
        seen[sheet.title + ".freeze"] = sheet.freeze_panes
    return seen


@pytest.fixture
def export_store(digest_store: Store) -> Store:
    """The digest's data, plus notes and a glossary a spreadsheet would run as formulas."""
    owner = digest_store.person_by_email("priya.shah@example.org")
    for i, note in enumerate(FORMULAS):
        record_update(
            digest_store,
            UpdateRequest(
                deliverable="CF-1",
                actor=owner,
                source=Source.SLACK,
                note=note,
                recorded_at=dt.datetime(2022, 9, 20 + i, 8, 30, tzinfo=dt.UTC),
            ),
        )
    with digest_store.transaction():
        digest_store.set_glossary({"=cmd": "-not a formula", "w/": "with", "@x": "+y"})
    return digest_store


def test_the_spreadsheet_reads_back_as_the_old_builder_wrote_it(export_store: Store) -> None:
    rows = plan_rows(export_store, LONDON)
    new = _read(to_xlsx(export_store, rows, LONDON))
    assert new == _read(_old_xlsx(export_store, rows, LONDON))
    assert new["sheets"] == ["Plan", "Updates", "Correspondence", "Glossary"]
    notes = [r[-1][0] for r in new["Updates"][1:]]
    assert [n for n in notes if n and n.startswith("'")] == ["'" + f for f in FORMULAS]
    assert new["Glossary"][1:] == [
        [("'=cmd", "General"), ("'-not a formula", "General")],
        [("w/", "General"), ("with", "General")],
        [("'@x", "General"), ("'+y", "General")],
    ]
    assert new["Plan.bold"] == [True] * len(PLAN_COLUMNS) and new["Plan.freeze"] == "A2"


def test_the_csv_is_byte_for_byte_the_old_one(export_store: Store) -> None:
    rows = plan_rows(export_store, LONDON)
    with export_store.transaction():
        export_store.db.execute("UPDATE deliverables SET title = '=1+2' WHERE ref = 'CF-2'")
    rows = plan_rows(export_store, LONDON)
    assert to_csv(rows).encode() == _old_csv(rows).encode()
    assert "'=1+2" in to_csv(rows)


def test_the_xlsx_written_to_a_file_matches(export_store: Store, tmp_path: Path) -> None:
    rows = plan_rows(export_store, LONDON)
    target = tmp_path / "plan.xlsx"
    assert plan_table.write_xlsx(export_store, rows, LONDON, target) == 59  # 50 imported, 9 since
    assert _read(target.read_bytes()) == _read(_old_xlsx(export_store, rows, LONDON))


def test_the_updates_sheet_can_be_bounded_by_period(export_store: Store, tmp_path: Path) -> None:
    rows = plan_rows(export_store, LONDON)
    since, until = plan_table.updates_period(dt.date(2022, 9, 15), dt.date(2022, 9, 21), LONDON)
    seen = _read(to_xlsx(export_store, rows, LONDON, since=since, until=until))
    days = [r[1][0].date() for r in seen["Updates"][1:]]
    assert days == [dt.date(2022, 9, d) for d in (15, 16, 20, 21)]
    assert seen["Updates"][0] == _read(_old_xlsx(export_store, rows, LONDON))["Updates"][0]
    # Each sheet but Updates is whole; an open end runs to the first or the last update.
    whole = _read(to_xlsx(export_store, rows, LONDON))
    assert seen["Plan"] == whole["Plan"] and seen["Correspondence"] == whole["Correspondence"]
    since, _ = plan_table.updates_period(dt.date(2022, 9, 22), None, LONDON)
    later = _read(to_xlsx(export_store, rows, LONDON, since=since))
    assert [r[-1][0] for r in later["Updates"][1:]] == ["'-1 day", "'@here look"]
    assert export_xlsx_in_a_child_matches(export_store, tmp_path)


def export_xlsx_in_a_child_matches(store: Store, tmp_path: Path) -> bool:
    """What a worker process writes from the database's path is the same spreadsheet."""
    target = tmp_path / "child.xlsx"
    assert store.path is not None
    plan_table.export_xlsx_file(str(store.path), str(target), LONDON)
    rows = plan_rows(store, LONDON)
    return _read(target.read_bytes()) == _read(_old_xlsx(store, rows, LONDON))


def test_csv_chunks_join_to_the_csv(export_store: Store) -> None:
    rows = plan_rows(export_store, LONDON) * 3
    chunks = list(plan_table.csv_chunks(rows, batch=40))
    assert len(chunks) == 4 and "".join(chunks) == _old_csv(rows)
    assert list(plan_table.csv_chunks([])) == [",".join(PLAN_COLUMNS) + "\r\n"]


def test_the_worker_entry_point_writes_the_bounded_spreadsheet(
    export_store: Store, tmp_path: Path
) -> None:
    """What the board runs: `python -m digests.plan_table DB TARGET ZONE SINCE UNTIL`."""
    assert export_store.path is not None
    target = tmp_path / "worker.xlsx"
    since = "2022-09-21T00:00:00+01:00"
    assert plan_table.main([str(export_store.path), str(target), "Europe/London", since, "-"]) == 0
    notes = [r[-1][0] for r in _read(target.read_bytes())["Updates"][1:]]
    assert notes == ["'+44 7700 900123", "'-1 day", "'@here look"]
