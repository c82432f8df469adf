"""The plan's glossary: in the YAML file (``glossary:``) and a "Glossary" sheet in the
spreadsheet; checked with line numbers, stored, kept when a file has none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digests.plan_table import plan_rows, to_xlsx
from handlers.plan import PlanInvalid, parse_plan
from handlers.plan_table import load_plan_file
from handlers.service import import_plan
from store import Store

BASE = """\
plan: P
people: [{name: Jane Doe, email: jane@example.org}]
themes:
  - code: CF
    name: Communities
    deliverables:
      - {title: Survey, status: ongoing, owner: jane@example.org}
"""


def test_the_glossary_is_read_and_stored(fresh_store: Store) -> None:
    spec = parse_plan(BASE + "glossary:\n  w/: with\n  ECRC: Eastern Cyber  Resilience Centre\n")
    assert spec.glossary == {"w/": "with", "ECRC": "Eastern Cyber Resilience Centre"}
    summary = import_plan(fresh_store, spec, today=dt.date(2022, 3, 1))
    assert fresh_store.glossary() == spec.glossary
    # A file without a glossary keeps the stored one; a changed one replaces it.
    import_plan(fresh_store, parse_plan(BASE), today=dt.date(2022, 3, 2))
    assert fresh_store.glossary() == spec.glossary
    changed = import_plan(
        fresh_store,
        parse_plan(BASE + "glossary: {cllrs: councillors}\n"),
        today=dt.date(2022, 3, 3),
    )
    assert fresh_store.glossary() == {"cllrs": "councillors"}
    assert "glossary: 1 term(s)" in changed.text and "glossary" not in summary.text


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("glossary: [w/, with]\n", "glossary: must be a mapping"),
        ("glossary:\n  w/: [with]\n", "glossary.w/: needs its words"),
        ("glossary:\n  no: number\n", "put the term in quotes"),
        ("glossary:\n  two words: x\n", "a term is one word"),
    ],
)
def test_a_bad_glossary_is_refused_with_its_line(tail: str, message: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(BASE + tail, filename="plan.yaml")
    text = str(caught.value)
    assert message in text and ("plan.yaml:8" in text or "plan.yaml:9" in text), text


def test_the_spreadsheet_has_a_glossary_sheet_both_ways(fresh_store: Store, tmp_path: Path) -> None:
    import zoneinfo

    from openpyxl import load_workbook

    spec = parse_plan(BASE + "glossary:\n  w/: with\n  '=cmd': not a formula\n")
    import_plan(fresh_store, spec, today=dt.date(2022, 3, 1))
    tz = zoneinfo.ZoneInfo("Europe/London")
    sheet = tmp_path / "plan.xlsx"
    sheet.write_bytes(to_xlsx(fresh_store, plan_rows(fresh_store, tz), tz))
    rows = list(load_workbook(sheet)["Glossary"].values)
    assert rows == [("term", "expansion"), ("w/", "with"), ("'=cmd", "not a formula")]
    again = load_plan_file(sheet, plan="P")
    assert again.glossary == {"w/": "with", "=cmd": "not a formula"}
