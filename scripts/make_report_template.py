"""Regenerates the Word templates for report drafts, in digests/templates/:

- ``paper.docx``, the whole panel paper: the heading block (panel, date, agenda item, public
  report, report of, contact officer), the title, sections 1–4 and 6–7 from the office's
  wording, and the generated section 5 (``deliverabot report --format docx``);
- ``report.docx``, section 5 alone, for offices that paste it into their own paper
  (``--section-only``).

The templates are ordinary Word: the office may restyle them (fonts, numbering, logo,
headers) in Word and keep the {{ }} and {%p %} tags, which docxtpl fills in. Run this only to
start again from the defaults:  python scripts/make_report_template.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt, RGBColor

from store import CORRESPONDENCE_CATEGORIES

TEMPLATES = Path(__file__).resolve().parent.parent / "digests" / "templates"
FONT = "Arial"  # one family throughout: body, headings, lists and tables
CATEGORIES = CORRESPONDENCE_CATEGORIES
# The business-intelligence table: one word per header cell, each column wide enough for its
# label in bold at HEADER_PT, so Word never breaks a label inside a word ("Complain/t").
# The widths add up to 6.2 in, within the 6.27 in between A4's 2.54 cm margins.
HEADER_PT = 8
COLUMNS = (
    ("Month", 0.8),
    ("Complaint", 0.85),
    ("MP", 0.5),
    ("Councillor", 0.9),
    ("Partner", 0.7),
    ("Media", 0.6),
    ("Public", 0.65),
    ("FOI", 0.55),
    ("Total", 0.65),
)
CELL_MARGIN_TWIPS = 80  # left and right, set explicitly so the fit can be checked


def _tag(doc: DocumentObject, text: str) -> None:
    doc.add_paragraph(text)


def _one_font(doc: DocumentObject) -> None:
    """Every style, and the document defaults, in FONT: the theme fonts (Calibri, Calibri
    Light for headings) are removed, or Word would still use them."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    if defaults.find(qn("w:rFonts")) is None:
        defaults.insert(0, OxmlElement("w:rFonts"))
    for fonts in styles.iter(qn("w:rFonts")):  # styles, table styles' rows, defaults
        for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
            fonts.attrib.pop(qn(f"w:{attr}"), None)
        for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
            fonts.set(qn(f"w:{attr}"), FONT)


def _styles(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4, as UK panel papers
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.54))
    doc.styles["Normal"].font.size = Pt(11)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        # Headings in the document's text colour, not Word's default blue, and kept with
        # the paragraph that follows them.
        style = doc.styles[name]
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.keep_with_next = True
    doc.styles["Title"].font.size = Pt(13)
    doc.styles["Title"].font.bold = True
    doc.styles["Heading 1"].font.size = Pt(12)
    doc.styles["Heading 2"].font.size = Pt(11)
    doc.styles["Heading 3"].font.size = Pt(11)
    _one_font(doc)


def _list(doc: DocumentObject, heading: str, key: str, with_update: bool) -> None:
    _tag(doc, f"{{%p if theme.{key} %}}")
    p = doc.add_paragraph()
    p.paragraph_format.keep_with_next = True  # never a heading alone at the foot of a page
    run = p.add_run(heading)
    run.bold = True
    run.underline = True
    _tag(doc, f"{{%p for item in theme.{key} %}}")
    title = doc.add_paragraph("{{ item.title }}", style="List Bullet")
    title.paragraph_format.keep_with_next = True
    if with_update:
        p = doc.add_paragraph(style="List Bullet 2")
        p.add_run("Update: ").bold = True
        p.add_run("{{ item.update_line }}")
    else:
        _tag(doc, "{%p if item.new_line %}")
        doc.add_paragraph("{{ item.new_line }}", style="List Continue")
        _tag(doc, "{%p endif %}")
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endif %}")


def _fixed_widths(table: object, widths: list[int]) -> None:
    tbl = table._tbl  # type: ignore[attr-defined]
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl.tblPr.append(layout)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), str(CELL_MARGIN_TWIPS))
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    tbl.tblPr.append(margins)
    for column, width in zip(table.columns, widths, strict=True):  # type: ignore[attr-defined]
        column.width = width
    for row in table.rows:  # type: ignore[attr-defined]
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _bi_table(doc: DocumentObject, level: int) -> None:
    """Correspondence by category and month; with no correspondence, the paragraph above
    says so in one sentence and there is no table of zeros."""
    _tag(doc, "{%p if report.correspondence.total %}")
    doc.add_heading("Business intelligence information", level=level)
    table = doc.add_table(rows=4, cols=len(COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0].cells
    for cell, (label, _width) in zip(header, COLUMNS, strict=True):
        cell.text = label
        cell.paragraphs[0].runs[0].bold = True
    table.rows[1].cells[
        0
    ].text = "{%tr for label, counts, total in report.correspondence.all_months %}"
    row = table.rows[2].cells
    row[0].text = "{{ label }}"
    for i in range(len(CATEGORIES)):
        row[i + 1].text = f"{{{{ counts[{i}] }}}}"
    row[-1].text = "{{ total }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    _fixed_widths(table, [Inches(w) for _label, w in COLUMNS])
    for table_row in table.rows:
        for cell in table_row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.space_after = Pt(0)
                for run in paragraph.runs:
                    run.font.size = Pt(HEADER_PT)
    _tag(doc, "{%p endif %}")


def _themes(doc: DocumentObject, level: int) -> None:
    """Section 5: the themes, then correspondence; ``section`` is its number, and its
    subsections are headings of ``level``."""
    _tag(doc, "{%p for theme in report.themes %}")
    doc.add_heading(
        "{{ section }}.{{ loop.index }}\t{{ theme.name }} – Priorities for Action", level=level
    )
    _tag(doc, "{%p if theme.aim %}")
    doc.add_paragraph("What we will do: {{ theme.aim }}")
    _tag(doc, "{%p endif %}")
    _list(doc, "Completed deliverables / activities of note:", "completed", True)
    _list(doc, "Current Deliverables", "current", True)
    _list(doc, "New Deliverables", "new", False)
    _tag(doc, "{%p endfor %}")
    doc.add_heading("{{ section }}.{{ report.themes|length + 1 }}\tCorrespondence", level=level)
    doc.add_paragraph("{{ report.correspondence.paragraph }}")
    _bi_table(doc, level + 1)


def _history_note(doc: DocumentObject) -> None:
    _tag(doc, "{%p if report.history_note %}")
    doc.add_paragraph().add_run("{{ report.history_note }}").italic = True
    _tag(doc, "{%p endif %}")


def make_section() -> DocumentObject:
    doc = Document()
    _styles(doc)
    doc.add_paragraph("{{ report.plan }} – Delivery update", style="Title")
    doc.add_paragraph(
        "{% if report.office %}{{ report.office }}. {% endif %}Report period "
        "{{ period_from }} to {{ period_to }}."
    )
    _history_note(doc)
    _themes(doc, level=1)
    return doc


def _split_line(doc: DocumentObject, left: str, right: str, *, bold: bool = False) -> None:
    """A heading-block line: text on the left, more on the right margin, as the papers do."""
    p = doc.add_paragraph()
    p.paragraph_format.tab_stops.add_tab_stop(Cm(15.92), WD_TAB_ALIGNMENT.RIGHT)
    p.paragraph_format.space_after = Pt(0)
    p.add_run(left).bold = bold
    p.add_run("\t")
    p.add_run(right).bold = bold


def _hanging(paragraph: object) -> None:
    """The number in the margin, the text aligned after it, as the papers set them."""
    fmt = paragraph.paragraph_format  # type: ignore[attr-defined]
    fmt.left_indent, fmt.first_line_indent = Cm(1.27), Cm(-1.27)
    fmt.tab_stops.add_tab_stop(Cm(1.27))


def _numbered(doc: DocumentObject, loop: str) -> None:
    """Sections of the office's wording: "N.  HEADING", then "N.m  paragraph"."""
    _tag(doc, f"{{%p for s in {loop} %}}")
    _hanging(doc.add_heading("{{ s.number }}.\t{{ s.heading }}", level=1))
    _tag(doc, "{%p for number, text in s.paragraphs %}")
    _hanging(doc.add_paragraph("{{ number }}\t{{ text }}"))
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endfor %}")


def make_paper() -> DocumentObject:
    doc = Document()
    _styles(doc)
    _split_line(doc, "{{ paper.panel }}", "Agenda Item No. {{ paper.agenda_item }}", bold=True)
    _split_line(doc, "{{ paper.date }}", "{{ paper.classification }}", bold=True)
    doc.add_paragraph()
    doc.add_paragraph("{{ paper.report_of }}")
    doc.add_paragraph("Contact Officer – {{ paper.contact_officer }}")
    _tag(doc, "{%p if paper.contact_details %}")
    doc.add_paragraph("Contact Details – {{ paper.contact_details }}")
    _tag(doc, "{%p endif %}")
    doc.add_paragraph("{{ paper.title }}", style="Title")
    _history_note(doc)
    _numbered(doc, "paper.before")
    _hanging(doc.add_heading("{{ section }}.\t{{ paper.themes_title }}", level=1))
    _themes(doc, level=2)
    _numbered(doc, "paper.after")
    return doc


def main() -> None:
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    for name, doc in (("report.docx", make_section()), ("paper.docx", make_paper())):
        out = TEMPLATES / name
        doc.save(str(out))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
