"""``deliverabot doctor``: the current state against a replay of history, and --repair."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from handlers.plan import load_plan
from handlers.service import import_plan
from store import open_store


def _db(tmp_path: Path, example_plan: Path) -> Path:
    path = tmp_path / "doctor.db"
    store = open_store(path)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    store.close()
    return path


def test_doctor_says_ok_then_finds_and_repairs_a_drift(tmp_path: Path, example_plan: Path) -> None:
    path = _db(tmp_path, example_plan)
    runner = CliRunner()
    ok = runner.invoke(cli, ["--db", str(path), "doctor"])
    assert ok.exit_code == 0, ok.output
    assert ok.output == "current state: ok (50 deliverables agree with their history)\n"

    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE current_state SET status = 'on-hold' WHERE deliverable_id = "
        "(SELECT id FROM deliverables WHERE ref = 'CF-9')"
    )
    conn.commit()
    conn.close()
    found = runner.invoke(cli, ["--db", str(path), "doctor"])
    assert found.exit_code == 1
    assert "CF-9: status is 'on-hold', the history says 'ongoing'" in found.output
    assert "1 differences from the history; run deliverabot doctor --repair" in found.output

    fixed = runner.invoke(cli, ["--db", str(path), "doctor", "--repair"])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.endswith("current state: rebuilt from the history (50 deliverables)\n")
    again = runner.invoke(cli, ["--db", str(path), "doctor"])
    assert again.exit_code == 0 and "ok (50 deliverables" in again.output
