"""Dated updates from a tracker: `history import FILE.csv|FILE.xlsx`, with the columns of the
export's Updates sheet, read and checked row by row before anything is written.

The file is bounded before it is parsed by the readers every import shares
(:mod:`handlers.bounded`: size, rows, cell lengths, and for a spreadsheet the zip's declared
sizes before anything is inflated), so a huge or crafted file is refused with one clear
line. The service (:func:`handlers.service.import_history`) then appends the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from handlers.bounded import DEFAULT_LIMITS, FileInvalid, Limits, read_csv, read_xlsx
from handlers.service import MAX_NOTE_CHARS, MAX_TITLE_CHARS, HistoryRow
from store import AN_OFFICE, Office, QuarterParseError, Source, Status, normalise_status

__all__ = [
    "HISTORY_COLUMNS",
    "MAX_HISTORY_BYTES",
    "MAX_HISTORY_ROWS",
    "HistoryError",
    "HistoryInvalid",
    "load_history",
    "parse_history",
]

# A plan import's bounds (handlers/bounded.py), with room for a longer file: a tracker's
# history is bigger than its plan.
MAX_HISTORY_BYTES = 10 * 1024 * 1024  # the file as uploaded
MAX_HISTORY_ROWS = 10_000
MAX_CELL_CHARS = MAX_TITLE_CHARS  # any cell but the note

# The columns of the export's Updates sheet (digests/plan_table.py), in its order.
HISTORY_COLUMNS = (
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
_ALIASES = {
    "reference": "ref",
    "date": "recorded_at",
    "author": "by",
    "deps": "dependencies",
    "of note": "of_note",
}
_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d %B %Y", "%d %b %Y", "%d/%m/%y")


@dataclass(frozen=True)
class HistoryError:
    file: str
    row: int  # as the spreadsheet shows it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class HistoryInvalid(Exception):
    """The file could not be read, or rows are wrong; nothing was written."""

    def __init__(self, errors: list[HistoryError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


# The reader's cell bound only caps memory; the rows' own checks (a note of 3,000 characters,
# other cells of 300) then name every bad row at once.
HISTORY_LIMITS = replace(
    DEFAULT_LIMITS,
    max_bytes=MAX_HISTORY_BYTES,
    max_rows=MAX_HISTORY_ROWS,
    max_cell_chars=4 * MAX_NOTE_CHARS,
    setting="10 MB, the limit of a history file",
)


def read_history_table(
    path: Path, limits: Limits = HISTORY_LIMITS
) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the spreadsheet shows it, row by column name) for a CSV file, or the
    ``Updates`` sheet (else the first) of a spreadsheet, read within ``limits`` by the
    bounded readers every import shares (size, rows, cells, the zip's directory)."""
    if path.suffix.lower() == ".csv":
        rows = read_csv(path, limits)
    else:
        rows = read_xlsx(path, limits, sheet="Updates") or read_xlsx(path, limits)
    out: list[tuple[int, dict[str, Any]]] = []
    for n, cells in rows:
        named = {_ALIASES.get(k.lower(), k.lower()): v for k, v in cells.items()}
        out.append((n, named))
    if out:
        missing = {"ref", "recorded_at"} - set(out[0][1])
        if missing:
            raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
    return out


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    text = str(raw).strip()
    if text[:2] in ("'=", "'+", "'-", "'@"):  # written as text by the export
        text = text[1:]
    return text


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def _parse_when(text: str) -> dt.datetime | dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            value = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return value if "%H" in fmt else value.date()
    raise ValueError(f"{text!r} is not a date; write it like 2022-03-07")


def _when(raw: Any, tz: dt.tzinfo) -> dt.datetime:
    """A row's date: a spreadsheet date or date-time, or text such as 2022-03-07,
    2022-03-07 10:15 or 07/03/2022 (day first). A date alone (or a spreadsheet date at
    midnight) is noon UTC on that day, as a plan import stamps its rows; a time without a
    zone is the office's."""
    if not isinstance(raw, (dt.datetime, dt.date)):
        text = _text(raw)
        if not text:
            raise ValueError("the date is missing")
        raw = _parse_when(text)
    if not isinstance(raw, dt.datetime):
        return _noon(raw)
    if raw.tzinfo is None and raw.time() == dt.time(0):
        return _noon(raw.date())
    value = raw if raw.tzinfo is not None else raw.replace(tzinfo=tz)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _flag(raw: Any, column: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False if text else None
    raise ValueError(f"{text!r} is not yes or no; write true or false")


def _row(line: int, row: dict[str, Any], office: Office) -> HistoryRow:
    """One row as a :class:`HistoryRow`; raises ``_CellError`` naming the column."""
    for column, raw in row.items():
        limit = MAX_NOTE_CHARS if column == "note" else MAX_CELL_CHARS
        if isinstance(raw, str) and len(raw.strip()) > limit:
            raise _CellError(column, f"{len(raw.strip())} characters; the limit is {limit:,}")
    ref = _text(row.get("ref")).upper()
    if not ref:
        raise _CellError("ref", "the reference is missing")
    try:
        when = _when(row.get("recorded_at"), office.tz)
    except ValueError as exc:
        raise _CellError("recorded_at", str(exc)) from None
    status_text = _text(row.get("status"))
    status = normalise_status(status_text) if status_text else None
    if status_text and status is None:
        raise _CellError(
            "status",
            f"unknown status {status_text!r}; use {Status.spoken(last=', ')}",
        )
    due_text = _text(row.get("due"))
    due = None
    if due_text:
        try:
            due = str(office.quarter(due_text))
        except QuarterParseError as exc:
            raise _CellError("due", str(exc)) from None
    source_text = _text(row.get("source")).lower()
    try:
        source = Source(source_text) if source_text else Source.CLI
    except ValueError:
        raise _CellError(
            "source", f"{source_text!r}; use slack, email or cli, or leave it blank"
        ) from None
    flags: dict[str, bool | None] = {}
    for column in ("dependencies", "summary", "of_note"):
        try:
            flags[column] = _flag(row.get(column), column)
        except ValueError as exc:
            raise _CellError(column, str(exc)) from None
    return HistoryRow(
        line=line,
        ref=ref,
        recorded_at=when,
        by=_text(row.get("by")) or None,
        source=source,
        status=status,
        due=due,
        dependencies=flags["dependencies"],
        summary=bool(flags["summary"]),
        of_note=bool(flags["of_note"]),
        note=_text(row.get("note")),
    )


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def parse_history(
    rows: list[tuple[int, dict[str, Any]]],
    *,
    filename: str,
    office: Office = AN_OFFICE,
) -> list[HistoryRow]:
    """Every row checked; all the errors at once, each with its row number."""
    errors: list[HistoryError] = []
    parsed: list[HistoryRow] = []
    for line, row in rows:
        try:
            parsed.append(_row(line, row, office))
        except _CellError as exc:
            errors.append(HistoryError(filename, line, exc.column, str(exc)))
    if errors:
        raise HistoryInvalid(errors)
    if not parsed:
        raise HistoryInvalid([HistoryError(filename, 0, "", "no rows to import")])
    return parsed


def load_history(path: Path, *, office: Office = AN_OFFICE) -> list[HistoryRow]:
    """Read and check ``path`` (CSV, or XLSX with an Updates sheet)."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise HistoryInvalid([HistoryError(str(path), 0, "", "give a .csv or .xlsx file")])
    try:
        rows = read_history_table(path)
    except FileInvalid as exc:
        errors = [HistoryError(e.file, e.line, e.field, e.message) for e in exc.errors]
        raise HistoryInvalid(errors) from None
    except (OSError, ValueError) as exc:
        raise HistoryInvalid([HistoryError(str(path), 0, "", f"cannot read: {exc}")]) from None
    except Exception as exc:  # openpyxl's own errors for a damaged workbook
        message = f"cannot read: {type(exc).__name__}: {exc}"
        raise HistoryInvalid([HistoryError(str(path), 0, "", message)]) from None
    return parse_history(rows, filename=str(path), office=office)
