"""The done-when test of issue 16: the six-month case, built from its own data.

The example plan as at 1 March 2022 (``start:`` on the period's first day), then 175 weekly
updates on 49 deliverables typed the way busy staff type (tests/fixtures/six_months), and the
report for 1 March to 14 September 2022 compared with section 5 of the Forward Plan paper.
"""

from __future__ import annotations

import re

import pytest
from paper_checks import (
    abbreviations_left,
    acronyms_not_spelled_out,
    lower_case_starts,
    references,
    repeats,
    sign_offs,
    without_full_stop,
)
from six_months import LONDON, PERIOD, load_six_months, paper_lists, update_rows

from digests.report import Report, build_report, render_report
from digests.report_explain import render_explain
from store import Office, Store


@pytest.fixture(scope="module")
def six_months(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Report]:
    from store import open_store

    store = open_store(tmp_path_factory.mktemp("six") / "six.db")
    load_six_months(store)
    report = build_report(store, day_from=PERIOD[0], day_to=PERIOD[1], office=Office(tz=LONDON))
    return store, report


def _items(report: Report):
    for theme in report.themes:
        for key in ("completed", "current", "new"):
            for item in getattr(theme, key):
                yield key, item


def _update_lines(report: Report) -> list[str]:
    return [item.update_line for key, item in _items(report) if key != "new"]


def _paper(report: Report) -> list[str]:
    """The paper's text in reading order: titles, Update lines, new deliverables' lines."""
    out = []
    for key, item in _items(report):
        out += [item.title, item.new_line if key == "new" else item.update_line]
    return out


def test_the_data_is_six_months_of_weekly_notes() -> None:
    rows = update_rows()
    assert len(rows) >= 150
    assert len({r["ref"] for r in rows}) >= 48
    months = {r["recorded_at"][:7] for r in rows}
    assert months == {f"2022-0{m}" for m in range(3, 10)}


def test_right_list_50_of_50_with_start_on_the_first_day(six_months) -> None:
    _store, report = six_months
    want = paper_lists()
    got = {item.ref: key for key, item in _items(report)}
    wrong = {ref: (got.get(ref), key) for ref, key in want.items() if got.get(ref) != key}
    assert not wrong, wrong
    assert len(got) == 50
    text = render_report(report, "markdown")
    assert text.count("**Current Deliverables**") == 5


def test_every_update_line_reads_like_the_paper(six_months) -> None:
    store, report = six_months
    lines = _update_lines(report)
    glossary = store.glossary()
    assert len(lines) == 43
    assert lower_case_starts(lines) == []
    assert without_full_stop(lines) == []
    assert abbreviations_left(lines, glossary) == []
    assert acronyms_not_spelled_out(_paper(report), glossary) == []
    assert repeats(lines, glossary) == []
    assert sign_offs(lines) == []
    assert references(lines) == []


def test_every_word_comes_from_the_notes_the_glossary_or_the_status_wording(six_months) -> None:
    store, report = six_months
    allowed = " ".join(
        [
            *(r["note"] for r in update_rows()),
            *(f"{t} {e}" for t, e in store.glossary().items()),
            *(d.title for d in store.deliverables()),
            *(u.note for u in store.updates()),
            "Activities not started ongoing completed On hold Embedded into business as usual",
            "Scheduled for completion start Dependencies identified 2022/23 2023/24",
        ]
    ).lower()
    known = set(re.findall(r"[a-z£0-9']+", allowed))
    for line in _update_lines(report):
        for word in re.findall(r"[a-z£0-9']+", line.lower()):
            assert word in known, (word, line)


def test_the_slipped_deliverable_does_not_state_the_superseded_quarter(six_months) -> None:
    store, report = six_months
    item = next(i for _, i in _items(report) if i.ref == "CP-5")
    assert store.deliverable_by_ref("CP-5").due == "Q2 2022/23"  # nobody set due
    assert "Q2" not in item.update_line and "Scheduled for" not in item.update_line
    assert "Slipping to Q3, 2022/23" in item.update_line
    assert any("later than the recorded due Q2 2022/23" in f for f in item.flags)
    explained = render_explain(report)
    assert "- CP-5: the note of 2022-08-04 says Q3 2022/23" in explained


def test_the_fact_the_panel_wants_is_kept_and_chatter_is_not(six_months) -> None:
    _store, report = six_months
    lines = {item.ref: item.update_line for _, item in _items(report)}
    assert "Bid successful. An additional £887,661 secured over 3 years" in lines["VW-2"]
    assert lines["VW-3"] == "Activities ongoing."  # "no change", "ongoing", "as before", "n/c"
    assert "no change" not in " ".join(lines.values()).lower()
    assert lines["CP-3"] == "Activities completed."  # "done." and nothing older
    assert "Alex" not in " ".join(lines.values())
    assert all(len(line.split()) <= 70 for line in lines.values())


def test_explain_says_why_each_line(six_months) -> None:
    _store, report = six_months
    text = render_explain(report)
    assert text.count("    line: ") == 50
    assert "the note marked as the summary for the paper (2022-08-26, Grace Okafor)" in text
    assert "Current: ongoing; the plan's own since 2022-03-01, so never New" in text
    assert "New: added on 2022-07-01, after the plan's start (2022-03-01)" in text
