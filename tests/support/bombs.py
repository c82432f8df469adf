"""Hostile import files for the tests of the import limits: YAML alias bombs, and XLSX files
whose zip entries inflate far beyond their size. Each is built in well under a second by
repeating one deflate block (a full flush makes each block stand alone)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook

MiB = 1024 * 1024


def yaml_alias_bomb(field: str = "added", levels: int = 9) -> str:
    """A small plan whose ``field`` (``added`` of a deliverable, or the plan's ``start``)
    expands to 9**levels scalars when its aliases are followed."""
    layers = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels):
        prev, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        layers.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = "[" + ", ".join(layers) + "]"
    start = bomb if field == "start" else "2021-11-29"
    added = bomb if field == "added" else "2022-07-01"
    return (
        f"plan: Bomb\nstart: {start}\npeople:\n  - {{name: Jane, email: jane@example.org}}\n"
        "themes:\n  - code: CF\n    name: Communities\n    deliverables:\n"
        f"      - title: Survey\n        added: {added}\n"
    )


class _Entry:
    """One zip entry from a prefix, ``repeat`` copies of ``chunk`` and a suffix."""

    def __init__(
        self, name: str, prefix: bytes, chunk: bytes = b"", repeat: int = 0, suffix: bytes = b""
    ) -> None:
        self.name = name
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
        body = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH) if chunk else b""
        tail = comp.compress(suffix) + comp.flush()
        self.data = head + body * repeat + tail
        crc = zlib.crc32(prefix)
        for _ in range(repeat):
            crc = zlib.crc32(chunk, crc)
        self.crc = zlib.crc32(suffix, crc)
        self.size = len(prefix) + len(chunk) * repeat + len(suffix)


def _write_zip(path: Path, entries: Iterable[_Entry]) -> None:
    """A plain zip (no zip64: every entry under 4 GiB) from pre-deflated entries."""
    out = io.BytesIO()
    central = b""
    count = 0
    for e in entries:
        name = e.name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                0,
                0x21,
                e.crc,
                len(e.data),
                e.size,
                len(name),
                0,
            )
            + name
            + e.data
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                e.crc,
                len(e.data),
                e.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
        count += 1
    start = out.tell()
    out.write(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0))
    path.write_bytes(out.getvalue())


def _base_workbook() -> dict[str, bytes]:
    """A valid plan spreadsheet with shared strings (what Excel writes), entry by entry."""
    book = Workbook()
    sheet = book.active
    sheet.append(["ref", "title", "theme", "theme_code", "status", "owner_email"])
    sheet.append(["CF-1", "Survey", "Communities", "CF", "ongoing", "jane@example.org"])
    buf = io.BytesIO()
    book.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


_SST = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
_HEADER = ["ref", "title", "theme", "theme_code", "status", "owner_email"]


def _sheet_with_shared_strings(rows: list[list[int]]) -> bytes:
    xml = [
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for r, cells in enumerate(rows, start=1):
        xml.append(f'<row r="{r}">')
        for c, index in enumerate(cells):
            xml.append(f'<c r="{chr(65 + c)}{r}" t="s"><v>{index}</v></c>')
        xml.append("</row>")
    xml.append("</sheetData></worksheet>")
    return "".join(xml).encode()


def _with_shared_strings(parts: dict[str, bytes]) -> dict[str, bytes]:
    ct = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    return {**parts, "[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels}


def xlsx_huge_cell(path: Path, chars: int = 1024 * MiB) -> Path:
    """A small workbook whose second row's title is one shared string of ``chars`` letters
    (1 GiB by default, about 1 MB on disk)."""
    parts = _with_shared_strings(_base_workbook())
    values = [*_HEADER, "CF-1", "Communities", "CF", "ongoing", "jane@example.org"]
    strings = b"".join(f"<si><t>{v}</t></si>".encode() for v in values)
    sheet = _sheet_with_shared_strings([list(range(6)), [6, 11, 7, 8, 9, 10]])
    chunk = b"A" * MiB
    entries = [_Entry(n, d) for n, d in parts.items() if n != "xl/worksheets/sheet1.xml"]
    entries.append(_Entry("xl/worksheets/sheet1.xml", sheet))
    entries.append(
        _Entry(
            "xl/sharedStrings.xml",
            _SST + strings + b"<si><t>",
            chunk,
            chars // MiB,
            b"</t></si></sst>",
        )
    )
    _write_zip(path, entries)
    return path


def xlsx_zip_bomb(path: Path, inflated: int = 3000 * MiB) -> Path:
    """A workbook whose first sheet inflates to ``inflated`` bytes of rows (3,000 MiB by
    default, about 4 MB on disk)."""
    parts = _base_workbook()
    row = (
        b'<row><c t="inlineStr"><is><t>CF-1</t></is></c><c t="inlineStr"><is><t>Survey</t></is>'
        b'</c><c t="inlineStr"><is><t>Communities</t></is></c><c t="inlineStr"><is><t>CF</t>'
        b'</is></c><c t="inlineStr"><is><t>ongoing</t></is></c></row>'
    )
    row += b" " * 16000  # whitespace between rows: what deflate packs tightest
    chunk = row * (MiB // len(row))
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org'
        b'/spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>ref</t></is></c>'
        b'<c t="inlineStr"><is><t>title</t></is></c><c t="inlineStr"><is><t>theme</t></is></c>'
        b'<c t="inlineStr"><is><t>theme_code</t></is></c><c t="inlineStr"><is><t>status</t>'
        b"</is></c></row>"
    )
    entries = [_Entry(n, d) for n, d in parts.items() if n != "xl/worksheets/sheet1.xml"]
    entries.append(
        _Entry(
            "xl/worksheets/sheet1.xml",
            head,
            chunk,
            inflated // len(chunk),
            b"</sheetData></worksheet>",
        )
    )
    _write_zip(path, entries)
    return path


def xlsx_many_entries(path: Path, entries: int = 20_000) -> Path:
    """A valid workbook padded with ``entries`` empty files."""
    parts = _base_workbook()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
        for i in range(entries):
            z.writestr(f"xl/media/pad{i}.bin", b"")
    return path


def xlsx_entity_bomb(path: Path) -> Path:
    """A workbook whose shared strings declare nested XML entities (a billion laughs)."""
    parts = _with_shared_strings(_base_workbook())
    dtd = '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(8)
    )
    values = [*_HEADER, "CF-1", "&i;", "CF", "ongoing", "jane@example.org", "Communities"]
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + dtd
        + "]>"
        + _SST.decode().split("?>", 1)[1]
        + "".join(f"<si><t>{v}</t></si>" for v in values)
        + "</sst>"
    ).encode()
    parts["xl/worksheets/sheet1.xml"] = _sheet_with_shared_strings(
        [list(range(6)), [6, 7, 11, 8, 9, 10]]
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path
