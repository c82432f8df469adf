"""Regenerates digests/templates/report.docx, the default Word template for report drafts.

The template is ordinary Word: the office may restyle it (fonts, numbering, logo, headers)
in Word and keep the {{ }} and {%p %} tags, which docxtpl fills in. Run this only to start
again from the default:  python scripts/make_report_template.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt, RGBColor

from store import CORRESPONDENCE_CATEGORIES

OUT = Path(__file__).resolve().parent.parent / "digests" / "templates" / "report.docx"
CATEGORIES = CORRESPONDENCE_CATEGORIES
HEADERS = ("Complaint", "MP", "Councillor", "Partner", "Media", "Public", "FOI")


def _tag(doc: Document, text: str) -> None:
    doc.add_paragraph(text)


def _list(doc: Document, heading: str, key: str, with_update: bool) -> None:
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


def main() -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4, as UK panel papers
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.54))
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    for name in ("Title", "Heading 1", "Heading 2"):
        # Headings in the document's text colour, not Word's default blue, and kept with
        # the paragraph that follows them.
        style = doc.styles[name]
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.name = "Arial"
        style.paragraph_format.keep_with_next = True
    doc.add_paragraph("{{ report.plan }} – Delivery update", style="Title")
    doc.add_paragraph(
        "{% if report.office %}{{ report.office }}. {% endif %}Report period "
        "{{ period_from }} to {{ period_to }}."
    )
    _tag(doc, "{%p if report.history_note %}")
    doc.add_paragraph().add_run("{{ report.history_note }}").italic = True
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p for theme in report.themes %}")
    doc.add_heading(
        "{{ section }}.{{ loop.index }}\t{{ theme.name }} – Priorities for Action", level=1
    )
    _tag(doc, "{%p if theme.aim %}")
    doc.add_paragraph("What we will do: {{ theme.aim }}")
    _tag(doc, "{%p endif %}")
    _list(doc, "Completed deliverables / activities of note:", "completed", True)
    _list(doc, "Current Deliverables", "current", True)
    _list(doc, "New Deliverables", "new", False)
    _tag(doc, "{%p endfor %}")
    doc.add_heading("{{ section }}.{{ report.themes|length + 1 }}\tCorrespondence", level=1)
    doc.add_paragraph("{{ report.correspondence.paragraph }}")
    doc.add_heading("Business intelligence information", level=2)
    table = doc.add_table(rows=4, cols=len(CATEGORIES) + 2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0].cells
    header[0].text = "Month"
    for i, label in enumerate(HEADERS, start=1):
        header[i].text = label
    header[-1].text = "Total"
    for cell in header:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    table.rows[1].cells[
        0
    ].text = "{%tr for label, counts, total in report.correspondence.all_months %}"
    row = table.rows[2].cells
    row[0].text = "{{ label }}"
    for i in range(len(CATEGORIES)):
        row[i + 1].text = f"{{{{ counts[{i}] }}}}"
    row[-1].text = "{{ total }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    # A4 less 2.54 cm margins leaves 6.27 in: the columns add up to 6.1 in, fixed.
    widths = [Inches(0.8)] + [Inches(0.68)] * len(CATEGORIES) + [Inches(0.54)]
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for table_row in table.rows:
        for cell, width in zip(table_row.cells, widths, strict=True):
            cell.width = width
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
