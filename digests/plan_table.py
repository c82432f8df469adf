"""The plan as a table: one row per deliverable with its latest state, the same columns for
`plan show --json`, the board's CSV and the spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from store import CORRESPONDENCE_CATEGORIES, Reader, Source, Status
from store.export_reads import iter_update_rows, open_read_only, plan_table_rows

__all__ = [
    "PLAN_COLUMNS",
    "UPDATE_COLUMNS",
    "csv_chunks",
    "export_xlsx_file",
    "plan_rows",
    "to_csv",
    "to_xlsx",
    "updates_period",
    "write_xlsx",
]

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
    """One row per deliverable in plan order (``Reader.overview``'s deliverables, themes,
    owners and newest updates), read as raw rows in one query (``plan_table_rows``)."""
    rows = []
    days: dict[str, str] = {}
    for row in plan_table_rows(store):
        ref, title, theme, code, status, due, owner, email, deps, added, last, note = row
        added_on = days.get(added) or days.setdefault(
            added, dt.date.fromisoformat(added).isoformat()
        )
        rows.append(
            {
                "ref": ref,
                "title": title,
                "theme": theme,
                "theme_code": code,
                "status": str(Status(status)),
                "due": due,
                "owner": owner,
                "owner_email": email,
                "dependencies": bool(deps),
                "added_on": added_on,
                "last_update": (
                    dt.datetime.fromisoformat(last).astimezone(tz).date().isoformat()
                    if last
                    else None
                ),
                "note": (note or None) if last else None,
            }
        )
    return rows


def _cell(value: Any) -> Any:
    """Spreadsheets run text that starts with = + - @ as a formula: keep staff text text."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BATCH = 500  # rows to a chunk of the streamed CSV


def csv_chunks(rows: Iterable[dict[str, Any]], *, batch: int = CSV_BATCH) -> Iterator[str]:
    """The CSV a chunk at a time (the header, then ``batch`` rows to a chunk): joined, the
    same text as :func:`to_csv`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PLAN_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow({k: _cell(row.get(k)) for k in PLAN_COLUMNS})
        if n % batch == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def to_csv(rows: list[dict[str, Any]]) -> str:
    return "".join(csv_chunks(rows))


def to_xlsx(
    store: Reader,
    rows: list[dict[str, Any]],
    tz: Any,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> bytes:
    """The spreadsheet of :func:`write_xlsx`, as bytes."""
    out = io.BytesIO()
    write_xlsx(store, rows, tz, out, since=since, until=until)
    return out.getvalue()


def write_xlsx(
    store: Reader,
    rows: list[dict[str, Any]],
    tz: Any,
    target: str | Path | IO[bytes],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Four sheets: the plan, the updates recorded in [since, until) (every update when
    unbounded), correspondence by month and category, and the plan's glossary. Written
    row by row in openpyxl's write-only mode, so memory stays flat however long the
    history; returns the number of updates written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, head: Sequence[str]) -> Any:
        ws = book.create_sheet(title)
        ws.freeze_panes = "A2"
        header = []
        for name in head:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        return ws

    plan = sheet("Plan", PLAN_COLUMNS)
    for row in rows:
        plan.append([_cell(row.get(k)) for k in PLAN_COLUMNS])
    refs = {d.id: d.ref for d in store.deliverables()}
    people: dict[Any, str | None] = {p.id: p.name for p in store.people()}
    updates = sheet("Updates", UPDATE_COLUMNS)
    count = 0
    local = _local_times(tz)
    statuses: dict[str | None, str | None] = {None: None, "": None}
    for did, pid, at, source, status, due, deps, summary, of_note, note in iter_update_rows(
        store, since=since, until=until
    ):
        if status not in statuses:
            statuses[status] = str(Status(status))
        updates.append(
            [
                refs.get(did),
                local(at),
                people.get(pid) if pid else "plan import",
                str(Source(source)),
                statuses[status],
                due,
                None if deps is None else bool(deps),
                bool(summary),
                bool(of_note),
                "'" + note if note and note[:1] in FORMULA_STARTS else note,
            ]
        )
        count += 1
    letters = sheet("Correspondence", ["month", *CORRESPONDENCE_CATEGORIES, "total"])
    months: dict[str, dict[str, int]] = {}
    for day, category, n in store.correspondence_daily(since=dt.date.min, until=dt.date.max):
        month = months.setdefault(day[:7], {})
        month[category] = month.get(category, 0) + n
    for month_key in sorted(months):
        counts = [months[month_key].get(c, 0) for c in CORRESPONDENCE_CATEGORIES]
        letters.append([month_key, *counts, sum(counts)])
    glossary = sheet("Glossary", ["term", "expansion"])
    for term, expansion in store.glossary().items():
        glossary.append([_cell(term), _cell(expansion)])
    book.save(target)
    return count


def updates_period(
    day_from: dt.date | None, day_to: dt.date | None, tz: dt.tzinfo
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The Updates sheet's [since, until) for the office's days ``day_from`` to ``day_to``
    (both included; either may be open)."""
    since = dt.datetime.combine(day_from, dt.time(0), tzinfo=tz) if day_from else None
    until = (
        dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        if day_to
        else None
    )
    return since, until


def _local_times(tz: Any) -> Callable[[str], dt.datetime]:
    """A stored UTC timestamp as the office's wall-clock time (naive, as a spreadsheet
    shows it)."""

    def local(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).astimezone(tz).replace(tzinfo=None)

    return local


def export_xlsx_file(
    db_path: str,
    target: str,
    tz: dt.tzinfo,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Write the spreadsheet to ``target`` from the database at ``db_path``, on a read-only
    connection of its own: what a worker process runs, so a long export takes neither the
    board's reader nor the server's interpreter. Returns the updates written."""
    reader = open_read_only(db_path)
    try:
        return write_xlsx(reader, plan_rows(reader, tz), tz, target, since=since, until=until)
    finally:
        reader.close()


def main(argv: Sequence[str]) -> int:
    """``python -m digests.plan_table DB TARGET ZONE [SINCE [UNTIL]]``: the spreadsheet from
    a process that imports only what it needs (what the board runs an export in). SINCE and
    UNTIL are ISO 8601 instants, or ``-`` for an open end."""
    import zoneinfo

    db_path, target, zone, *bounds = argv
    since, until = (
        dt.datetime.fromisoformat(b) if b != "-" else None for b in [*bounds, "-", "-"][:2]
    )
    tz: dt.tzinfo = dt.UTC if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    export_xlsx_file(db_path, target, tz, since, until)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
