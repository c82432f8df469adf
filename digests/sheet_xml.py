"""A sheet's rows as the XML openpyxl's write-only writer puts in the file, written straight
into the package openpyxl built: for the sheets with many cells (the Updates sheet has
millions). openpyxl is imported only where it is used: ``plan show`` imports this module too.

openpyxl costs about 6 us of CPU a cell (a ``Cell`` bound per value, then an element per cell
through lxml), which is over 20 s for the Updates sheet of three years of a large office.
The workbook, its styles, the small sheets and every header stay openpyxl's; only the rows
after a header are formatted here, a row at a time from cached pieces, into the same bytes
openpyxl writes (``tests/digests/test_sheet_xml.py`` checks them against openpyxl's own),
and streamed into the zip member ahead of openpyxl's ``</sheetData>``. Compression runs on a
thread of its own (zlib lets go of the GIL), so it overlaps the formatting.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import queue
import re
import secrets
import threading
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

__all__ = ["BOOLEAN", "clean_text", "excel_times", "row_xml", "splice_rows", "text_cell"]

# What openpyxl refuses in a cell (``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``), and the
# code points XML 1.0 has no place for (U+FFFE, U+FFFF and lone surrogates, which a JSON
# glossary can carry): dropped, so one stray character in a note cannot fail the whole
# export (openpyxl raises ``IllegalCharacterError`` on them).
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The texts openpyxl writes as an error value, not a string (``openpyxl.cell.cell.ERROR_CODES``).
ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
MAX_TEXT = 32767  # Excel's limit on a cell's text; openpyxl cuts it there too

# What follows ``<c r="G9"`` for a boolean cell.
BOOLEAN = {True: ' t="b"><v>1</v></c>', False: ' t="b"><v>0</v></c>'}

_UTC_EPOCH = dt.datetime(1899, 12, 30, tzinfo=dt.UTC)  # openpyxl's WINDOWS_EPOCH, in UTC


def clean_text(value: str) -> str:
    """``value`` without the characters a worksheet cannot hold."""
    return value if value.isprintable() else ILLEGAL.sub("", value)


def text_cell(value: str) -> str:
    """What follows ``<c r="A9"`` for a text cell, as openpyxl writes it: an inline string
    (``xml:space`` kept when the text has spaces at its ends), an error value for the texts
    Excel reads as one (``#N/A``), or an empty inline string. Non-ASCII is left for
    :func:`splice_rows`, which writes character references as lxml does. The caller has
    neutralised formulas (openpyxl would write ``=...`` as one)."""
    value = clean_text(value)[:MAX_TEXT]
    if value == "":
        return ' t="inlineStr"></c>'
    if value in ERROR_CODES:
        return f' t="e"><v>{value}</v></c>'
    space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
    text = (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def excel_times(tz: dt.tzinfo) -> Callable[[str], str]:
    """A stored instant (ISO 8601) as the text of the number openpyxl writes for its
    wall-clock time in ``tz``: ``to_excel`` of the naive local time, as ``%.16g``. The
    offset is looked up once a day (a day whose offset changes takes the long way), so
    a row costs a parse and a subtraction; the arithmetic is ``to_excel``'s, to the bit."""
    shifts: dict[str, dt.datetime | None] = {}

    def serial(text: str) -> str:
        at = dt.datetime.fromisoformat(text)
        if at.tzinfo is dt.UTC:
            day = text[:10]
            try:
                shift = shifts[day]
            except KeyError:
                shift = shifts[day] = _shift(at, tz)
            if shift is not None:
                d = at - shift  # the local wall-clock time less openpyxl's epoch
                if d.days > 60:  # to_excel counts 1900 as a leap year before March
                    return f"{d.days + (d.seconds + d.microseconds / 10**6) / 86400:.16g}"
        from openpyxl.utils.datetime import to_excel

        return f"{to_excel(at.astimezone(tz).replace(tzinfo=None)):.16g}"

    return serial


def _shift(at: dt.datetime, tz: dt.tzinfo) -> dt.datetime | None:
    """The epoch less ``tz``'s offset on ``at``'s UTC day, or None if the offset is not the
    same at every hour of that day and at its end (clocks change at most once an hour)."""
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    instants = [start + dt.timedelta(hours=h) for h in range(24)]
    instants.append(start + dt.timedelta(days=1, microseconds=-1))
    offsets = {i.astimezone(tz).utcoffset() for i in instants}
    offset = offsets.pop() if len(offsets) == 1 else None
    return None if offset is None else _UTC_EPOCH - offset


def row_xml(n: int, values: Sequence[str | bool | None]) -> str:
    """Row ``n`` of text, boolean and empty (None) cells, as openpyxl writes it."""
    r = str(n)
    cells = [f'<row r="{r}">']
    for i, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool):
            tail = BOOLEAN[value]
        elif isinstance(value, str):
            tail = text_cell(value)
        else:
            raise TypeError(f"no cell for {type(value).__name__} here: {value!r}")
        cells.append(f'<c r="{COLUMN_LETTERS[i]}{r}"{tail}')
    cells.append("</row>")
    return "".join(cells)


COLUMN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def splice_rows(
    package: bytes, rows: dict[str, Iterable[str]], target: str | Path | IO[bytes]
) -> None:
    """Write ``package`` (an xlsx that openpyxl saved) to ``target`` with, for each sheet
    part named in ``rows``, its XML of ``<row>`` elements (in chunks) added to the end of
    that sheet's data. A path is written through a file beside it, renamed into place only
    when the whole workbook is written: a failure part-way (a bad row, a full disk, Ctrl-C)
    leaves the file that was there before."""
    if not isinstance(target, str | Path):
        _splice(package, rows, target)
        return
    final = Path(target)
    partial = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    # Created as any new file is (the umask applies), and never over another's file.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            _splice(package, rows, out)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _splice(package: bytes, rows: dict[str, Iterable[str]], target: IO[bytes]) -> None:
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        missing = set(rows) - set(source.namelist())
        if missing:
            raise ValueError(f"the package has no part {sorted(missing)}")
        for info in source.infolist():
            if info.filename not in rows:
                out.writestr(info, source.read(info))
                continue
            head, end, tail = source.read(info).rpartition(b"</sheetData>")
            if not end:
                raise ValueError(f"{info.filename} has no sheetData to add rows to")
            chunks = rows[info.filename]
            # ZIP64 as openpyxl switches to it: a sheet part may pass 2 GiB (4 million rows).
            with out.open(info.filename, "w", force_zip64=True) as member:
                member.write(head)
                _write_behind(member, (c.encode("ascii", "xmlcharrefreplace") for c in chunks))
                member.write(end + tail)


def _write_behind(sink: IO[bytes], chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``sink`` on a thread of its own, a few chunks behind the one
    that makes them (so memory stays a few chunks); its error is raised here."""
    ready: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := ready.get()) is not None:
            if failed:
                continue
            try:
                sink.write(chunk)
            except BaseException as exc:  # raised again by the caller
                failed.append(exc)

    writer = threading.Thread(target=drain, name="xlsx-deflate", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failed:
                break
            ready.put(chunk)
    finally:
        ready.put(None)
        writer.join()
    if failed:
        raise failed[0]
