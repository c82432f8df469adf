"""Plan imports against a real `serve`: every hostile file is refused in one line, with
bounded memory and nothing written, and a big import (RELIABILITY_IMPORT_ROWS: 1,000 here,
5,000 in make reliability) runs while live SMTP answers 250, Slack records every update and
/healthz stays ok."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from big_plan import big_plan_yaml
from bombs import (
    MiB,
    xlsx_entity_bomb,
    xlsx_huge_cell,
    xlsx_many_entries,
    xlsx_zip_bomb,
    yaml_alias_bomb,
)
from reliability_harness import Served, SlackThread, health, message, scale, send

ADDRESS_SPACE = 2 * 1024 * MiB  # a bomb that got through would die here, not take the machine
PEAK_RSS_MB = 150


# Run a command in a grandchild and report its peak RSS. Measured from the test process
# itself, ru_maxrss would start at the test's own size: a child spawned by vfork counts
# its parent's memory until it execs.
_MEASURE = """
import os, resource, sys
out, limit, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(args[0], args)
_, status, usage = os.wait4(pid, 0)
open(out, "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run_measured(args: list[str], env: dict[str, str], out: Path) -> tuple[int, str, float]:
    """Run the CLI; (exit code, stderr, peak RSS in MB) of that one process."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(out / "rss"), str(ADDRESS_SPACE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stderr, int((out / "rss").read_text()) / 1024


def _write(name: str, make: Callable[[], str]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_text(make(), encoding="utf-8")
        return path

    return build


def _plan(title: str) -> str:
    return (
        "plan: P\npeople:\n  - {name: Jane, email: jane@example.org}\nthemes:\n  - code: CF\n"
        f"    name: Communities\n    deliverables:\n      - title: {title}\n        note: n\n"
    )


def _sheet(note: str) -> str:
    return (
        "ref,title,theme,theme_code,status,owner_email,note\n"
        f"CF-1,Survey,Communities,CF,ongoing,jane@example.org,{note}\n"
    )


BOMBS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "alias bomb in added": (
        _write("added.yaml", lambda: yaml_alias_bomb("added")),
        ":10: yaml: an alias",
    ),
    "alias bomb in start": (
        _write("start.yaml", lambda: yaml_alias_bomb("start")),
        ":2: yaml: an alias",
    ),
    "1 GiB shared string": (
        lambda d: xlsx_huge_cell(d / "cell.xlsx"),
        ":0: xl/sharedStrings.xml: inflates to 1,073,742,",
    ),
    "3 GB zip bomb": (
        lambda d: xlsx_zip_bomb(d / "zip.xlsx"),
        ":0: xl/worksheets/sheet1.xml: inflates to 3,",
    ),
    "20,000 zip entries": (lambda d: xlsx_many_entries(d / "many.xlsx"), ":0: file: 20,0"),
    "XML entities": (lambda d: xlsx_entity_bomb(d / "entities.xlsx"), ":0: file: not a readable"),
    "20 MB title": (_write("title.yaml", lambda: _plan("T" * 20_000_000)), ":0: file: 20,000,"),
    "20 MB note": (_write("note.csv", lambda: _sheet("n" * 20_000_000)), ":0: file: 20,000,"),
    "4 MB title": (
        _write("title4.yaml", lambda: _plan("T" * 4_000_000)),
        ":8: CF.deliverables[0].title: 4,000,000 characters; the limit is 300",
    ),
    "4 MB note": (
        _write("note4.csv", lambda: _sheet("n" * 4_000_000)),
        ":2: note: more than 3,000 characters in one cell; the limit is 3,000",
    ),
}


def test_every_bomb_is_one_line_bounded_memory_and_nothing_written(
    served: Served, tmp_path: Path
) -> None:
    served.start()
    before = served.query("SELECT COUNT(*), (SELECT COUNT(*) FROM updates) FROM deliverables")
    figures = []
    for name, (build, expected) in BOMBS.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        path = build(folder)
        code, err, peak = _run_measured(
            [served.exe, "plan", "import", str(path)], served.env, folder
        )
        figures.append(f"{name}: {path.stat().st_size:,} bytes, peak {peak:.0f} MB")
        lines = err.splitlines()
        assert code == 1 and "Traceback" not in err, (name, err[:500])
        assert len(lines) == 2 and lines[0].startswith(f"{path}{expected}"), (name, err[:500])
        assert lines[1] == "deliverabot: plan not imported: 1 error(s); nothing was written"
        assert peak < PEAK_RSS_MB, f"{name}: {peak:.0f} MB"
    print("\nbombs refused: " + "; ".join(figures))
    after = served.query("SELECT COUNT(*), (SELECT COUNT(*) FROM updates) FROM deliverables")
    assert after == before
    assert send(served.smtp, message(1, "after-bombs")) == 250
    assert health(served.http)[0] == 200
    assert served.stop()[0] == 0


@pytest.fixture
def slack() -> SlackThread:
    thread = SlackThread(users={"U0COMMUNITY": "priya.shah@example.org"})
    yield thread
    thread.close()


def test_a_big_import_lets_live_mail_slack_and_healthz_through(
    served: Served, slack: SlackThread, tmp_path: Path
) -> None:
    rows = scale("RELIABILITY_IMPORT_ROWS", 1000)
    plan = tmp_path / "big.yaml"
    plan.write_text(big_plan_yaml(rows, themes=1))  # one theme: the old worst case
    served.env.update(slack.env())
    served.start()
    stop = threading.Event()
    smtp: Counter[int] = Counter()
    slowest = [0.0]
    probes: Counter[int] = Counter()
    commands: list[str] = []
    refused: list[int] = []
    reasons: list[str] = []

    def mail(worker: int) -> None:
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            smtp[send(served.smtp, message(i, f"imp{worker}"), timeout=30)] += 1
            slowest[0] = max(slowest[0], time.monotonic() - started)
            i += 1
            time.sleep(0.02)  # two busy forwarders: some 60 messages a second

    def probe() -> None:
        while not stop.is_set():
            status, body, _ = health(served.http)
            probes[status] += 1
            if status != 200:
                reasons.append(str(body.get("reason")))
            time.sleep(0.05)

    def updates() -> None:
        i = 0
        while not stop.is_set():
            name = f"imp-{i}"
            status = slack.command(served.http, f"update CF-10: note {name}", "U0COMMUNITY", name)
            if status == 200:
                commands.append(name)
            else:
                refused.append(status)
            i += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=mail, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=probe), threading.Thread(target=updates)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    started = time.monotonic()
    imported = subprocess.run(
        [served.exe, "plan", "import", str(plan)],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    took = time.monotonic() - started
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(60)
    deadline = time.monotonic() + 30
    recorded: set[str] = set()
    while time.monotonic() < deadline and len(recorded) < len(commands):
        time.sleep(0.2)
        recorded = {n for n, r in slack.replies() if "Recorded an update" in str(r)}
    notes = {r[0] for r in served.query("SELECT note FROM updates WHERE note LIKE 'note imp-%'")}
    print(
        f"\nimport of {rows:,} rows: {took:.1f} s; SMTP {dict(smtp)} (slowest {slowest[0]:.2f} s); "
        f"/healthz {dict(probes)} {reasons}; "
        f"Slack updates {len(commands)} sent, {len(recorded)} recorded"
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.splitlines()[-1].startswith(f"{rows} added, 0 changed")
    assert sum(smtp.values()) > 0 and set(smtp) == {250}
    assert sum(probes.values()) > 0 and set(probes) == {200}
    assert commands and not refused and recorded == set(commands)
    assert {f"note {n}" for n in commands} <= notes
    assert served.stop()[0] == 0
