"""Report build time on the example plan, against the raw reads it cannot avoid."""

from __future__ import annotations

import datetime as dt
import tempfile
import zoneinfo
from pathlib import Path

from common import EXAMPLE_PLAN, median_time, summarise

from digests.report import build_report, render_report
from handlers.plan import load_plan
from handlers.service import import_plan
from store import Office, open_store


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        import_plan(store, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
        tz = zoneinfo.ZoneInfo("Europe/London")
        baseline = median_time(lambda: (store.deliverables(), store.updates()))
        full = median_time(
            lambda: render_report(
                build_report(
                    store,
                    day_from=dt.date(2022, 3, 1),
                    day_to=dt.date(2022, 9, 14),
                    office=Office(tz=tz),
                ),
                "markdown",
            )
        )
        print(
            f"report (example plan, markdown): {full * 1000:.2f} ms; "
            f"baseline raw reads {baseline * 1000:.2f} ms; ratio {full / baseline:.1f}x"
        )
        summarise(
            "report, example plan (Markdown)",
            f"{full * 1000:.1f} ms",
            f"{baseline * 1000:.1f} ms raw reads",
            full / baseline,
            "",
        )
        store.close()


if __name__ == "__main__":
    main()
