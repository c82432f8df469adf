"""The plan as a table: one row per deliverable with its latest state, the same columns for
`plan show --json`, the board's CSV and the spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from digests.sheet_xml import BOOLEAN, clean_text, excel_times, row_xml, splice_rows, text_cell
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


def _sheet_cell(value: Any) -> Any:
    """A cell of the spreadsheet: :func:`_cell`, less the characters a worksheet cannot
    hold (openpyxl would refuse the whole export over one of them)."""
    if isinstance(value, str):
        return _cell(clean_text(value))
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
    unbounded), correspondence by month and category, and the plan's glossary. openpyxl
    writes the workbook in write-only mode, all but the rows of the Plan and Updates
    sheets, which are streamed into its package in the XML openpyxl writes for them
    (``digests.sheet_xml``: openpyxl costs about 6 us a cell, and the Updates sheet has
    millions), so memory stays flat however long the history; returns the number of
    updates written."""
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
    updates = sheet("Updates", UPDATE_COLUMNS)
    # The style openpyxl gives a datetime cell: the rows written in its place use it.
    date_style = int(WriteOnlyCell(updates, value=dt.datetime(2000, 1, 1)).style_id)
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
        glossary.append([_sheet_cell(term), _sheet_cell(expansion)])
    package = io.BytesIO()
    book.save(package)
    written = [0]
    spliced: dict[str, Iterable[str]] = {
        plan.path.lstrip("/"): _plan_rows_xml(rows),
        updates.path.lstrip("/"): _update_rows(
            store, tz, date_style, written, since=since, until=until
        ),
    }
    splice_rows(package.getvalue(), spliced, target)
    return written[0]


def _plan_rows_xml(rows: list[dict[str, Any]]) -> Iterator[str]:
    """The Plan sheet's rows after its header, as openpyxl would write them."""
    for start in range(0, len(rows), ROWS_A_CHUNK):
        yield "".join(
            row_xml(n, [_sheet_cell(row.get(k)) for k in PLAN_COLUMNS])
            for n, row in enumerate(rows[start : start + ROWS_A_CHUNK], start=start + 2)
        )


ROWS_A_CHUNK = 500  # rows formatted between two writes to the zip


def _update_rows(
    store: Reader,
    tz: Any,
    date_style: int,
    written: list[int],
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Iterator[str]:
    """The Updates sheet's rows after its header, from a cursor, as the XML openpyxl would
    write for the row ``[ref, local time, by, source, status, due, dependencies, summary,
    of_note, note]``: the text of a deliverable, a person, a source or a status is made
    once, a row is a parse of its time and the note. ``written[0]`` counts the rows."""
    refs = {d.id: text_cell(_sheet_cell(d.ref)) for d in store.deliverables()}
    people = {p.id: text_cell(_sheet_cell(p.name)) for p in store.people()}
    imported = text_cell("plan import")
    sources = {s.value: text_cell(str(s)) for s in Source}
    statuses: dict[str | None, str | None] = {None: None, "": None}
    statuses.update({s.value: text_cell(str(s)) for s in Status})
    dues: dict[str, str] = {}
    serial = excel_times(tz)
    date_cell = f' s="{date_style}" t="n"><v>'
    chunk: list[str] = []
    add = chunk.append
    n = 1
    for did, pid, at, source, status, due, deps, summary, of_note, note in iter_update_rows(
        store, since=since, until=until
    ):
        n += 1
        r = str(n)
        ref = refs.get(did)
        by = people.get(pid) if pid else imported
        state = statuses[status] if status in statuses else text_cell(str(Status(status)))
        if due is None:
            due_cell = ""
        else:
            if due not in dues:
                dues[due] = text_cell(_sheet_cell(due))
            due_cell = f'<c r="F{r}"{dues[due]}'
        add(
            f'<row r="{r}">'
            + (f'<c r="A{r}"{ref}' if ref else "")
            + f'<c r="B{r}"{date_cell}{serial(at)}</v></c>'
            + (f'<c r="C{r}"{by}' if by else "")
            + f'<c r="D{r}"{sources[source]}'
            + (f'<c r="E{r}"{state}' if state else "")
            + due_cell
            + ("" if deps is None else f'<c r="G{r}"{BOOLEAN[bool(deps)]}')
            + f'<c r="H{r}"{BOOLEAN[bool(summary)]}<c r="I{r}"{BOOLEAN[bool(of_note)]}'
            + ("</row>" if note is None else f'<c r="J{r}"{text_cell(_sheet_cell(note))}</row>')
        )
        if n % ROWS_A_CHUNK == 0:
            yield "".join(chunk)
            chunk.clear()
    written[0] = n - 1
    if chunk:
        yield "".join(chunk)


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
