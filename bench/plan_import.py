"""Plan import at 1,000, 2,000 and 5,000 rows, all in one theme (the old worst case).

Each run is the CLI's path, reading and validating the YAML file and then writing it in
batches, on a copy of a database holding the example plan. The baseline is the writes it
cannot avoid: the same deliverable and update rows inserted with ``executemany`` in one
transaction, measured in the same run. The growth exponent k in time ~ rows^k comes from the
1,000- and 5,000-row runs: 1 is linear. "writes only" leaves out the pauses between batches
(40 ms each, for live mail and Slack), which grow linearly too.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
import time
from pathlib import Path

from common import EXAMPLE_PLAN, summarise

from handlers.plan import load_plan
from handlers.plan_table import load_plan_file
from handlers.service import import_plan
from store import open_store

SIZES = (1000, 2000, 5000)
TODAY = dt.date(2022, 9, 14)


def _template(folder: Path) -> Path:
    path = folder / "template.db"
    store = open_store(path)
    import_plan(store, load_plan(EXAMPLE_PLAN), today=TODAY)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


def _import(template: Path, plan: Path, folder: Path, *, pauses: bool) -> float:
    db = folder / "run.db"
    for leftover in folder.glob("run.db*"):
        leftover.unlink()
    shutil.copy(template, db)
    store = open_store(db)
    start = time.perf_counter()
    spec = load_plan_file(plan)
    if pauses:
        import_plan(store, spec, today=TODAY)
    else:
        import_plan(store, spec, today=TODAY, pause=lambda: None)
    took = time.perf_counter() - start
    assert len(store.deliverables()) == 50 + len(spec.themes[0].deliverables)
    store.close()
    return took


def _raw(template: Path, rows: int, folder: Path) -> float:
    db = folder / "raw.db"
    for leftover in folder.glob("raw.db*"):
        leftover.unlink()
    shutil.copy(template, db)
    store = open_store(db)
    theme = store.themes()[0].id
    start = time.perf_counter()
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO deliverables (ref, theme_id, title, status, owner_id, due, dependencies,"
            " added_on, position) VALUES (?, ?, ?, 'ongoing', NULL, 'Q3 2022/23', 0, ?, ?)",
            [(f"X-{i}", theme, f"Deliverable {i}", TODAY.isoformat(), i) for i in range(rows)],
        )
        ids = [r[0] for r in store.db.execute("SELECT id FROM deliverables WHERE ref LIKE 'X-%'")]
        store.db.conn.executemany(
            "INSERT INTO updates (deliverable_id, recorded_at, source, status_after, due_after,"
            " note) VALUES (?, '2022-07-29T12:00:00+00:00', 'cli', 'ongoing', 'Q3 2022/23', ?)",
            [(i, f"Progress on deliverable {i} noted at the monthly meeting.") for i in ids],
        )
    took = time.perf_counter() - start
    store.close()
    return took


def main() -> None:
    from big_plan import big_plan_yaml  # in tests/support, which common puts on the path

    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = _template(folder)
        for rows in SIZES:
            plan = folder / f"plan{rows}.yaml"
            plan.write_text(big_plan_yaml(rows, themes=1))
            total = min(_import(template, plan, folder, pauses=True) for _ in range(3))
            writes = min(_import(template, plan, folder, pauses=False) for _ in range(3))
            raw = min(_raw(template, rows, folder) for _ in range(3))
            results[rows] = (total, writes, raw)
    print("plan import (YAML, one theme, best of 3)")
    for rows, (total, writes, raw) in results.items():
        print(
            f"  {rows:>5} rows: {total * 1000:7.0f} ms with pauses, {writes * 1000:7.0f} ms "
            f"writes only; raw inserts {raw * 1000:5.0f} ms ({writes / raw:4.1f}x)"
        )
    first, last = SIZES[0], SIZES[-1]
    k = math.log(results[last][1] / results[first][1], last / first)
    k_total = math.log(results[last][0] / results[first][0], last / first)
    print(f"  growth exponent {first}->{last} rows: k = {k:.2f} (writes only), {k_total:.2f} (all)")
    for rows in SIZES:
        total, writes, raw = results[rows]
        summarise(
            f"plan import, {rows:,} rows",
            f"{total * 1000:.0f} ms",
            f"{raw * 1000:.0f} ms raw inserts",
            total / raw,
            "linear",
        )
    summarise(
        f"plan import growth {first // 1000}k->{last // 1000}k",
        f"k = {k_total:.2f}",
        f"{results[first][0] * 1000:.0f} ms at {first:,}",
        results[last][0] / results[first][0],
        "k <= 1.1",
    )


if __name__ == "__main__":
    main()
