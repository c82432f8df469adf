"""The Updates sheet's rows are written as XML straight into openpyxl's package
(digests/sheet_xml.py): the file is byte for byte what openpyxl's write-only writer made
(every part but the creation time), its cells are openpyxl's for any text, and its times
are openpyxl's ``to_excel`` to the bit."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES as OPENPYXL_ERRORS
from openpyxl.compat import safe_string
from openpyxl.styles import Font
from openpyxl.utils.datetime import to_excel

from digests import plan_table, sheet_xml
from digests.plan_table import PLAN_COLUMNS, UPDATE_COLUMNS, plan_rows, to_xlsx
from handlers.service import UpdateRequest, record_update
from store import CORRESPONDENCE_CATEGORIES, Reader, Source, Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


def _streamed_by_openpyxl(
    store: Reader, rows: list[dict[str, Any]], tz: Any, **period: Any
) -> bytes:
    """The builder before the rows were spliced: every sheet through openpyxl's write-only
    mode (the same cell values, the names and dues guarded as the new builder guards them)."""
    from store.export_reads import iter_update_rows

    book = Workbook(write_only=True)

    def sheet(title: str, head: Any) -> Any:
        ws = book.create_sheet(title)
        ws.freeze_panes = "A2"
        header = []
        for name in head:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        return ws

    guard = plan_table._sheet_cell
    plan = sheet("Plan", PLAN_COLUMNS)
    for row in rows:
        plan.append([guard(row.get(k)) for k in PLAN_COLUMNS])
    refs = {d.id: d.ref for d in store.deliverables()}
    people = {p.id: guard(p.name) for p in store.people()}
    updates = sheet("Updates", UPDATE_COLUMNS)
    for did, pid, at, source, status, due, deps, summary, of_note, note in iter_update_rows(
        store, **period
    ):
        updates.append(
            [
                refs.get(did),
                dt.datetime.fromisoformat(at).astimezone(tz).replace(tzinfo=None),
                people.get(pid) if pid else "plan import",
                str(Source(source)),
                str(Status(status)) if status else None,
                guard(due),
                None if deps is None else bool(deps),
                bool(summary),
                bool(of_note),
                guard(note),
            ]
        )
    letters = sheet("Correspondence", ["month", *CORRESPONDENCE_CATEGORIES, "total"])
    months: dict[str, dict[str, int]] = {}
    for day, category, n in store.correspondence_daily(since=dt.date.min, until=dt.date.max):
        month = months.setdefault(day[:7], {})
        month[category] = month.get(category, 0) + n
    for key in sorted(months):
        counts = [months[key].get(c, 0) for c in CORRESPONDENCE_CATEGORIES]
        letters.append([key, *counts, sum(counts)])
    glossary = sheet("Glossary", ["term", "expansion"])
    for term, expansion in store.glossary().items():
        glossary.append([guard(term), guard(expansion)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    """The package's parts in order, less the creation time (docProps/core.xml)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist() if i.filename != "docProps/core.xml"]


ODD_NOTES = ["a & b < c > d\r", "  padded ", "café – ✓ 𝄞", "#N/A", "=SUM(A1:A9)", "", "x" * 40000]


@pytest.fixture
def odd_store(digest_store: Store) -> Store:
    """Rows the service would not write today but a database may hold: notes with markup,
    spaces at the ends, non-ASCII, an error value, a formula, nothing, too much; a time
    stored with an offset other than UTC, an empty status and due; and a person whose
    name would run as a formula."""
    with digest_store.transaction():
        did = digest_store.db.execute("SELECT id FROM deliverables WHERE ref = 'CF-2'").fetchone()[
            0
        ]
        for i, note in enumerate(ODD_NOTES):
            at = dt.datetime(2022, 10, 30, 0, 59, 59, 250000 + i, tzinfo=dt.UTC).isoformat()
            digest_store.db.execute(
                "INSERT INTO updates (deliverable_id, person_id, recorded_at, source, "
                "status_after, due_after, dependencies, note, summary, of_note) "
                "VALUES (?, (SELECT id FROM people WHERE email = 'priya.shah@example.org'), ?, "
                "'slack', ?, ?, ?, ?, ?, 1)",
                [did, at, "" if i == 2 else "ongoing", "" if i == 3 else None, i % 2, note, i],
            )
        digest_store.db.execute(
            "INSERT INTO updates (deliverable_id, person_id, recorded_at, source, note) "
            "VALUES (?, NULL, '2022-10-30T02:30:00+01:00', 'cli', 'offset')",
            [did],
        )
        digest_store.db.execute(
            "UPDATE people SET name = '=HYPERLINK(\"x\")' WHERE email = 'priya.shah@example.org'"
        )
    return digest_store


@pytest.mark.parametrize("zone", ["Europe/London", "UTC"])
def test_the_file_is_byte_for_byte_openpyxls(
    odd_store: Store, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan_table, "ROWS_A_CHUNK", 7)  # rows cross many chunks
    tz = zoneinfo.ZoneInfo(zone)
    rows = plan_rows(odd_store, tz)
    assert _parts(to_xlsx(odd_store, rows, tz)) == _parts(
        _streamed_by_openpyxl(odd_store, rows, tz)
    )
    since, until = plan_table.updates_period(dt.date(2022, 9, 20), dt.date(2022, 10, 30), tz)
    bounded = to_xlsx(odd_store, rows, tz, since=since, until=until)
    assert _parts(bounded) == _parts(
        _streamed_by_openpyxl(odd_store, rows, tz, since=since, until=until)
    )


def test_what_a_reader_sees_of_the_odd_cells(odd_store: Store, tmp_path: Path) -> None:
    rows = plan_rows(odd_store, LONDON)
    target = tmp_path / "odd.xlsx"
    assert plan_table.write_xlsx(odd_store, rows, LONDON, target) == 63  # 50 + 5 + 8
    sheet = load_workbook(target)["Updates"]
    last = [[c.value for c in row] for row in sheet.iter_rows(min_row=57)]
    assert [r[-1] for r in last] == [
        "a & b < c > d\r",
        "  padded ",
        "café – ✓ 𝄞",
        "#N/A",
        "'=SUM(A1:A9)",
        None,  # an empty note: openpyxl reads the empty string it wrote as no value
        "x" * 32767,
        "offset",
    ]
    assert {r[2] for r in last[:-1]} == {'\'=HYPERLINK("x")'} and last[-1][2] == "plan import"
    assert last[0][1] == dt.datetime(2022, 10, 30, 1, 59, 59, 250000)  # BST ends at 01:00 UTC
    assert last[-1][1] == dt.datetime(2022, 10, 30, 1, 30)  # 01:30 UTC, in GMT again
    assert [r[4] for r in last[:4]] == ["ongoing", "ongoing", None, "ongoing"]


def test_characters_a_sheet_cannot_hold_are_dropped_not_fatal(
    digest_store: Store, tmp_path: Path
) -> None:
    """openpyxl refuses the whole workbook over one control character; now it is dropped."""
    owner = digest_store.person_by_email("priya.shah@example.org")
    record_update(
        digest_store,
        UpdateRequest(deliverable="CF-1", actor=owner, source=Source.SLACK, note="bell\x07 here"),
    )
    with digest_store.transaction():
        digest_store.db.execute("UPDATE deliverables SET title = 'Title\x01' WHERE ref = 'CF-2'")
        digest_store.set_glossary({"esc\x1b": "ape\ufffe"})
    rows = plan_rows(digest_store, LONDON)
    book = load_workbook(io.BytesIO(to_xlsx(digest_store, rows, LONDON)))
    notes = [r[-1].value for r in book["Updates"].iter_rows(min_row=2)]
    assert notes[-1] == "bell here"
    titles = [r[1].value for r in book["Plan"].iter_rows(min_row=2)]
    assert "Title" in titles
    assert [[c.value for c in r] for r in book["Glossary"].iter_rows(min_row=2)] == [["esc", "ape"]]


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_a_text_cell_is_the_xml_openpyxl_writes(text: str) -> None:
    value = plan_table._sheet_cell(sheet_xml.clean_text(text))
    book = Workbook(write_only=True)
    ws = book.create_sheet("S")
    ws.append([value, True, False, dt.datetime(2022, 3, 27, 1, 30, 0, 5)])
    out = io.BytesIO()
    book.save(out)
    xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml")
    row = re.search(rb"<row r=\"1\">.*</row>", xml, re.S)
    assert row is not None
    style = int(WriteOnlyCell(ws, value=dt.datetime(2000, 1, 1)).style_id)
    ours = (
        '<row r="1"><c r="A1"'
        + sheet_xml.text_cell(value)
        + '<c r="B1"'
        + sheet_xml.BOOLEAN[True]
        + '<c r="C1"'
        + sheet_xml.BOOLEAN[False]
        + f'<c r="D1" s="{style}" t="n"><v>'
        + sheet_xml.excel_times(dt.UTC)("2022-03-27T01:30:00.000005+00:00")
        + "</v></c></row>"
    )
    assert ours.encode("ascii", "xmlcharrefreplace") == row.group(0)


def test_the_error_values_are_openpyxls() -> None:
    assert set(OPENPYXL_ERRORS) == sheet_xml.ERROR_CODES


@settings(max_examples=400, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1)),
    st.sampled_from(ZONES),
)
def test_times_are_to_excel_of_the_local_time_to_the_bit(at: dt.datetime, zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    stored = at.replace(tzinfo=dt.UTC).isoformat()
    local = at.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
    serial = sheet_xml.excel_times(tz)
    assert serial(stored) == safe_string(to_excel(local))
    assert serial(stored) == serial(stored)  # the day's offset, kept, gives the same


# Clocks change in New York, London and on Lord Howe Island (by half an hour) in these days.
CHANGING = [
    (2022, 3, 12),
    (2022, 3, 26),
    (2022, 4, 2),
    (2022, 10, 1),
    (2022, 10, 29),
    (2022, 11, 5),
]


@pytest.mark.parametrize("zone", ZONES)
def test_times_across_a_changing_day(zone: str) -> None:
    """Every quarter hour (and a few seconds) of the days around the clocks' changes, from
    one kept function."""
    tz = zoneinfo.ZoneInfo(zone)
    serial = sheet_xml.excel_times(tz)
    for day in CHANGING:
        start = dt.datetime(*day, tzinfo=dt.UTC)
        for q in range(4 * 24 * 3):
            at = start + dt.timedelta(minutes=15 * q, seconds=q % 60)
            expected = safe_string(to_excel(at.astimezone(tz).replace(tzinfo=None)))
            assert serial(at.isoformat()) == expected, at


def test_a_row_of_another_type_is_refused() -> None:
    assert sheet_xml.row_xml(2, ["a", None, True]) == (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="C2" t="b"><v>1</v></c></row>'
    )
    with pytest.raises(TypeError, match="int"):
        sheet_xml.row_xml(2, ["a", 3])  # type: ignore[list-item]


def test_a_failing_sink_fails_the_export() -> None:
    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        sheet_xml._write_behind(Full(), (b"x" for _ in range(100)))


def test_a_failed_export_leaves_the_file_that_was_there(
    digest_store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "plan.xlsx"
    rows = plan_rows(digest_store, LONDON)
    plan_table.write_xlsx(digest_store, rows, LONDON, target)
    before = target.read_bytes()
    with digest_store.transaction():
        # A row this version cannot read (a status from a newer release): the export fails
        # part-way through the Updates sheet.
        digest_store.db.execute(
            "INSERT INTO updates (deliverable_id, recorded_at, source, status_after, note) "
            "SELECT id, '2023-01-01T00:00:00+00:00', 'cli', 'archived', 'x' FROM deliverables "
            "LIMIT 1"
        )
    with pytest.raises(ValueError, match="archived"):
        plan_table.write_xlsx(digest_store, rows, LONDON, target)
    assert target.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_lone_surrogate_in_the_glossary_is_dropped(digest_store: Store) -> None:
    with digest_store.transaction():
        # As a hand-edited glossary can hold them: lone surrogates as JSON escapes.
        digest_store.set_meta("glossary", '{"a\\ud800b": "c\\udfffd"}')
    rows = plan_rows(digest_store, LONDON)
    book = load_workbook(io.BytesIO(to_xlsx(digest_store, rows, LONDON)))
    assert [[c.value for c in r] for r in book["Glossary"].iter_rows(min_row=2)] == [["ab", "cd"]]
    assert sheet_xml.text_cell("x\ud800y") == ' t="inlineStr"><is><t>xy</t></is></c>'


def test_a_sheet_past_the_zip64_limit_is_written_as_zip64(
    digest_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 GiB of rows is 4 million updates; the limit is lowered so this sheet passes it.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 20_000)
    rows = plan_rows(digest_store, LONDON)
    book = load_workbook(io.BytesIO(to_xlsx(digest_store, rows, LONDON)))
    assert book["Updates"].max_row > 1
