"""The installed ``deliverabot`` console script, run as a user would run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


def run(
    exe: str, env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_import_show_and_report_the_example_plan(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    imported = run(deliverabot_exe, cli_env, "plan", "import", str(example_plan))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().endswith("50 added, 0 changed, 0 unchanged")

    shown = run(deliverabot_exe, cli_env, "plan", "show")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Police and Crime Plan 2021-24 — OPCC for Cambridgeshire and Peterborough"
    assert "CF  Putting Communities First" in lines
    cf10 = next(line for line in lines if line.strip().startswith("CF-10 "))
    assert (
        "ongoing" in cf10 and "Q3 2022/23" in cf10 and "Priya Shah" in cf10 and "2022-08-31" in cf10
    )

    as_json = json.loads(run(deliverabot_exe, cli_env, "plan", "show", "--json").stdout)
    assert len(as_json) == 50
    row = next(r for r in as_json if r["ref"] == "CF-8")
    assert {k: row[k] for k in ("status", "owner", "theme", "last_update")} == {
        "status": "on-hold",
        "owner": "Alex Morgan",
        "theme": "Putting Communities First",
        "last_update": "2022-08-31",
    }
    assert row["note"] == "Recruitment on hold whilst business model reviewed during Q2."

    report = run(
        deliverabot_exe,
        cli_env,
        "report",
        "--from",
        "2022-03-01",
        "--to",
        "2022-09-14",
        "--format",
        "markdown",
    )
    assert report.returncode == 0, report.stderr
    headings = [line for line in report.stdout.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Putting Communities First – Priorities for Action",
        "## Crime Prevention – Priorities for Action",
        "## Supporting Victims and Witnesses – Priorities for Action",
        "## Ethical Policing – Priorities for Action",
        "## Robust Enforcement – Priorities for Action",
        "## Correspondence",
    ]


def test_reimport_prints_no_changes(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    run(deliverabot_exe, cli_env, "plan", "import", str(example_plan))
    again = run(deliverabot_exe, cli_env, "plan", "import", str(example_plan))
    assert again.returncode == 0
    assert again.stdout.strip() == "0 added, 0 changed, 50 unchanged"


def test_malformed_plan_is_one_error_per_problem_and_no_traceback(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(example_plan.read_text().replace("status: on-hold", "status: frozen", 1))
    result = run(deliverabot_exe, cli_env, "plan", "import", str(bad))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{bad}:" in result.stderr and ".status: unknown status 'frozen'" in result.stderr
    assert "nothing was written" in result.stderr
    shown = run(deliverabot_exe, cli_env, "plan", "show", "--json")
    assert shown.returncode != 0 and shown.stdout == ""
    assert "no database" in shown.stderr and "plan import" in shown.stderr
    assert not Path(cli_env["DELIVERABOT_DB"]).exists()


def test_missing_plan_file(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> None:
    result = run(deliverabot_exe, cli_env, "plan", "import", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_database_path(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    env = {**cli_env, "DELIVERABOT_DB": str(blocker / "db" / "x.db")}
    result = run(deliverabot_exe, env, "plan", "import", str(example_plan))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "cannot open database" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_names_the_variable(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    result = run(deliverabot_exe, {**cli_env, "PORT": "three thousand"}, "plan", "show")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "deliverabot: configuration: PORT='three thousand': must be a whole number"
    )


def test_report_rejects_bad_dates(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    result = run(deliverabot_exe, cli_env, "report", "--from", "2022-13-01", "--to", "2022-09-14")
    assert result.returncode == 2
    assert "is not a date" in result.stderr and "Traceback" not in result.stderr


def test_report_to_file(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> None:
    run(deliverabot_exe, cli_env, "plan", "import", str(example_plan))
    out = tmp_path / "out" / "report.html"
    result = run(
        deliverabot_exe,
        cli_env,
        "report",
        "--from",
        "2022-03-01",
        "--to",
        "2022-09-14",
        "--format",
        "html",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "<h2>Robust Enforcement – Priorities for Action</h2>" in out.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "show"],
        ["plan", "show", "--json"],
        ["report", "--from", "2022-03-01", "--to", "2022-09-14"],
        ["stats"],
        ["stats", "--json"],
        ["digest", "--week", "2022-W37"],
        ["digest", "--status"],
        ["mail", "review"],
    ],
)
def test_read_only_commands_create_nothing(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    target = tmp_path / "nowhere" / "missing.db"
    result = run(deliverabot_exe, cli_env, *args, "--db", str(target))
    assert result.returncode == 1, result.stderr
    assert "there is no database at" in result.stderr and "plan import" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not target.exists() and not target.parent.exists()


def test_db_is_accepted_on_each_subcommand(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> None:
    db = tmp_path / "elsewhere.db"
    imported = run(deliverabot_exe, cli_env, "plan", "import", str(example_plan), "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    for args in (["stats", "--json"], ["plan", "show", "--json"], ["digest", "--status"]):
        after = run(deliverabot_exe, cli_env, *args, "--db", str(db))
        assert after.returncode == 0, (args, after.stderr)
    rows = json.loads(
        run(deliverabot_exe, cli_env, "plan", "show", "--json", "--db", str(db)).stdout
    )
    assert len(rows) == 50
    # The subcommand's --db wins over the group's.
    both = run(
        deliverabot_exe,
        cli_env,
        "--db",
        str(tmp_path / "x.db"),
        "plan",
        "show",
        "--json",
        "--db",
        str(db),
    )
    assert len(json.loads(both.stdout)) == 50
    assert not Path(cli_env["DELIVERABOT_DB"]).exists()


def test_mail_token_prints_the_personal_address_and_rotates(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    env = {**cli_env, "MAIL_DOMAIN": "opcc.example.org"}
    assert run(deliverabot_exe, env, "plan", "import", str(example_plan)).returncode == 0
    first = run(deliverabot_exe, env, "mail", "token", "priya.shah@example.org")
    assert first.returncode == 0, first.stderr
    address = next(w for w in first.stdout.split() if w.startswith("updates+"))
    assert address.startswith("updates+") and address.endswith("@opcc.example.org")
    again = run(deliverabot_exe, env, "mail", "token", "priya.shah@example.org")
    assert address in again.stdout
    rotated = run(deliverabot_exe, env, "mail", "token", "priya.shah@example.org", "--rotate")
    assert address not in rotated.stdout and "no longer works" in rotated.stdout
    unknown = run(deliverabot_exe, env, "mail", "token", "nobody@example.org")
    assert unknown.returncode == 1 and "not among the people" in unknown.stderr


def test_plan_export_csv_and_xlsx_match_plan_show(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path, tmp_path: Path
) -> None:
    import csv

    from openpyxl import load_workbook

    assert run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    shown = json.loads(run(deliverabot_exe, cli_env, "plan", "show", "--json").stdout)
    out = run(deliverabot_exe, cli_env, "plan", "export", str(tmp_path / "plan.csv"))
    assert out.returncode == 0 and "wrote 50 deliverables" in out.stdout
    rows = list(csv.DictReader((tmp_path / "plan.csv").open(encoding="utf-8")))
    assert [r["ref"] for r in rows] == [r["ref"] for r in shown]
    assert list(rows[0]) == list(shown[0])
    assert (
        run(deliverabot_exe, cli_env, "plan", "export", str(tmp_path / "plan.xlsx")).returncode == 0
    )
    book = load_workbook(tmp_path / "plan.xlsx")
    sheet = list(book["Plan"].values)
    assert [r[0] for r in sheet[1:]] == [r["ref"] for r in shown]
    assert (
        run(deliverabot_exe, cli_env, "plan", "export", str(tmp_path / "plan.txt")).returncode == 2
    )


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_spreadsheet_round_trip_gives_the_same_plan(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path, tmp_path: Path, suffix: str
) -> None:
    assert run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    before = json.loads(run(deliverabot_exe, cli_env, "plan", "show", "--json").stdout)
    sheet = tmp_path / f"plan{suffix}"
    assert run(deliverabot_exe, cli_env, "plan", "export", str(sheet)).returncode == 0
    fresh = {**cli_env, "DELIVERABOT_DB": str(tmp_path / "fresh.db")}
    dry = run(deliverabot_exe, fresh, "plan", "import", str(sheet), "--dry-run")
    assert dry.returncode == 0 and "50 added" in dry.stdout
    done = run(deliverabot_exe, fresh, "plan", "import", str(sheet))
    assert done.returncode == 0, done.stderr
    after = json.loads(run(deliverabot_exe, fresh, "plan", "show", "--json").stdout)
    assert after == before
    # Importing it again changes nothing and keeps people's Slack ids and roles.
    again = run(deliverabot_exe, cli_env, "plan", "import", str(sheet))
    assert again.returncode == 0 and "0 added, 0 changed, 50 unchanged" in again.stdout


def test_spreadsheet_errors_name_the_row(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    sheet = tmp_path / "plan.csv"
    sheet.write_text(
        "ref,title,theme,theme_code,status,due,owner,owner_email\n"
        "CF-1,Survey,Communities,CF,ongoing,Q3 2022/23,Jane,jane@example.org\n"
        "CF-2,Event,Communities,CF,frozen,Q9 2022/23,Jane,jane@example.org\n",
        encoding="utf-8",
    )
    result = run(deliverabot_exe, cli_env, "plan", "import", str(sheet))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{sheet}:3: CF.deliverables[1].status: unknown status 'frozen'" in result.stderr
    assert f"{sheet}:3: CF.deliverables[1].due: unparseable quarter" in result.stderr
    assert not Path(cli_env["DELIVERABOT_DB"]).exists() or "nothing was written" in result.stderr


def test_plan_show_has_column_headers_and_digest_and_stats_say_their_period(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    assert run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    lines = run(deliverabot_exe, cli_env, "plan", "show").stdout.splitlines()
    header = lines[2].split()
    assert header == ["ref", "status", "due", "owner", "updated", "title"]
    cf10 = next(line for line in lines if line.strip().startswith("CF-10 "))
    assert lines[2].index("owner") == cf10.index("Priya Shah")  # the columns line up

    digest = run(deliverabot_exe, cli_env, "digest")
    assert digest.returncode == 0, digest.stderr
    said = digest.stderr.strip()
    assert said.startswith("deliverabot: ") and ", the last complete week (Week " in said
    assert said.endswith("; choose with --week")
    assert run(deliverabot_exe, cli_env, "digest", "--week", "2022-W37").stderr == ""

    stats = run(deliverabot_exe, cli_env, "stats", "--json")
    assert stats.returncode == 0 and json.loads(stats.stdout) == []
    assert stats.stderr.strip() == "deliverabot: period: all correspondence recorded (none yet)"
    ranged = run(deliverabot_exe, cli_env, "stats", "--from", "2022-01-01", "--to", "2022-02-01")
    assert ranged.stderr == ""
    half = run(deliverabot_exe, cli_env, "stats", "--from", "2022-01-01")
    assert half.stderr.startswith("deliverabot: period: 1 January 2022 to ")
