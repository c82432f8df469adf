"""The draft reads like staff wrote it: nothing said twice, the summary note, new items'
explanatory lines, one paragraph per note, and a Word file that needs no hand edits."""

from __future__ import annotations

import datetime as dt
import io
import json
import zoneinfo
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Emu

from digests.report import (
    build_report,
    choose_notes,
    compose_update_line,
    render_docx,
    render_report,
)
from handlers.plan import parse_plan
from handlers.service import UpdateRequest, import_plan, record_update
from store import Office, Source, Status, Store, Update

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _report(store: Store, start: str = "2022-03-01", end: str = "2022-09-14", **kw):
    return build_report(
        store,
        day_from=dt.date.fromisoformat(start),
        day_to=dt.date.fromisoformat(end),
        office=Office(tz=LONDON),
        **kw,
    )


def _item(report, title: str):
    for theme in report.themes:
        for item in (*theme.completed, *theme.current, *theme.new):
            if item.title == title:
                return item
    raise AssertionError(title)


def test_status_words_are_not_repeated_when_the_note_says_them(plan_store: Store) -> None:
    text = render_report(_report(plan_store), "markdown")
    assert "On hold. Recruitment on hold" not in text
    assert (
        "  - **Update:** Recruitment on hold whilst business model reviewed during Q2, 2022/23.\n"
        in text
    )
    assert "Activities ongoing. Initial scoping was undertaken" not in text
    assert compose_update_line(
        Status.ONGOING, ["Activities ongoing with partners"], None, False
    ) == ("Activities ongoing with partners.")
    # "Bid completed" does not say the activities are: the wording stays.
    assert compose_update_line(Status.COMPLETED, ["Bid completed"], None, False) == (
        "Activities completed. Bid completed."
    )


@pytest.mark.parametrize(
    "note",
    ["Will revisit engagement Q3/4.", "Moves to Q3/Q4, 2022/23.", "Planned for Q3 - Q4 2022/23"],
)
def test_the_due_quarter_is_not_repeated_in_another_form(note: str) -> None:
    line = compose_update_line(Status.ONGOING, [note], "Q3/Q4 2022/23", False)
    assert "Scheduled for completion" not in line, line


def test_a_different_quarter_in_the_note_still_gets_the_due_line() -> None:
    line = compose_update_line(Status.ONGOING, ["Slipped from Q2."], "Q3/Q4 2022/23", False)
    assert line.endswith("Scheduled for completion Q3/Q4, 2022/23.")


def _weekly_notes(store: Store, person, summary_at: int | None = None) -> None:
    jane = person("jane.doe@example.org") if False else None  # noqa: F841 (readability)
    owner = store.deliverable_by_ref("CF-7")
    assert owner is not None
    actor = store.person(owner.owner_id)
    for week in range(6):
        record_update(
            store,
            UpdateRequest(
                deliverable="CF-7",
                actor=actor,
                source=Source.SLACK,
                note=f"Week {week} progress.",
                summary=summary_at == week,
                recorded_at=dt.datetime(2022, 8, 1, 9, tzinfo=dt.UTC) + dt.timedelta(weeks=week),
            ),
        )


def test_the_latest_note_is_the_summary_by_default(plan_store: Store, person) -> None:
    _weekly_notes(plan_store, person)
    title = plan_store.deliverable_by_ref("CF-7").title
    latest = _item(_report(plan_store), title)
    assert latest.notes == ("Week 5 progress.",)
    assert "Week 4" not in latest.update_line
    everything = _item(_report(plan_store, notes="all"), title)
    assert [n for n in everything.notes if n.startswith("Week")] == [
        f"Week {i} progress." for i in range(6)
    ]


def test_a_note_marked_as_the_summary_wins(plan_store: Store, person) -> None:
    _weekly_notes(plan_store, person, summary_at=2)
    title = plan_store.deliverable_by_ref("CF-7").title
    item = _item(_report(plan_store), title)
    assert item.notes == ("Week 2 progress.",)
    assert "Week 2 progress." in render_report(_report(plan_store), "markdown")


def test_choose_notes_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError):
        choose_notes([], "some")


def test_summary_flag_in_the_plan_file(fresh_store: Store) -> None:
    spec = parse_plan(
        "plan: P\npeople: [{name: A, email: a@example.org}]\nthemes:\n"
        "  - code: CF\n    name: Communities\n    deliverables:\n"
        "      - {title: Survey, status: ongoing, owner: a@example.org, updated: 2022-05-01,\n"
        "         note: Survey live with 120 replies., summary: true}\n"
    )
    import_plan(fresh_store, spec, today=dt.date(2022, 5, 2))
    rows = fresh_store.updates()
    assert rows[0].summary is True
    a = fresh_store.person_by_email("a@example.org")
    record_update(
        fresh_store,
        UpdateRequest(
            deliverable="CF-1",
            actor=a,
            source=Source.SLACK,
            note="Chased two late replies.",
            recorded_at=dt.datetime(2022, 5, 10, tzinfo=dt.UTC),
        ),
    )
    item = _item(_report(fresh_store, "2022-04-01", "2022-06-30"), "Survey")
    assert item.notes == ("Survey live with 120 replies.",)


def test_a_new_deliverable_keeps_its_explanatory_line(plan_store: Store) -> None:
    text = render_report(_report(plan_store), "markdown")
    assert (
        "- Responding to the Police and Crime Commissioner Review: Part 2\n"
        "  Recommendation: Review of CSPs. Number of dependencies identified."
    ) in text
    html = render_report(_report(plan_store), "html")
    assert "Part 2<br>Recommendation: Review of CSPs." in html


def test_a_note_with_line_breaks_is_one_paragraph_in_every_format(
    plan_store: Store, tmp_path: Path
) -> None:
    cf10 = plan_store.deliverable_by_ref("CF-10")
    actor = plan_store.person(cf10.owner_id)
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="CF-10",
            actor=actor,
            source=Source.SLACK,
            note="Venue booked.\n- Fake bullet\n# Fake heading\r\n\r\n* another",
            recorded_at=dt.datetime(2022, 9, 12, 9, tzinfo=dt.UTC),
        ),
    )
    report = _report(plan_store)
    for fmt in ("markdown", "text"):
        text = render_report(report, fmt)
        assert "\n- Fake bullet" not in text and "\n# Fake heading" not in text
        assert "\n* another" not in text
        line = next(li for li in text.splitlines() if "Venue booked." in li)
        assert "Fake bullet" in line and "another" in line
    doc = Document(io.BytesIO(render_docx(report)))
    paragraph = next(p for p in doc.paragraphs if "Venue booked." in p.text)
    assert "Fake heading" in paragraph.text and "\n" not in paragraph.text
    assert "w:br" not in paragraph._p.xml


def test_word_draft_needs_no_hand_edits(digest_store: Store) -> None:
    doc = Document(io.BytesIO(render_docx(_report(digest_store))))  # with letters: a table
    for name in ("Heading 1", "Heading 2", "Title"):
        style = doc.styles[name]
        assert str(style.font.color.rgb) == "000000", name  # not Word's default blue
        assert style.paragraph_format.keep_with_next, name
    kept = [p for p in doc.paragraphs if p.text == "Current Deliverables"]
    assert kept and all(p.paragraph_format.keep_with_next for p in kept)
    section = doc.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    table = doc.tables[0]
    assert sum(Emu(c.width) for c in table.columns) <= text_width
    assert 'w:tblLayout w:type="fixed"' in table._tbl.xml


def test_choose_notes_latest_and_all() -> None:
    def u(i: int, note: str, summary: bool = False) -> Update:
        return Update(
            i,
            1,
            None,
            dt.datetime(2022, 1, i, tzinfo=dt.UTC),
            Source.CLI,
            None,
            None,
            None,
            None,
            note,
            summary=summary,
        )

    history = [u(1, "a"), u(2, "b", True), u(3, ""), u(4, "c")]
    assert choose_notes(history) == ("b",)
    assert choose_notes(history[2:]) == ("c",)
    assert choose_notes(history, "all") == ("a", "b", "c")


def test_digest_notes_are_one_paragraph_and_never_ping(plan_store: Store) -> None:
    from digests.digest import build_digest
    from digests.digest_render import render_digest
    from handlers.slack.digest import digest_mrkdwn, slack_message

    cf10 = plan_store.deliverable_by_ref("CF-10")
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="CF-10",
            actor=plan_store.person(cf10.owner_id),
            source=Source.SLACK,
            note="Venue booked @here\n- Fake bullet\n## Fake heading",
            recorded_at=dt.datetime(2022, 9, 12, 9, tzinfo=dt.UTC),
        ),
    )
    digest = build_digest(plan_store, year=2022, week=37, office=Office(tz=LONDON))
    for fmt in ("markdown", "text", "mrkdwn"):
        text = digest_mrkdwn(digest) if fmt == "mrkdwn" else render_digest(digest, fmt)
        assert "\n- Fake bullet" not in text and "\n## Fake heading" not in text, fmt
        line = next(li for li in text.splitlines() if "Venue booked" in li)
        assert "Fake bullet" in line and "Fake heading" in line, fmt
    blocks = json.dumps(slack_message(digest))
    assert "@here" not in blocks and "@\\u2060here" in blocks
