"""Report drafts against the Forward Plan paper of 14 September 2022."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest

from digests.report import build_report, compose_update_line, render_report
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    record_correspondence,
    record_update,
)
from store import Office, Source, Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")

# (completed, current, new) per theme, counted from the paper's sections 5.1-5.5.
PAPER_COUNTS = {
    "CF": (5, 5, 2),
    "CP": (4, 2, 1),
    "VW": (2, 10, 2),
    "EP": (2, 7, 2),
    "RE": (0, 6, 0),
}


def _report(store: Store, start: str = "2022-03-01", end: str = "2022-09-14"):
    return build_report(
        store,
        day_from=dt.date.fromisoformat(start),
        day_to=dt.date.fromisoformat(end),
        office=Office(tz=LONDON),
    )


def test_example_plan_matches_the_paper(plan_store: Store) -> None:
    report = _report(plan_store)
    assert [t.code for t in report.themes] == list(PAPER_COUNTS)
    counts = {t.code: (len(t.completed), len(t.current), len(t.new)) for t in report.themes}
    assert counts == PAPER_COUNTS
    cf = report.themes[0]
    assert [i.title for i in cf.completed][:3] == [
        "Briefing Pack regarding workings of CSPs for the benefit of councillors for the swift referral and resolution of community concerns",
        "Bolster resources for Community Safety Partnerships (CSPs) through funding Problem Solving Co-ordinators and a new Communities Fund",
        "Business Crime Survey",
    ]
    assert [i.title for i in cf.new] == [
        "Implement Communications and Engagement Tactical Plan 2022/24",
        "Responding to the Police and Crime Commissioner Review: Part 2",
    ]


def test_update_lines_speak_like_the_paper(plan_store: Store) -> None:
    text = render_report(_report(plan_store), "markdown")
    assert (
        "- Business Crime Survey\n"
        "  - **Update:** Activities completed. Business Crime Survey launched. Further engagement "
        "with the Business Community continuing. See deliverable in relation to Business Community Event.\n"
    ) in text
    # The note already names the quarter ("Q2/3, 2023/24"): it is not repeated.
    assert (
        "  - **Update:** Activities ongoing. Structured self-assessment process being progressed. "
        "Submission of assessment against Quality Assurance Framework scheduled for Q2/3, 2023/24.\n"
    ) in text
    assert "  - **Update:** Activities ongoing. Scheduled for completion Q3, 2022/23.\n" in text
    assert "Robust Enforcement – Priorities for Action\n\nWhat we will do: We will ensure" in text
    # Robust Enforcement has no completed or new deliverables: those headings are left out.
    robust = text.split("## Robust Enforcement")[1]
    assert "Completed deliverables" not in robust and "New Deliverables" not in robust


def test_compose_update_line() -> None:
    assert (
        compose_update_line(Status.ONGOING, ["Initial scoping underway"], "Q3 2022/23", True)
        == "Activities ongoing. Initial scoping underway. Scheduled for completion Q3, 2022/23. "
        "Dependencies identified."
    )
    assert compose_update_line(Status.NOT_STARTED, [], "Q3/Q4 2022/23", False) == (
        "Activities not started. Scheduled for start Q3/Q4, 2022/23."
    )
    assert compose_update_line(Status.BAU, ["Assurance in place."], "Q3 2022/23", False) == (
        "Embedded into business as usual. Assurance in place."
    )


def test_completed_before_the_period_is_left_out(plan_store: Store) -> None:
    report = _report(plan_store, "2022-09-01", "2022-12-31")
    cf = report.themes[0]
    assert cf.completed == []
    assert "Business Crime Survey" not in [i.title for i in cf.current]


def test_state_is_as_at_the_end_of_the_period(plan_store: Store, person) -> None:
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="CF-10",
            actor=person("priya.shah@example.org"),
            source=Source.SLACK,
            status=Status.COMPLETED,
            note="Event held.",
            recorded_at=dt.datetime(2022, 10, 20, 9, tzinfo=dt.UTC),
        ),
    )
    before = _report(plan_store)
    assert "Business Community Event" in [i.title for i in before.themes[0].current]
    after = _report(plan_store, "2022-10-01", "2022-12-31")
    done = [i for i in after.themes[0].completed if i.ref == "CF-10"]
    assert done and done[0].update_line == "Activities completed. Event held."


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_user_text_is_inert_in_every_format(plan_store: Store, person, fmt: str) -> None:
    nasty = "<!channel> <script>alert(1)</script> {{ 7*7 }} *bold* [x](http://evil)"
    record_update(
        plan_store,
        UpdateRequest(
            deliverable="CF-9",
            actor=person("priya.shah@example.org"),
            source=Source.SLACK,
            note=nasty,
            recorded_at=dt.datetime(2022, 9, 1, 9, tzinfo=dt.UTC),
        ),
    )
    text = render_report(_report(plan_store), fmt)
    assert "49" not in text.split("Improving Community Engagement")[1][:400]
    if fmt == "text":
        # Plain text is never interpreted: it comes out exactly as typed.
        assert nasty in text
    if fmt == "markdown":
        # Every "<" that could open raw HTML, and every "*" and "[", is backslash-escaped.
        line = next(li for li in text.splitlines() if "alert(1)" in li)
        assert re.search(r"(?<!\\)[<\[]", line) is None, line
        assert r"\<!channel> \<script>alert(1)\</script>" in text
        assert r"\*bold\* \[x](http://evil)" in text
    if fmt == "html":
        assert "<script>" not in text
        assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_correspondence_paragraph(plan_store: Store) -> None:
    for i, cat in enumerate(["public"] * 7 + ["complaint"] * 3 + ["mp"] * 2):
        record_correspondence(
            plan_store,
            CorrespondenceRequest(
                dedup_key=f"k{i}",
                received_on=dt.date(2022, 6, 1) + dt.timedelta(days=i),
                category=cat,
            ),
        )
    report = _report(plan_store, "2022-05-20", "2022-06-30")
    assert report.correspondence.total == 12
    assert report.correspondence.paragraph == (
        "In the 6 weeks to 30 June 2022 the office received 12 pieces of correspondence, on "
        "average 9 per month; 3 were complaints referred to the Constabulary's Professional "
        "Standards Department."
    )
    text = render_report(report, "markdown")
    assert "| Month | complaint | mp | public | Total |" in text
    assert "| June 2022 | 3 | 2 | 7 | 12 |" in text
    assert "| May 2022 | 0 | 0 | 0 | 0 |" in text


def test_no_correspondence(plan_store: Store) -> None:
    assert _report(plan_store).correspondence.paragraph == (
        "No correspondence was recorded in the 28 weeks to 14 September 2022."
    )
