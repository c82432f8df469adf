"""`deliverabot round …` and `report --round` in process (click's CliRunner), on a real
SQLite file, without Slack: every owner is asked by mail (to the outbox)."""

from __future__ import annotations

import datetime as dt
import email
import io
import json
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from handlers.plan import load_plan
from handlers.service import UpdateRequest, import_plan, record_update
from handlers.service.round import approve_line, edit_line
from store import Source, Status, open_store

TODAY = dt.datetime.now(dt.UTC).date()
DUE, PANEL = TODAY + dt.timedelta(days=7), TODAY + dt.timedelta(days=14)
OPEN = [
    "round",
    "open",
    "sept-2022",
    "--from",
    "2022-03-01",
    "--to",
    "2022-09-14",
    "--panel",
    PANEL.isoformat(),
    "--due",
    DUE.isoformat(),
]


@pytest.fixture
def db(tmp_path: Path, example_plan: Path) -> Path:
    path = tmp_path / "cli.db"
    store = open_store(path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    store.close()
    return path


def run(db: Path, tmp_path: Path, *args: str, as_: str = "alex.morgan@example.org") -> Result:
    env = {"OUTBOX_DIR": str(tmp_path / "outbox"), "DELIVERABOT_AS": as_}
    return CliRunner().invoke(cli, [*args, "--db", str(db)], env=env, catch_exceptions=False)


def _mails(tmp_path: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=default_policy)  # type: ignore[misc]
        for p in sorted((tmp_path / "outbox").glob("*.eml"))
    ]


def _owners_answer(db: Path) -> None:
    store = open_store(db)
    now = dt.datetime.now(dt.UTC)
    priya = store.person_by_email("priya.shah@example.org")
    tom = store.person_by_email("tom.fletcher@example.org")
    assert priya and tom
    approve_line(store, "sept-2022", ref="CF-3", actor=priya, now=now, source="email")
    edit_line(
        store,
        "sept-2022",
        ref="CP-3",
        actor=tom,
        text="Safer Streets bid submitted in July.",
        now=now,
        source=Source.EMAIL,
        key="m1",
    )
    store.close()


def test_open_status_return_and_the_paper(db: Path, tmp_path: Path) -> None:
    opened = run(db, tmp_path, *OPEN)
    assert opened.exit_code == 0, opened.output
    assert f"opened round sept-2022: 50 lines, 6 owners, due {DUE}" in opened.output
    assert len(_mails(tmp_path)) == 6  # no Slack here: everyone by mail, once
    assert run(db, tmp_path, "round", "send").output == "nothing owed\n"
    refused = run(db, tmp_path, *OPEN)
    assert refused.exit_code == 1 and "A round called sept-2022 exists already" in refused.output
    by_staff = run(db, tmp_path, *OPEN[:2], "other", *OPEN[3:], as_="priya.shah@example.org")
    assert by_staff.exit_code == 1
    assert "Only an editor or admin can open a round." in by_staff.output

    _owners_answer(db)
    status = json.loads(run(db, tmp_path, "round", "status", "sept-2022", "--json").output)
    assert status["totals"] == {
        "approved": 1,
        "edited": 1,
        "pending": 48,
        "not_mine": 0,
        "total": 50,
    }
    tom = next(o for o in status["by_owner"] if o["owner"] == "Tom Fletcher")
    assert (tom["edited"], tom["pending"]) == (1, 6)
    cp = next(t for t in status["by_theme"] if t["theme"] == "CP")
    assert (cp["name"], cp["edited"], cp["total"]) == ("Crime Prevention", 1, 7)
    text = run(db, tmp_path, "round", "status").output  # the one open round
    assert text.startswith("Round sept-2022: 1 March 2022 to 14 September 2022")
    assert "CP-3    edited    Tom Fletcher by Tom Fletcher" in text

    strict = run(db, tmp_path, "report", "--round", "sept-2022", "--strict")
    assert strict.exit_code == 1
    assert "round sept-2022: 48 line(s) not approved yet (CF-1, CF-2, CF-4," in strict.output
    paper = run(db, tmp_path, "report", "--round", "sept-2022")
    assert paper.exit_code == 0
    assert paper.stdout.count("<!-- [draft] not yet approved by its owner -->") == 48
    assert "  - **Update:** Safer Streets bid submitted in July.\n" in paper.stdout
    assert "48 line(s) marked [draft]" in paper.stderr

    back = run(
        db, tmp_path, "round", "return", "sept-2022", "CF-3", "please add the funding figure"
    )
    assert back.exit_code == 0 and "returned CF-3 to Priya Shah" in back.output
    again = _mails(tmp_path)[-1]
    assert again["To"] == "priya.shah@example.org"
    assert "Alex Morgan asks: please add the funding figure" in again.get_content()
    moved = run(db, tmp_path, "round", "reassign", "sept-2022", "CF-9", "sam.lee@example.org")
    assert moved.exit_code == 0 and "CF-9 is Sam Lee's now" in moved.output
    asked = _mails(tmp_path)[-1]
    assert (
        asked["To"] == "sam.lee@example.org"
        and "CF-9  Improving Community Engagement" in asked.get_content()
    )


def test_close_freezes_the_paper_so_it_rebuilds_exactly(db: Path, tmp_path: Path) -> None:
    assert run(db, tmp_path, *OPEN, "--no-send").exit_code == 0
    _owners_answer(db)
    before = run(db, tmp_path, "report", "--round", "sept-2022").stdout
    closed = run(db, tmp_path, "round", "close", "sept-2022")
    assert closed.exit_code == 0
    assert "closed round sept-2022: 2 of 50 lines approved or edited" in closed.output
    # Later updates change today's draft, never the closed round's paper.
    store = open_store(db)
    record_update(
        store,
        UpdateRequest(
            deliverable="CF-10",
            actor=store.person_by_email("priya.shah@example.org"),  # type: ignore[arg-type]
            source=Source.CLI,
            note="Event moved to the spring.",
            status=Status.ON_HOLD,
            recorded_at=dt.datetime(2022, 9, 13, 12, tzinfo=dt.UTC),
        ),
    )
    store.close()
    assert run(db, tmp_path, "report", "--round", "sept-2022").stdout == before
    since = run(db, tmp_path, "report", "--since-snapshot", "sept-2022")
    assert "CF-10 Business Community Event: ongoing → on-hold" in since.output
    late = run(db, tmp_path, "round", "return", "sept-2022", "CF-3", "more please")
    assert late.exit_code == 1
    assert "The round sept-2022 closed on" in late.output and "nothing was changed" in late.output


def test_the_word_paper_highlights_each_draft_line(db: Path, tmp_path: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX

    assert run(db, tmp_path, *OPEN, "--no-send").exit_code == 0
    _owners_answer(db)
    out = tmp_path / "paper.docx"
    assert (
        run(
            db, tmp_path, "report", "--round", "sept-2022", "--format", "docx", "-o", str(out)
        ).exit_code
        == 0
    )
    doc = Document(io.BytesIO(out.read_bytes()))
    updates = [p for p in doc.paragraphs if p.text.startswith("Update:")]
    marked = [p for p in updates if p.text.startswith("Update: [draft] ")]
    assert len(updates) - len(marked) == 2  # CF-3 and CP-3, as their owners settled them
    for p in marked:
        mark = next(r for r in p.runs if r.text == "[draft]")
        assert mark.font.highlight_color == WD_COLOR_INDEX.YELLOW and mark.bold
    assert any(p.text == "Update: Safer Streets bid submitted in July." for p in updates)
