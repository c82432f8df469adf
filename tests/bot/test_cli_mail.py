"""`deliverabot mail import`, `mail review` and `stats`, run as a user would."""

from __future__ import annotations

import json
import mailbox
import sqlite3
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
FORWARDS = [
    "gmail-forward.eml",
    "outlook-forward.eml",
    "apple-forward.eml",
    "thunderbird-forward.eml",
    "attached-forward.eml",
]


def run(exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``deliverabot ARGS``, in process (``exe`` names the console script it stands for)."""
    return run_cli(env, *args)


@pytest.fixture
def env(deliverabot_exe: str, cli_env: dict[str, str], example_plan: Path) -> dict[str, str]:
    assert run(deliverabot_exe, cli_env, "plan", "import", str(example_plan)).returncode == 0
    return cli_env


def _folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    return folder


def test_import_folder_twice_counts_once(
    deliverabot_exe: str, env: dict[str, str], tmp_path: Path
) -> None:
    folder = _folder(tmp_path, [*FORWARDS, "auto-reply.eml", "staff-reply.eml"])
    first = run(deliverabot_exe, env, "mail", "import", str(folder), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "7 messages read" in first.stdout
    assert "  counted            5" in first.stdout
    assert "  skipped as noise   1" in first.stdout
    assert "  replies matched    1" in first.stdout
    again = run(deliverabot_exe, env, "mail", "import", str(folder), "--no-progress")
    assert "  counted            0" in again.stdout
    assert "  duplicates         7" in again.stdout
    rows = (
        sqlite3.connect(env["DELIVERABOT_DB"])
        .execute("SELECT COUNT(*) FROM correspondence")
        .fetchone()
    )
    assert rows == (5,)


def test_progress_bar_shows_rate_and_eta(
    deliverabot_exe: str, env: dict[str, str], tmp_path: Path
) -> None:
    folder = _folder(tmp_path, FORWARDS)
    result = run(deliverabot_exe, env, "mail", "import", str(folder))
    assert "5/5" in result.stderr and "msg/s" in result.stderr


def test_import_mbox_and_maildir(deliverabot_exe: str, env: dict[str, str], tmp_path: Path) -> None:
    box = mailbox.mbox(str(tmp_path / "export.mbox"))
    for name in FORWARDS[:3]:
        box.add((FIXTURES / name).read_bytes())
    box.close()
    result = run(
        deliverabot_exe, env, "mail", "import", str(tmp_path / "export.mbox"), "--no-progress"
    )
    assert "  counted            3" in result.stdout, result.stdout + result.stderr
    md = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for name in FORWARDS:
        md.add((FIXTURES / name).read_bytes())
    result = run(deliverabot_exe, env, "mail", "import", str(tmp_path / "Maildir"), "--no-progress")
    assert "  counted            2" in result.stdout
    assert "  duplicates         3" in result.stdout


def test_review_lists_and_reruns_quarantined(
    deliverabot_exe: str, env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.eml").write_bytes(b"X-Nothing: here\r\n\r\n")
    run(deliverabot_exe, env, "mail", "import", str(folder), "--no-progress")
    listed = run(deliverabot_exe, env, "mail", "review")
    assert "quarantined" in listed.stdout and "not a mail message" in listed.stdout
    as_json = json.loads(run(deliverabot_exe, env, "mail", "review", "--json").stdout)
    assert [r["state"] for r in as_json] == ["quarantined"]
    retried = run(deliverabot_exe, env, "mail", "review", "--retry", str(as_json[0]["id"]))
    assert f"#{as_json[0]['id']}: quarantined" in retried.stdout
    assert (
        "not under review" in run(deliverabot_exe, env, "mail", "review", "--retry", "999").stderr
    )


def test_stats_by_category_and_month(
    deliverabot_exe: str, env: dict[str, str], tmp_path: Path
) -> None:
    run(
        deliverabot_exe,
        env,
        "mail",
        "import",
        str(_folder(tmp_path, [*FORWARDS, "staff-reply.eml"])),
        "--no-progress",
    )
    by_category = json.loads(
        run(deliverabot_exe, env, "stats", "--by", "category", "--json").stdout
    )
    # Imported without a plus address, the Apple Mail complaint falls back to "public".
    assert {r["category"]: r["received"] for r in by_category} == {
        "media": 1,
        "mp": 1,
        "partner": 1,
        "public": 2,
    }
    public = next(r for r in by_category if r["category"] == "public")
    # The Mill Road email came Monday 5 September 2022; the reply went Wednesday 14 September:
    # 7 working days.
    assert public == {
        "category": "public",
        "received": 2,
        "answered": 1,
        "median_days_to_answer": 7.0,
        "within_target": 1,
        "share_within_target": 50.0,
        "target_days": 20,
        "decided": 2,
    }
    by_month = json.loads(run(deliverabot_exe, env, "stats", "--by", "month", "--json").stdout)
    assert by_month == [
        {
            "period": "2022-09",
            "received": 5,
            "answered": 1,
            "median_days_to_answer": 7.0,
            "within_target": 1,
            "share_within_target": 20.0,
            "target_days": 20,
            "decided": 5,
        }
    ]
    text = run(deliverabot_exe, env, "stats", "--by", "category").stdout
    assert text.splitlines()[0].split() == [
        "category",
        "received",
        "answered",
        "median",
        "days",
        "in",
        "target",
        "target",
    ]
