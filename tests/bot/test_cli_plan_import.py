"""`deliverabot plan import` as a user runs it: duplicate keys, a theme change without
--move, the MAX_PLAN_BYTES setting, and a long list of errors, each a clear line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_runner import run_cli

PLAN = """\
plan: Test Plan
people:
  - {name: Jane Doe, email: jane@example.org}
themes:
  - code: CF
    name: Communities
    deliverables:
      - {ref: CF-1, title: Business Crime Survey, owner: jane@example.org}
      - {ref: CF-2, title: Business Community Event, status: ongoing}
  - code: VW
    name: Victims
    deliverables:
      - {ref: VW-1, title: Victims Hub}
"""


def run(exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``deliverabot ARGS``, in process (``exe`` names the console script it stands for)."""
    return run_cli(env, *args)


def _shown(exe: str, env: dict[str, str]) -> list[dict]:
    return json.loads(run(exe, env, "plan", "show", "--json").stdout)


def test_duplicate_keys_are_refused_with_their_lines(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        PLAN.replace("status: ongoing}", "status: ongoing, status: completed}")
        + "themes:\n  - {code: EP, name: Ethics}\n"
    )
    result = run(deliverabot_exe, cli_env, "plan", "import", str(plan))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{plan}:9: status: duplicate key (first on line 9); a mapping may name each key once",
        f"{plan}:14: themes: duplicate key (first on line 4); a mapping may name each key once",
        "deliverabot: plan not imported: 2 error(s); nothing was written",
    ]
    assert not Path(cli_env["DELIVERABOT_DB"]).exists()


def test_a_reference_moves_theme_only_with_move(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    assert run(deliverabot_exe, cli_env, "plan", "import", str(plan)).returncode == 0
    before = _shown(deliverabot_exe, cli_env)
    moved = tmp_path / "moved.yaml"
    moved.write_text(
        PLAN.replace("      - {ref: CF-2, title: Business Community Event, status: ongoing}\n", "")
        + "      - {ref: CF-2, title: Business Community Event, status: ongoing}\n"
    )
    refused = run(deliverabot_exe, cli_env, "plan", "import", str(moved))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f"{moved}:13: ref: CF-2 is under theme CF in the database and under VW in the file; "
        "to move it, import with --move",
        "deliverabot: plan not imported: 1 error(s); nothing was written",
    ]
    assert _shown(deliverabot_exe, cli_env) == before
    done = run(deliverabot_exe, cli_env, "plan", "import", str(moved), "--move")
    assert done.returncode == 0, done.stderr
    assert "~ CF-2: theme → VW" in done.stdout
    cf2 = next(r for r in _shown(deliverabot_exe, cli_env) if r["ref"] == "CF-2")
    assert cf2["theme_code"] == "VW" and cf2["status"] == "ongoing"


def test_max_plan_bytes_is_a_setting(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    size = example_plan.stat().st_size
    result = run(
        deliverabot_exe, {**cli_env, "MAX_PLAN_BYTES": "4096"}, "plan", "import", str(example_plan)
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"{example_plan}:0: file: {size:,} bytes; the limit is 4,096 (MAX_PLAN_BYTES)"
    )
    assert not Path(cli_env["DELIVERABOT_DB"]).exists()
    ok = run(
        deliverabot_exe,
        {**cli_env, "MAX_PLAN_BYTES": str(size)},
        "plan",
        "import",
        str(example_plan),
    )
    assert ok.returncode == 0, ok.stderr


def test_a_long_list_of_errors_is_cut_and_counted(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    sheet = tmp_path / "plan.csv"
    sheet.write_text(
        "ref,title,theme,theme_code,status\n"
        + "".join(f"CF-{i},Item {i},Communities,CF,frozen\n" for i in range(1, 151)),
        encoding="utf-8",
    )
    result = run(deliverabot_exe, cli_env, "plan", "import", str(sheet))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 102
    assert lines[0].startswith(f"{sheet}:2: CF.deliverables[0].status: unknown status 'frozen'")
    assert lines[-2:] == [
        "... and 50 more",
        "deliverabot: plan not imported: 150 error(s); nothing was written",
    ]
