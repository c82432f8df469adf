"""``deliverabot report --explain``: the rule behind each line, per deliverable."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_runner import run_cli


def _run(exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``deliverabot ARGS``, in process (``exe`` names the console script it stands for)."""
    return run_cli(env, *args)


def test_report_explain_prints_the_rule_for_every_deliverable(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path
) -> None:
    assert _run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    out = _run(
        deliverabot_exe,
        cli_env,
        "report",
        "--from",
        "2022-03-01",
        "--to",
        "2022-09-14",
        "--explain",
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("Why each line says what it says: Police and Crime Plan 2021-24")
    assert text.count("    line: ") == 50
    assert "CF-1  Briefing Pack regarding workings of CSPs" in text
    assert "Completed: completed on 2022-06-30, in the period" in text
    assert "the plan file's note (2022-08-31)" in text
    assert "New: added on 2022-07-01, after the plan's start (2021-11-29)" in text
    assert "Current: on hold; the plan's own since 2021-11-29, so never New" in text
    assert text.rstrip().endswith("Nothing for the coordinator to check.")
