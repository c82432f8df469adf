"""`deliverabot update` and `deliverabot history import`, run as the installed console script,
and the round trip with `plan export` (issue 16)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli
from openpyxl import load_workbook

from store import open_store


def run(exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``deliverabot ARGS``, in process (``exe`` names the console script it stands for)."""
    return run_cli(env, *args)


@pytest.fixture
def planned(deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path) -> dict[str, str]:
    done = run(deliverabot_exe, cli_env, "plan", "import", str(example_plan))
    assert done.returncode == 0, done.stderr
    return cli_env


def _updates(db: str) -> list[tuple]:
    store = open_store(db)
    try:
        refs = {d.id: d.ref for d in store.deliverables()}
        return [
            (
                refs[u.deliverable_id],
                u.recorded_at,
                u.person_id,
                str(u.source),
                u.status_after,
                u.due_after,
                u.dependencies,
                u.summary,
                u.of_note,
                u.note,
            )
            for u in store.updates()
        ]
    finally:
        store.close()


def test_update_records_in_the_slack_grammar_as_the_named_person(
    deliverabot_exe: str, planned: dict[str, str]
) -> None:
    done = run(
        deliverabot_exe,
        planned,
        "update",
        "CF-10",
        "ongoing",
        "due",
        "Q4",
        "2022/23",
        "deps",
        ":",
        "Slipping to Q4: venue closed",
        "--as",
        "priya.shah@example.org",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "due: Q3 2022/23 -> Q4 2022/23",
        "dependencies: identified",
    ]
    assert "on CF-10 Business Community Event (by Priya Shah)" in done.stdout
    newest = _updates(planned["DELIVERABOT_DB"])[-1]
    assert newest[0] == "CF-10" and newest[3] == "cli"
    assert (newest[5], newest[6], newest[9]) == ("Q4 2022/23", True, "Slipping to Q4: venue closed")
    store = open_store(planned["DELIVERABOT_DB"])
    assert newest[2] == store.person_by_email("priya.shah@example.org").id
    store.close()


def test_update_acts_as_DELIVERABOT_AS_and_never_as_a_guess(
    deliverabot_exe: str, planned: dict[str, str]
) -> None:
    before = len(_updates(planned["DELIVERABOT_DB"]))
    nobody = run(deliverabot_exe, planned, "update", "CF-10", ":", "Venue booked")
    assert nobody.returncode == 1
    assert nobody.stderr.strip() == (
        "deliverabot: say who is recording this: --as EMAIL (a person in the plan), or set "
        "DELIVERABOT_AS=EMAIL in the environment or .env"
    )
    stranger = run(deliverabot_exe, planned, "update", "CF-10", ": x", "--as", "who@example.com")
    assert "--as who@example.com: not a person in the plan" in stranger.stderr
    not_owner = run(
        deliverabot_exe, planned, "update", "VW-4", "done", "--as", "priya.shah@example.org"
    )
    assert not_owner.returncode == 1
    assert (
        not_owner.stderr.strip() == "deliverabot: Only Grace Okafor or an editor can update VW-4."
    )
    bad = run(deliverabot_exe, planned, "update", "CF-10", "sideways", "--as", "x@y")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "I did not understand 'sideways'" in bad.stderr
    assert len(_updates(planned["DELIVERABOT_DB"])) == before
    env = {**planned, "DELIVERABOT_AS": "alex.morgan@example.org"}
    done = run(deliverabot_exe, env, "update", "VW-4", "done:", "Research published")
    assert done.returncode == 0, done.stderr
    assert "(by Alex Morgan)" in done.stdout and "status: Ongoing -> Completed" in done.stdout


def test_history_import_dry_run_then_import_then_again(
    deliverabot_exe: str, planned: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text(
        "date,reference,status,due,note,by\n"
        "2022-09-20,CF-10,completed,,Event held,Priya Shah\n"
        "2022-09-15,CF-10,,Q4 2022/23,slipping to Q4 - waiting on venue,Priya Shah\n",
        encoding="utf-8",
    )
    args = ("history", "import", str(path), "--as", "alex.morgan@example.org")
    before = _updates(planned["DELIVERABOT_DB"])
    dry = run(deliverabot_exe, planned, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "+ row 3: 2022-09-15 CF-10 due Q3 2022/23 → Q4 2022/23",
        "+ row 2: 2022-09-20 CF-10 Ongoing → Completed",
        "2 added, 0 already recorded (skipped)",
        "(dry run: nothing was written)",
    ]
    assert _updates(planned["DELIVERABOT_DB"]) == before
    done = run(deliverabot_exe, planned, *args)
    assert done.stdout.splitlines() == dry.stdout.splitlines()[:-1]
    after = _updates(planned["DELIVERABOT_DB"])
    assert [u[9] for u in after[len(before) :]] == [
        "slipping to Q4 - waiting on venue",
        "Event held",
    ]
    again = run(deliverabot_exe, planned, *args)
    assert again.stdout.strip() == "0 added, 2 already recorded (skipped)"
    assert _updates(planned["DELIVERABOT_DB"]) == after


def test_history_import_errors_name_rows_and_write_nothing(
    deliverabot_exe: str, planned: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text(
        "date,ref,status,note\n2022-09-15,CF-10,finished-ish,x\n2022-09-16,CF-99,,x\n",
        encoding="utf-8",
    )
    before = _updates(planned["DELIVERABOT_DB"])
    done = run(
        deliverabot_exe, planned, "history", "import", str(path), "--as", "alex.morgan@example.org"
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{path}:2: status: unknown status 'finished-ish'; use not-started, ongoing, on-hold, completed, bau",
        "deliverabot: history not imported: 1 error(s); nothing was written",
    ]
    path.write_text("date,ref,note\n2022-09-16,CF-99,x\n", encoding="utf-8")
    done = run(
        deliverabot_exe, planned, "history", "import", str(path), "--as", "alex.morgan@example.org"
    )
    assert done.stderr.splitlines()[0] == (
        f"{path}:2: CF-99: no deliverable has this reference; import the plan first"
    )
    staff = run(
        deliverabot_exe, planned, "history", "import", str(path), "--as", "priya.shah@example.org"
    )
    assert staff.returncode == 1
    assert "only editors and admins may import history" in staff.stderr
    assert _updates(planned["DELIVERABOT_DB"]) == before


def test_plan_export_and_history_import_round_trip(
    deliverabot_exe: str, planned: dict[str, str], example_plan: Path, tmp_path: Path
) -> None:
    as_alex = ("--as", "alex.morgan@example.org")
    for words in (
        ("CF-10", "deps", ":", "Waiting on the venue"),
        ("CF-10", "due", "Q4", "2022/23", "summary", ":", "=Moved to Q4 (venue)"),
        ("CF-9", "no", "deps", "completed", ":", "Software bought"),
    ):
        done = run(deliverabot_exe, planned, "update", *words, *as_alex)
        assert done.returncode == 0, done.stderr
    sheet = tmp_path / "plan.xlsx"
    assert run(deliverabot_exe, planned, "plan", "export", str(sheet)).returncode == 0
    head = next(load_workbook(sheet)["Updates"].iter_rows(values_only=True))
    assert head == (
        "ref",
        "recorded_at",
        "by",
        "source",
        "status",
        "due",
        "dependencies",
        "summary",
        "of_note",
        "note",
    )
    # Into the same database: everything is already there.
    same = run(deliverabot_exe, planned, "history", "import", str(sheet), *as_alex)
    assert (
        same.stdout.strip()
        == f"0 added, {len(_updates(planned['DELIVERABOT_DB']))} already recorded (skipped)"
    )
    # Into a new office with the same plan file: the same history, row for row.
    other = {**planned, "DELIVERABOT_DB": str(tmp_path / "other.db")}
    assert run(deliverabot_exe, other, "plan", "import", str(example_plan)).returncode == 0
    done = run(deliverabot_exe, other, "history", "import", str(sheet), *as_alex)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "3 added, 50 already recorded (skipped)"
    assert _updates(other["DELIVERABOT_DB"]) == _updates(planned["DELIVERABOT_DB"])


def test_report_docx_is_the_whole_paper_or_the_section_alone(
    deliverabot_exe: str, planned: dict[str, str], tmp_path: Path
) -> None:
    import docx

    period = ("report", "--from", "2022-03-01", "--to", "2022-09-14", "--format", "docx")
    wording = tmp_path / "sept-2022.yaml"
    wording.write_text("paper:\n  agenda_item: 8\n  panel: CAMBRIDGESHIRE POLICE AND CRIME PANEL\n")
    whole = run(
        deliverabot_exe, planned, *period, "--paper", str(wording), "-o", str(tmp_path / "p.docx")
    )
    assert whole.returncode == 0, whole.stderr
    paper = docx.Document(str(tmp_path / "p.docx"))
    assert paper.paragraphs[0].text == "CAMBRIDGESHIRE POLICE AND CRIME PANEL\tAgenda Item No. 8"
    assert next(p.text for p in paper.paragraphs if p.style.name == "Heading 1") == "1.\tPURPOSE"
    alone = run(deliverabot_exe, planned, *period, "--section-only", "-o", str(tmp_path / "s.docx"))
    assert alone.returncode == 0, alone.stderr
    section = docx.Document(str(tmp_path / "s.docx"))
    assert section.paragraphs[0].text == "Police and Crime Plan 2021-24 – Delivery update"
    wording.write_text("paper:\n  agenda: 8\n")
    bad = run(
        deliverabot_exe, planned, *period, "--paper", str(wording), "-o", str(tmp_path / "x.docx")
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.splitlines()[-1] == f"deliverabot: no report written: 1 error(s) in {wording}"
    assert f"{wording}:2: paper.agenda: unknown field" in bad.stderr
    assert not (tmp_path / "x.docx").exists()
    md = run(
        deliverabot_exe,
        planned,
        "report",
        "--from",
        "2022-03-01",
        "--to",
        "2022-09-14",
        "--section-only",
    )
    assert md.returncode == 2 and "--section-only and --paper are for --format docx" in md.stderr


def test_the_six_month_case_through_history_import(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The issue's done-when: the six-month fixture (a plan as at 1 March 2022 and its weekly
    updates) brought in with `history import` gives the same record and the same report as
    the service path, and its Word paper has the heading block and sections 1 to 7."""
    import docx
    from six_months import PLAN, UPDATES, load_six_months

    assert run(deliverabot_exe, cli_env, "plan", "import", str(PLAN)).returncode == 0
    done = run(
        deliverabot_exe,
        cli_env,
        "history",
        "import",
        str(UPDATES),
        "--as",
        "alex.morgan@example.org",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "175 added, 0 already recorded (skipped)"
    direct = tmp_path / "direct.db"
    store = open_store(direct)
    load_six_months(store)
    store.close()

    def record(db: str) -> list[tuple]:
        return _updates(db)

    assert record(cli_env["DELIVERABOT_DB"]) == record(str(direct))
    period = ("report", "--from", "2022-03-01", "--to", "2022-09-14")
    via_import = run(deliverabot_exe, cli_env, *period)
    via_service = run(deliverabot_exe, {**cli_env, "DELIVERABOT_DB": str(direct)}, *period)
    assert via_import.stdout == via_service.stdout and via_import.stdout
    out = tmp_path / "paper.docx"
    assert (
        run(deliverabot_exe, cli_env, *period, "--format", "docx", "-o", str(out)).returncode == 0
    )
    paper = docx.Document(str(out))
    assert paper.paragraphs[0].text.startswith("POLICE AND CRIME PANEL\tAgenda Item No.")
    assert paper.paragraphs[1].text == "14 September 2022\tPublic Report"
    assert paper.paragraphs[4].text.startswith("Contact Officer – ")
    numbers = [p.text.split(".\t")[0] for p in paper.paragraphs if p.style.name == "Heading 1"]
    assert numbers == ["1", "2", "3", "4", "5", "6", "7"]


def test_update_says_how_to_set_a_quarter_the_note_names(
    deliverabot_exe: str, planned: dict[str, str]
) -> None:
    done = run(
        deliverabot_exe,
        planned,
        "update",
        "CF-10",
        ":",
        "slipping to Q4 2022/23 - venue closed",
        "--as",
        "priya.shah@example.org",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "the note says Q4 2022/23, later than the due quarter Q3 2022/23, which this update "
        "left as it was; to move it: deliverabot update CF-10 due Q4 2022/23 : REASON; "
        "if Q3 2022/23 stands: deliverabot update CF-10 : No change to the due quarter: "
        "Q3 2022/23 stands."
    )
    store = open_store(planned["DELIVERABOT_DB"])
    assert store.deliverable_by_ref("CF-10").due == "Q3 2022/23"
    store.close()
