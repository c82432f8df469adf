"""`deliverabot plan export FILE.xlsx --from --to`: the Updates sheet bounded by period."""

from __future__ import annotations

import subprocess
from pathlib import Path

from openpyxl import load_workbook


def run(exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_plan_export_bounds_the_updates_sheet(
    deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path, tmp_path: Path
) -> None:
    assert run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    whole, bounded = tmp_path / "whole.xlsx", tmp_path / "bounded.xlsx"
    assert run(deliverabot_exe, cli_env, "plan", "export", str(whole)).returncode == 0
    out = run(
        deliverabot_exe,
        cli_env,
        "plan",
        "export",
        str(bounded),
        "--from",
        "2000-01-01",
        "--to",
        "2000-12-31",
    )
    assert out.returncode == 0 and "wrote 50 deliverables" in out.stdout
    assert len(list(load_workbook(whole)["Updates"].values)) == 51
    assert list(load_workbook(bounded)["Updates"].values) == [
        next(load_workbook(whole)["Updates"].values)
    ]
    assert list(load_workbook(bounded)["Plan"].values) == list(load_workbook(whole)["Plan"].values)
    wrong = run(
        deliverabot_exe,
        cli_env,
        "plan",
        "export",
        str(bounded),
        "--from",
        "2022-02-01",
        "--to",
        "2022-01-01",
    )
    assert wrong.returncode == 2 and "--to is before --from" in wrong.stderr
