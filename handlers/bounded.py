"""Limits on the files staff import, and the readers that keep to them.

Every import path (the plan file and its spreadsheets; any later import) reads its file
through here, so the limits are the same everywhere and are checked before anything large is
built: the file's size before it is read, a zip's declared sizes and entry count before it is
opened, YAML aliases, nesting and size before the document is built, rows and cells while
they are read. Python's zipfile never inflates an entry past its declared size (it stops
there and the CRC check fails), so checking the declared sizes bounds what is inflated.

A refusal is a :class:`FileInvalid` holding one :class:`FileProblem` per line to print: the
file, the line or row (0 for the file as a whole), the field, and the limit. The readers
stop at the first limit broken; the field checks of a parser collect every problem.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import yaml

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_NOTE_CHARS",
    "MAX_PLAN_BYTES",
    "MAX_ROWS",
    "MAX_TITLE_CHARS",
    "FileInvalid",
    "FileProblem",
    "Limits",
    "LineMap",
    "load_yaml",
    "read_bytes",
    "read_csv",
    "read_text",
    "read_xlsx",
]

MAX_TITLE_CHARS = 300  # a deliverable's title, as Slack and mail enforce it
MAX_NOTE_CHARS = 3000  # a note, as Slack and mail enforce it
MAX_PLAN_BYTES = 5 * 1024 * 1024  # the default of the MAX_PLAN_BYTES setting
MAX_ROWS = 10_000


@dataclass(frozen=True)
class FileProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class FileInvalid(Exception):
    """Every problem found in one import file; nothing of it may be written."""

    def __init__(self, errors: list[FileProblem]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def refuse(file: str, line: int, field: str, message: str) -> NoReturn:
    raise FileInvalid([FileProblem(file, line, _clean(field), _clean(message))])


def _clean(text: object, most: int = 200) -> str:
    """Outside text (a zip entry's name, a library's message) as one short printable line."""
    flat = "".join(c if c.isprintable() else "?" for c in str(text))
    return flat if len(flat) <= most else flat[: most - 1] + "…"


@dataclass(frozen=True)
class Limits:
    """What one import file may hold. ``max_bytes`` is the ``MAX_PLAN_BYTES`` setting."""

    max_bytes: int = MAX_PLAN_BYTES
    max_rows: int = MAX_ROWS
    max_cell_chars: int = MAX_NOTE_CHARS  # no cell may be longer than the longest field
    max_columns: int = 64  # a spreadsheet's columns read; the export has 12
    max_zip_entries: int = 1000
    part_factor: int = 4  # each part of a workbook inflates to at most 4 x max_bytes...
    sheet_factor: int = 20  # ...a worksheet (read a row at a time) and the whole to 20 x
    max_depth: int = 16  # YAML nesting; a plan needs 5
    setting: str = "MAX_PLAN_BYTES"  # what errors call max_bytes

    @property
    def max_yaml_nodes(self) -> int:
        """Values in a YAML file: a deliverable has at most 10 fields (21 nodes)."""
        return 40 * self.max_rows + 1000

    def too_many_rows(self) -> str:
        return f"more than {self.max_rows:,} rows; the limit is {self.max_rows:,}"


DEFAULT_LIMITS = Limits()


# -- files --------------------------------------------------------------------


def _too_big(size: int, limits: Limits, exact: bool = True) -> str:
    amount = f"{size:,} bytes" if exact else f"more than {limits.max_bytes:,} bytes"
    return f"{amount}; the limit is {limits.max_bytes:,} ({limits.setting})"


def read_bytes(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, never more than ``max_bytes`` of them (a pipe or a growing file
    is cut off and refused too)."""
    name = str(path)
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limits.max_bytes:
                refuse(name, 0, "file", _too_big(size, limits))
            data = f.read(limits.max_bytes + 1)
    except OSError as exc:
        refuse(name, 0, "file", f"cannot read: {exc.strerror or exc}")
    if len(data) > limits.max_bytes:
        refuse(name, 0, "file", _too_big(len(data), limits, exact=False))
    return data


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    data = read_bytes(path, limits)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        refuse(str(path), line, "file", "is not UTF-8 text; save it as UTF-8")


# -- YAML -----------------------------------------------------------------------


class LineMap(dict[str, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    @classmethod
    def at(cls, values: dict[str, Any], line: int) -> LineMap:
        """A mapping built from a spreadsheet row: every key on the row's line."""
        m = cls(values)
        m.line = line
        m.key_lines = dict.fromkeys(values, line)
        return m


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class _LineLoader(_SafeLoader):  # type: ignore[misc]
    duplicates: list[tuple[int, str, int]]


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in result.key_lines:  # last-wins would silently drop the first
            loader.duplicates.append((line, key, result.key_lines[key]))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _lenient(tag: str, construct: Any) -> None:
    """``2022-13-01`` looks like a date to YAML and a 5,000-digit number like an int, but
    neither can be built: the text, for the parser to report with its line, instead of a
    ``ValueError`` from deep inside the loader."""

    def build(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except ValueError:
            return loader.construct_scalar(node)

    _LineLoader.add_constructor(tag, build)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
for _tag, _construct in (
    ("tag:yaml.org,2002:timestamp", yaml.constructor.SafeConstructor.construct_yaml_timestamp),
    ("tag:yaml.org,2002:int", yaml.constructor.SafeConstructor.construct_yaml_int),
    ("tag:yaml.org,2002:float", yaml.constructor.SafeConstructor.construct_yaml_float),
):
    _lenient(_tag, _construct)

_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_events(text: str, filename: str, limits: Limits) -> None:
    """Refuse aliases, deep nesting and too many values from the parser's events, before
    any node is built: an alias bomb is a few hundred bytes of events."""
    depth = nodes = 0
    parser = _SafeLoader(text)
    try:
        while parser.check_event():
            event = parser.get_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                refuse(
                    filename,
                    line,
                    "yaml",
                    f"an alias (*{event.anchor}) is not allowed in an import file; "
                    "write the value out",
                )
            if isinstance(event, _OPENS):
                depth += 1
                if depth > limits.max_depth:
                    refuse(filename, line, "yaml", f"nested more than {limits.max_depth} deep")
            elif isinstance(event, _CLOSES):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > limits.max_yaml_nodes:
                    refuse(
                        filename,
                        line,
                        "yaml",
                        f"more than {limits.max_yaml_nodes:,} values; "
                        f"{limits.max_rows:,} rows need fewer",
                    )
    finally:
        parser.dispose()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cycle collector off while a document is built: its passes over hundreds of
    thousands of new (acyclic) nodes made loading grow faster than the file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml(text: str, *, filename: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """One YAML document with :class:`LineMap` mappings. Aliases, nesting deeper than
    ``max_depth``, too many values and duplicate keys (with both lines) are refused."""
    try:
        _check_events(text, filename, limits)
        loader = _LineLoader(text)
        loader.duplicates = []
        try:
            with _no_gc():
                doc = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        refuse(filename, line, "yaml", str(getattr(exc, "problem", None) or exc))
    if loader.duplicates:
        raise FileInvalid(
            [
                FileProblem(
                    filename,
                    line,
                    _clean(key, 60),
                    f"duplicate key (first on line {first}); a mapping may name each key once",
                )
                for line, key, first in loader.duplicates
            ]
        )
    return doc


# -- spreadsheets -----------------------------------------------------------------

Row = tuple[int, dict[str, Any]]  # (row number as the spreadsheet shows it, cells by column)


def _check_cells(name: str, row: int, header: list[str], cells: Any, limits: Limits) -> None:
    for i, value in enumerate(cells):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            column = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            refuse(
                name,
                row,
                column,
                f"more than {limits.max_cell_chars:,} characters in one cell; "
                f"the limit is {limits.max_cell_chars:,}",
            )


class _Rows:
    """Collects a sheet's rows below its header, within the limits."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.header: list[str] | None = None
        self.rows: list[Row] = []

    def add(self, number: int, cells: Any) -> None:
        cells = list(cells)[: self.limits.max_columns]
        if not any(v not in (None, "") for v in cells):
            return  # a blank row
        if self.header is None:  # the first row that is not blank
            _check_cells(self.name, number, [], cells, self.limits)
            self.header = [str(h).strip() if h is not None else "" for h in cells]
            return
        _check_cells(self.name, number, self.header, cells, self.limits)
        if len(self.rows) == self.limits.max_rows:
            refuse(self.name, number, "rows", self.limits.too_many_rows())
        self.rows.append((number, dict(zip(self.header, cells, strict=False))))


def read_csv(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[Row]:
    """The rows of a CSV file (UTF-8, a byte-order mark allowed) below its header."""
    name = str(path)
    text = read_text(path, limits)
    # The file is at most max_bytes, so no cell can be longer; ours is the cell limit.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes))
    rows = _Rows(name, limits)
    number = 0
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            rows.add(number, cells)
    except csv.Error as exc:
        refuse(name, number + 1, "file", f"not a readable CSV row: {exc}")
    return rows.rows


def _check_zip(name: str, source: IO[bytes], limits: Limits) -> None:
    """Entry count and declared sizes, from the zip's directory alone: nothing inflated."""
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        refuse(name, 0, "file", f"not a readable .xlsx workbook: {exc}")
    if len(entries) > limits.max_zip_entries:
        refuse(
            name,
            0,
            "file",
            f"{len(entries):,} entries in the zip; the limit is {limits.max_zip_entries:,}",
        )
    total = 0
    for entry in entries:
        factor = (
            limits.sheet_factor
            if entry.filename.startswith("xl/worksheets/")
            else (limits.part_factor)
        )
        cap = factor * limits.max_bytes
        if entry.file_size > cap:
            refuse(
                name,
                0,
                _clean(entry.filename, 80),
                f"inflates to {entry.file_size:,} bytes; "
                f"the limit is {cap:,} ({factor} x {limits.setting})",
            )
        total += entry.file_size
    cap = limits.sheet_factor * limits.max_bytes
    if total > cap:
        refuse(
            name,
            0,
            "file",
            f"inflates to {total:,} bytes in all; "
            f"the limit is {cap:,} ({limits.sheet_factor} x {limits.setting})",
        )


def _why(exc: BaseException) -> str:
    """openpyxl wraps what went wrong in a long ValueError: the cause, in a few words."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if type(exc).__module__.startswith("defusedxml"):
        return "XML entity declarations are not allowed"
    return str(exc) or type(exc).__name__


def read_xlsx(
    path: Path, limits: Limits = DEFAULT_LIMITS, *, sheet: str | None = None
) -> list[Row]:
    """The rows of a workbook's first sheet (or the sheet named ``sheet``; none if it has
    no such sheet) below its header, read a row at a time (openpyxl's read-only mode) once
    the zip's directory is within the limits."""
    from openpyxl import load_workbook

    name = str(path)
    data = read_bytes(path, limits)
    _check_zip(name, io.BytesIO(data), limits)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        refuse(name, 0, "file", f"not a readable .xlsx workbook: {_why(exc)}")
    rows = _Rows(name, limits)
    try:
        chosen = (
            (book.worksheets[0] if book.worksheets else None)
            if sheet is None
            else (book[sheet] if sheet in book.sheetnames else None)
        )
        if chosen is not None:
            chosen.reset_dimensions()  # a forged <dimension> must not pad every row
            cells = chosen.iter_rows(max_col=limits.max_columns, values_only=True)
            for number, values in enumerate(cells, start=1):
                rows.add(number, values)
    except FileInvalid:
        raise
    except Exception as exc:
        refuse(name, 0, "file", f"not a readable .xlsx workbook: {_why(exc)}")
    finally:
        book.close()
    return rows.rows
