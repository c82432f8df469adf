"""The installed ``deliverabot`` console script, run as a user would run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


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
