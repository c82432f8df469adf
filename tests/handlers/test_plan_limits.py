"""Plan files and spreadsheets are read within limits: file size, rows, cell and field length,
no YAML aliases, no duplicate keys, and zip entries checked before anything is inflated.
Every refusal is one line naming the file, the line or row, and the limit."""

from __future__ import annotations

import csv
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from big_plan import big_plan_csv
from bombs import MiB, xlsx_huge_cell, xlsx_many_entries, xlsx_zip_bomb, yaml_alias_bomb
from openpyxl import Workbook

from handlers.plan import PlanInvalid, load_plan, parse_plan
from handlers.plan_table import load_plan_file

PLAN = """\
plan: Test Plan
people:
  - {name: Jane Doe, email: jane@example.org}
themes:
  - code: CF
    name: Communities
    deliverables:
      - title: Business Crime Survey
        status: ongoing
        owner: jane@example.org
"""


def _errors(exc: pytest.ExceptionInfo[PlanInvalid]) -> list[str]:
    return [str(e) for e in exc.value.errors]


@pytest.mark.parametrize("field", ["added", "start"])
def test_yaml_aliases_are_refused_before_they_expand(field: str) -> None:
    with pytest.raises(PlanInvalid) as err:
        parse_plan(yaml_alias_bomb(field, levels=4), filename="bomb.yaml")
    [line] = _errors(err)
    assert line.startswith("bomb.yaml:") and "alias" in line, line[:300]
    assert len(line) < 200  # the expansion is never built, so never printed


def test_deep_nesting_is_one_line_not_a_recursion_error() -> None:
    with pytest.raises(PlanInvalid) as err:
        parse_plan("plan: x\nthemes: " + "[" * 5000 + "]" * 5000 + "\n", filename="deep.yaml")
    [line] = _errors(err)
    assert line.startswith("deep.yaml:2: yaml:") and "nest" in line, line


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    doubled = PLAN.replace(
        "        status: ongoing\n", "        status: ongoing\n        status: completed\n"
    )
    doubled += "themes:\n  - {code: VW, name: Victims}\n"
    with pytest.raises(PlanInvalid) as err:
        parse_plan(doubled, filename="p.yaml")
    assert _errors(err) == [
        "p.yaml:10: status: duplicate key (first on line 9); a mapping may name each key once",
        "p.yaml:12: themes: duplicate key (first on line 4); a mapping may name each key once",
    ]


def test_titles_notes_and_other_fields_have_the_limits_of_slack_and_mail() -> None:
    ok = PLAN.replace("Business Crime Survey", "T" * 300) + f"        note: {'n' * 3000}\n"
    spec = parse_plan(ok)
    assert len(spec.themes[0].deliverables[0].title) == 300
    long = PLAN.replace("Business Crime Survey", "T" * 301) + f"        note: {'n' * 3001}\n"
    long = long.replace("name: Communities", f"name: {'C' * 20_000}")
    with pytest.raises(PlanInvalid) as err:
        parse_plan(long, filename="p.yaml")
    assert _errors(err) == [
        "p.yaml:6: themes[0].name: 20,000 characters; the limit is 300",
        "p.yaml:8: CF.deliverables[0].title: 301 characters; the limit is 300",
        "p.yaml:11: CF.deliverables[0].note: 3,001 characters; the limit is 3,000",
    ]


def test_a_file_over_max_plan_bytes_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(PLAN + "# " + "x" * (5 * MiB) + "\n")
    with pytest.raises(PlanInvalid) as err:
        load_plan(path)
    [line] = _errors(err)
    assert line == (
        f"{path}:0: file: {path.stat().st_size:,} bytes; the limit is {5 * MiB:,} (MAX_PLAN_BYTES)"
    )


def test_a_plan_of_more_than_10000_rows_is_refused(tmp_path: Path) -> None:
    items = "".join(f"      - {{title: D{i}}}\n" for i in range(10_001))
    path = tmp_path / "rows.yaml"
    path.write_text(PLAN.split("      - title")[0] + items)
    with pytest.raises(PlanInvalid) as err:
        load_plan(path)
    [line] = _errors(err)
    assert (
        line == f"{path}:10008: CF.deliverables[10000]: more than 10,000 rows; the limit is 10,000"
    )
    sheet = tmp_path / "rows.csv"
    sheet.write_text(big_plan_csv(10_001))
    with pytest.raises(PlanInvalid) as err:
        load_plan_file(sheet)
    assert _errors(err) == [f"{sheet}:10002: rows: more than 10,000 rows; the limit is 10,000"]


def test_a_long_csv_cell_is_refused_by_row_and_column(tmp_path: Path) -> None:
    sheet = tmp_path / "plan.csv"
    with sheet.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "title", "theme", "theme_code", "status", "owner_email", "note"])
        w.writerow(["CF-1", "Survey", "Communities", "CF", "ongoing", "jane@example.org", "ok"])
        w.writerow(
            ["CF-2", "Event", "Communities", "CF", "ongoing", "jane@example.org", "n" * 200_000]
        )
    with pytest.raises(PlanInvalid) as err:
        load_plan_file(sheet)
    assert _errors(err) == [
        f"{sheet}:3: note: more than 3,000 characters in one cell; the limit is 3,000"
    ]


def _workbook(path: Path, title: str) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["ref", "title", "theme", "theme_code", "status", "owner_email"])
    sheet.append(["CF-1", title, "Communities", "CF", "ongoing", "jane@example.org"])
    book.save(path)
    return path


def test_a_long_xlsx_cell_is_refused_by_row_and_column(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "plan.xlsx", "T" * 5000)
    with pytest.raises(PlanInvalid) as err:
        load_plan_file(path)
    assert _errors(err) == [
        f"{path}:2: title: more than 3,000 characters in one cell; the limit is 3,000"
    ]
    path = _workbook(tmp_path / "plan2.xlsx", "T" * 400)
    with pytest.raises(PlanInvalid) as err:
        load_plan_file(path)
    assert _errors(err) == [f"{path}:2: CF.deliverables[0].title: 400 characters; the limit is 300"]


def _refused_in_memory(path: Path, budget: int) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(PlanInvalid) as err:
            load_plan_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < budget, f"{peak:,} bytes allocated to refuse {path.name}"
    [line] = _errors(err)
    return line


def test_a_giant_shared_string_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = xlsx_huge_cell(tmp_path / "huge.xlsx", chars=64 * MiB)
    line = _refused_in_memory(path, 8 * MiB)
    assert line.startswith(f"{path}:0: xl/sharedStrings.xml: inflates to 67,109,") and (
        "the limit is 20,971,520 (4 x MAX_PLAN_BYTES)" in line
    ), line


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = xlsx_zip_bomb(tmp_path / "bomb.xlsx", inflated=300 * MiB)
    line = _refused_in_memory(path, 8 * MiB)
    assert line.startswith(f"{path}:0: xl/worksheets/sheet1.xml: inflates to 31") and (
        "the limit is 104,857,600 (20 x MAX_PLAN_BYTES)" in line
    ), line


def test_a_zip_of_many_entries_is_refused(tmp_path: Path) -> None:
    path = xlsx_many_entries(tmp_path / "many.xlsx", entries=2000)
    with zipfile.ZipFile(path) as z:
        count = len(z.infolist())
    line = _refused_in_memory(path, 16 * MiB)
    assert line == f"{path}:0: file: {count:,} entries in the zip; the limit is 1,000"


def test_an_impossible_date_is_an_error_on_its_line_not_a_traceback() -> None:
    with pytest.raises(PlanInvalid) as err:
        parse_plan(PLAN + "        added: 2022-13-01\n", filename="p.yaml")
    assert _errors(err) == [
        "p.yaml:11: CF.deliverables[0].added: '2022-13-01' is not a date (YYYY-MM-DD)"
    ]


def test_long_values_are_cut_short_in_error_lines() -> None:
    text = PLAN + f"        added: {'9' * 100_000}\n        ? {'k' * 100_000}\n        : v\n"
    with pytest.raises(PlanInvalid) as err:
        parse_plan(text, filename="p.yaml")
    lines = _errors(err)
    assert len(lines) == 2 and all(len(line) < 200 for line in lines), [x[:300] for x in lines]
    assert lines[0].startswith("p.yaml:12: CF.deliverables[0].kkkk") and "unknown field" in lines[0]
    assert lines[1].startswith("p.yaml:11: CF.deliverables[0].added: '9999") and lines[1].endswith(
        "…' is not a date (YYYY-MM-DD)"
    )
