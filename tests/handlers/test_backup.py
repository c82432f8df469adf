"""Backups and restore on real SQLite files: a consistent copy while a writer writes (the WAL
case a plain `cp` gets wrong), rotation of the nightly backups, and a restore that refuses
while `serve` runs, refuses a damaged file, and keeps what it replaces."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from handlers.plan import load_plan
from handlers.service import (
    RestoreRefused,
    UpdateRequest,
    import_plan,
    make_backup,
    record_update,
    restore_backup,
    rotate_backups,
)
from store import Source, open_store

NOW = dt.datetime(2026, 1, 2, 2, 30, tzinfo=dt.UTC)


def _count(path: Path, sql: str = "SELECT COUNT(*) FROM updates") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def zero_pages(path: Path, count: int = 8) -> list[int]:
    """Overwrite ``count`` pages in the middle of the file with zeros; their numbers."""
    size = path.stat().st_size
    page = 4096
    first = size // page // 2
    with open(path, "r+b") as f:
        for n in range(first, first + count):
            f.seek(n * page)
            f.write(b"\0" * page)
    return list(range(first, first + count))


@pytest.fixture
def live(tmp_path: Path, example_plan: Path) -> Path:
    db = tmp_path / "live.db"
    store = open_store(db)
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    store.close()
    return db


class Writer(threading.Thread):
    """Appends updates through the service, one transaction each, and counts the commits."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.committed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        store = open_store(self.db)
        actor = store.person_by_email("priya.shah@example.org")
        assert actor is not None
        try:
            while not self.stop.is_set():
                record_update(
                    store,
                    UpdateRequest(
                        deliverable="CF-10",
                        actor=actor,
                        source=Source.SLACK,
                        note=f"note {self.committed} " + "x" * 400,
                    ),
                )
                self.committed += 1
        finally:
            store.close()


def test_backup_while_a_writer_writes_holds_every_committed_update(
    live: Path, tmp_path: Path
) -> None:
    base = _count(live)
    writer = Writer(live)
    writer.start()
    try:
        while writer.committed < 1500:
            time.sleep(0.01)
        shutil.copyfile(live, tmp_path / "cp.db")  # what a plain `cp live.db` takes
        cp_committed = writer.committed
        before = writer.committed  # every update committed before the backup began
        result = make_backup(live, tmp_path / "backups", now=NOW)
        after = writer.committed
    finally:
        writer.stop.set()
        writer.join(30)
    copy = result.copy.path
    in_backup = _count(copy) - base
    with sqlite3.connect(tmp_path / "cp.db") as conn:
        try:
            in_cp = int(conn.execute("SELECT COUNT(*) FROM updates").fetchone()[0]) - base
        except sqlite3.DatabaseError:
            in_cp = 0
    print(
        f"\nunder write load: cp of the file holds {in_cp} of {cp_committed} committed updates; "
        f"the backup holds {in_backup} (committed before it began: {before}, by its end: {after})"
    )
    assert before <= in_backup <= after
    # A consistent snapshot: the first N updates, no gap, nothing half-written.
    notes = {
        r[0].split()[1]
        for r in sqlite3.connect(copy).execute("SELECT note FROM updates WHERE note LIKE 'note %'")
    }
    assert notes == {str(i) for i in range(in_backup)}
    assert copy.name == "live-20260102T023000Z.db"
    assert not Path(f"{copy}-wal").exists()  # one self-contained file
    assert result.copy.counts["updates"] == base + in_backup
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_nightly_backups_rotate_and_manual_ones_stay(live: Path, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    manual = make_backup(live, folder, now=NOW).copy.path
    for day in range(5):
        make_backup(live, folder, now=NOW + dt.timedelta(days=day), nightly=True, keep=3)
    nightly = sorted(p.name for p in folder.glob("live-nightly-*.db"))
    assert nightly == [
        "live-nightly-20260104T023000Z.db",
        "live-nightly-20260105T023000Z.db",
        "live-nightly-20260106T023000Z.db",
    ]
    assert manual.exists()
    # Two in the same second keep both, and rotation orders them right.
    make_backup(live, folder, now=NOW + dt.timedelta(days=4), nightly=True, keep=0)
    assert (folder / "live-nightly-20260106T023000Z-2.db").exists()
    removed = rotate_backups(folder, "live", 1)
    assert [p.name for p in folder.glob("live-nightly-*.db")] == [
        "live-nightly-20260106T023000Z-2.db"
    ]
    assert len(removed) == 3


def test_a_failed_backup_leaves_nothing_and_rotates_nothing(live: Path, tmp_path: Path) -> None:
    from store import BackupFailed

    folder = tmp_path / "backups"
    for day in range(3):
        make_backup(live, folder, now=NOW + dt.timedelta(days=day), nightly=True, keep=3)
    zero_pages(live)
    with pytest.raises(BackupFailed, match="integrity"):
        make_backup(live, folder, now=NOW + dt.timedelta(days=9), nightly=True, keep=3)
    assert len(list(folder.glob("live-nightly-*.db"))) == 3  # the good ones are kept
    assert not list(folder.glob("*.partial"))


def test_restore_replaces_the_database_and_keeps_the_old_one(live: Path, tmp_path: Path) -> None:
    backup = make_backup(live, tmp_path / "b", now=NOW).copy.path
    store = open_store(live)
    actor = store.person_by_email("priya.shah@example.org")
    assert actor is not None
    record_update(
        store, UpdateRequest(deliverable="CF-10", actor=actor, source=Source.SLACK, note="later")
    )
    store.close()
    result = restore_backup(live, backup, now=NOW)
    assert _count(live, "SELECT COUNT(*) FROM updates WHERE note = 'later'") == 0
    assert result.aside is not None and result.aside.exists()
    assert _count(result.aside, "SELECT COUNT(*) FROM updates WHERE note = 'later'") == 1
    assert result.counts["deliverables"] == 50
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(
    live: Path, tmp_path: Path
) -> None:
    backup = make_backup(live, tmp_path / "b", now=NOW).copy.path
    zero_pages(backup, 8)
    before = live.read_bytes()
    with pytest.raises(RestoreRefused, match=r"integrity|malformed"):
        restore_backup(live, backup, now=NOW)
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(RestoreRefused, match="not a Deliverabot database"):
        restore_backup(live, foreign, now=NOW)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(RestoreRefused):
        restore_backup(live, garbage, now=NOW)
    assert live.read_bytes() == before
    # No staging file left, nothing set aside (the lock file is all there is).
    assert [p.name for p in tmp_path.glob("live.db.*")] == ["live.db.serve-lock"]


def test_restore_refuses_while_serve_runs_and_not_after_kill_9(
    live: Path, tmp_path: Path, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    backup = make_backup(live, tmp_path / "b", now=NOW).copy.path
    env = {**cli_env, "DELIVERABOT_DB": str(live), "PORT": "0", "SMTP_PORT": "0"}
    serve = subprocess.Popen([deliverabot_exe, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lock = Path(f"{live}.serve-lock")
        deadline = time.monotonic() + 20
        while not (lock.exists() and lock.read_text().strip() == str(serve.pid)):
            assert time.monotonic() < deadline, "serve did not take its lock"
            time.sleep(0.05)
        done = subprocess.run(
            [deliverabot_exe, "restore", str(backup)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 1
        assert "serve is running" in done.stderr and f"pid {serve.pid}" in done.stderr
        assert "Traceback" not in done.stderr
        assert not list(tmp_path.glob("live.db.before-restore-*"))
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
    # kill -9 left the lock file behind, but not the lock: the kernel dropped it.
    done = subprocess.run(
        [deliverabot_exe, "restore", str(backup)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout and "kept as" in done.stdout


def test_backup_and_restore_commands_say_one_line(
    live: Path, tmp_path: Path, deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DELIVERABOT_DB": str(live), "BACKUP_DIR": str(tmp_path / "kept")}
    done = subprocess.run([deliverabot_exe, "backup"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout and "50 deliverables" in done.stdout
    assert len(list((tmp_path / "kept").glob("live-*.db"))) == 1
    zero_pages(live)
    done = subprocess.run(
        [deliverabot_exe, "backup", str(tmp_path / "x")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "backup not written" in done.stderr and "damaged" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "x").glob("*.db"))
    done = subprocess.run(
        [deliverabot_exe, "restore", str(tmp_path / "missing.db")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "no file" in done.stderr


def test_restore_onto_a_new_machine_with_no_database_yet(live: Path, tmp_path: Path) -> None:
    backup = make_backup(live, tmp_path / "b", now=NOW).copy.path
    fresh = tmp_path / "new-host" / "data" / "deliverabot.db"
    result = restore_backup(fresh, backup, now=NOW)
    assert result.aside is None
    assert _count(fresh) == _count(live)
