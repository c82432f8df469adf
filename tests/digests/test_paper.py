"""The whole panel paper in Word (issue 16): the heading block and sections 1–7, the office's
own wording from `paper:`, numbers that follow on, one font family, table headers that do
not break inside a word, and one sentence instead of a table of zeros."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zoneinfo
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Emu, Pt
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from digests.paper import build_paper, render_paper_docx, stored_wording
from digests.report import build_report, render_docx
from handlers.paper import load_paper
from handlers.plan import PlanInvalid, parse_plan
from handlers.service import import_plan
from store import Office, Store
from store.paper import PaperWording

TZ = zoneinfo.ZoneInfo("Europe/London")
SEPT = {"day_from": dt.date(2022, 3, 1), "day_to": dt.date(2022, 9, 14), "office": Office(tz=TZ)}


def _paper(store: Store, wording: PaperWording | None = None) -> Document:
    report = build_report(store, **SEPT)
    paper = build_paper(store, report, wording or stored_wording(store))
    return Document(io.BytesIO(render_paper_docx(report, paper)))


def _headings(doc: Document, level: int) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name == f"Heading {level}"]


def test_the_whole_paper_has_the_heading_block_and_sections_1_to_7(digest_store: Store) -> None:
    doc = _paper(digest_store)
    lines = [p.text for p in doc.paragraphs]
    assert lines[:7] == [
        "POLICE AND CRIME PANEL\tAgenda Item No. [to follow]",
        "14 September 2022\tPublic Report",
        "",
        "Report of the Police and Crime Commissioner",
        "Contact Officer – Alex Morgan, OPCC for Cambridgeshire and Peterborough",
        "Contact Details – alex.morgan@example.org",
        "DELIVERY OF THE POLICE AND CRIME PLAN 2021-24 – FORWARD PLAN",
    ]
    assert _headings(doc, 1) == [
        "1.\tPURPOSE",
        "2.\tRECOMMENDATIONS",
        "3.\tTERMS OF REFERENCE",
        "4.\tBACKGROUND",
        "5.\tPOLICE AND CRIME PLAN 2021-24 THEMES",
        "6.\tMONITORING DELIVERY OF THE PLAN",
        "7.\tBACKGROUND DOCUMENTS",
    ]
    assert _headings(doc, 2) == [
        "5.1\tPutting Communities First – Priorities for Action",
        "5.2\tCrime Prevention – Priorities for Action",
        "5.3\tSupporting Victims and Witnesses – Priorities for Action",
        "5.4\tEthical Policing – Priorities for Action",
        "5.5\tRobust Enforcement – Priorities for Action",
        "5.6\tCorrespondence",
    ]
    assert "2.1\tThe Panel is recommended to note the contents of this report." in lines
    assert any(
        line.startswith("4.2\tThe Plan is structured around five themes: Putting Communities")
        and "Ethical Policing and Robust Enforcement." in line
        for line in lines
    )
    assert "7.1\tPolice and Crime Plan 2021-24" in lines
    assert "Current Deliverables" in lines  # section 5 is generated as in the section alone


PAPER_BLOCK = """
paper:
  panel: CAMBRIDGESHIRE POLICE AND CRIME PANEL
  agenda_item: 8
  date: 2022-09-14
  contact_officer: Jack Hudson, Head of Business Development, OPCC
  contact_details: cambs-pcc@cambs.police.uk 0300 333 3456
  title: DELIVERY OF THE POLICE AND CRIME COMMISSIONER'S POLICE AND CRIME PLAN 2021-24 – FORWARD PLAN
  purpose: The purpose of this report is to update the Police and Crime Panel on the Plan.
  terms_of_reference: []
  background:
    - The Panel's role is to scrutinise and support the Commissioner.
    - "<w:p/> {{ 7*7 }} & more"
  background_documents:
    - Police and Crime Commissioner's 'Police and Crime Plan 2021-24'
"""


def test_the_offices_wording_from_the_plan_file_with_numbers_following_on(
    digest_store: Store, example_plan: Path
) -> None:
    text = example_plan.read_text(encoding="utf-8") + PAPER_BLOCK
    summary = import_plan(digest_store, parse_plan(text), today=dt.date(2022, 9, 14))
    assert "paper: the office's wording for the paper updated" in summary.text
    doc = _paper(digest_store)
    lines = [p.text for p in doc.paragraphs]
    assert lines[0] == "CAMBRIDGESHIRE POLICE AND CRIME PANEL\tAgenda Item No. 8"
    assert lines[4] == "Contact Officer – Jack Hudson, Head of Business Development, OPCC"
    assert lines[5] == "Contact Details – cambs-pcc@cambs.police.uk 0300 333 3456"
    assert _headings(doc, 1) == [
        "1.\tPURPOSE",
        "2.\tRECOMMENDATIONS",  # not given: the default
        "3.\tBACKGROUND",  # terms of reference: [] leaves the section out
        "4.\tPOLICE AND CRIME PLAN 2021-24 THEMES",
        "5.\tMONITORING DELIVERY OF THE PLAN",
        "6.\tBACKGROUND DOCUMENTS",
    ]
    assert _headings(doc, 2)[0] == "4.1\tPutting Communities First – Priorities for Action"
    assert "3.2\t<w:p/> {{ 7*7 }} & more" in lines  # literal, never markup
    assert "6.1\tPolice and Crime Commissioner's 'Police and Crime Plan 2021-24'" in lines
    again = import_plan(digest_store, parse_plan(text), today=dt.date(2022, 9, 14))
    assert "paper:" not in again.text


def test_a_papers_own_yaml_goes_over_the_plan_files(digest_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "sept-2022.yaml"
    path.write_text("agenda_item: 9\ndate: 2022-09-21\nmonitoring: []\n", encoding="utf-8")
    doc = _paper(digest_store, load_paper(path).over(stored_wording(digest_store)))
    lines = [p.text for p in doc.paragraphs]
    assert lines[:2] == [
        "POLICE AND CRIME PANEL\tAgenda Item No. 9",
        "21 September 2022\tPublic Report",
    ]
    assert _headings(doc, 1)[-2:] == [
        "5.\tPOLICE AND CRIME PLAN 2021-24 THEMES",
        "6.\tBACKGROUND DOCUMENTS",
    ]


def test_paper_wording_errors_name_the_line(tmp_path: Path, example_plan: Path) -> None:
    bad = "\npaper:\n  panel: [not, text]\n  purpose: {a: b}\n  agenda: 8\n"
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(example_plan.read_text(encoding="utf-8") + bad, filename="plan.yaml")
    lines = example_plan.read_text(encoding="utf-8").count("\n")
    assert [str(e) for e in caught.value.errors] == [
        f"plan.yaml:{lines + 5}: paper.agenda: unknown field; expected one of "
        "agenda_item, background, background_documents, classification, contact_details, "
        "contact_officer, date, monitoring, panel, purpose, recommendations, report_of, "
        "terms_of_reference, themes_title, title",
        f"plan.yaml:{lines + 3}: paper.panel: must be text",
        f"plan.yaml:{lines + 4}: paper.purpose: must be a paragraph of text or a list of them",
    ]


def _fonts(docx_bytes: bytes) -> tuple[set[str], set[str]]:
    """Every font named in the document and its styles, and any theme font attributes."""
    names: set[str] = set()
    themes: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as z:
        for part in ("word/styles.xml", "word/document.xml"):
            xml = z.read(part).decode("utf-8")
            for tag in re.findall(r"<w:rFonts [^>]*>", xml):
                names.update(re.findall(r'w:(?:ascii|hAnsi|eastAsia|cs)="([^"]+)"', tag))
                themes.update(re.findall(r'w:(\w+Theme|cstheme)="', tag))
    return names, themes


def test_one_font_family_throughout(digest_store: Store) -> None:
    report = build_report(digest_store, **SEPT)
    whole = render_paper_docx(report, build_paper(digest_store, report))
    for produced in (whole, render_docx(report)):
        names, themes = _fonts(produced)
        assert names == {"Arial"}
        assert themes == set()  # a theme font (Calibri Light for headings) would win over Arial


def _text_width_pt(text: str, size_pt: float) -> float:
    """The label set in DejaVu Sans Bold, which matplotlib ships and which is wider than
    Arial: a label that fits in it fits in Arial."""
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold"))
    font = FT2Font(path)
    font.set_size(size_pt, 72)  # at 72 dpi a pixel is a point
    font.set_text(text)
    return font.get_width_height()[0] / 64


@pytest.mark.parametrize("whole", [True, False], ids=["paper", "section"])
def test_table_headers_never_break_inside_a_word(digest_store: Store, whole: bool) -> None:
    report = build_report(digest_store, **SEPT)
    produced = (
        render_paper_docx(report, build_paper(digest_store, report))
        if whole
        else render_docx(report)
    )
    doc = Document(io.BytesIO(produced))
    (table,) = doc.tables
    margins = re.search(r'<w:tblCellMar>.*?w:w="(\d+)".*?w:w="(\d+)"', table._tbl.xml, re.S)
    twips = (int(margins[1]) + int(margins[2])) if margins else 2 * 108  # Table Grid's own
    padding = Pt(twips / 20)
    header = table.rows[0].cells
    assert [c.text for c in header] == [
        "Month",
        "Complaint",
        "MP",
        "Councillor",
        "Partner",
        "Media",
        "Public",
        "FOI",
        "Total",
    ]
    for cell in header:
        (run,) = cell.paragraphs[0].runs
        assert run.bold and " " not in cell.text
        needed = Emu(Pt(_text_width_pt(cell.text, run.font.size.pt)) + padding)
        assert needed <= Emu(cell.width), f"{cell.text!r} needs {needed.inches:.2f} in"
    section = doc.sections[0]
    assert (
        sum(Emu(c.width) for c in header)
        <= section.page_width - section.left_margin - section.right_margin
    )
    assert [r.cells[0].text for r in table.rows[1:]][:2] == ["Mar 2022", "Apr 2022"]


def test_no_correspondence_is_one_sentence_not_a_table_of_zeros(plan_store: Store) -> None:
    report = build_report(plan_store, **SEPT)
    for produced in (
        render_paper_docx(report, build_paper(plan_store, report)),
        render_docx(report),
    ):
        doc = Document(io.BytesIO(produced))
        assert doc.tables == []
        texts = [p.text for p in doc.paragraphs]
        assert "No correspondence was recorded in the 28 weeks to 14 September 2022." in texts
        assert "Business intelligence information" not in texts


def test_section_only_keeps_the_single_section(digest_store: Store) -> None:
    doc = Document(io.BytesIO(render_docx(build_report(digest_store, **SEPT))))
    assert doc.paragraphs[0].text == "Police and Crime Plan 2021-24 – Delivery update"
    assert _headings(doc, 1)[0] == "5.1\tPutting Communities First – Priorities for Action"
    assert not any("PURPOSE" in h for h in _headings(doc, 1))
