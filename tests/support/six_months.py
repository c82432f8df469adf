"""The six-month case: the example plan as at 1 March 2022, then 175 weekly updates typed the
way busy staff type, each following what section 5 of the Forward Plan paper says happened.

``load_six_months`` imports ``tests/fixtures/six_months/plan-2022-03-01.yaml`` and then
``updates.csv`` (the columns of the export's Updates sheet) the way an office brings in its
tracker: ``history import`` (the file reader and the service), as an editor, at the times in
the file (Europe/London).
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from pathlib import Path

import yaml

from handlers.history import load_history
from handlers.plan import load_plan
from handlers.service import import_history, import_plan
from store import Office, Store

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "six_months"
PLAN = HERE / "plan-2022-03-01.yaml"
UPDATES = HERE / "updates.csv"
EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "opcc-plan-2021-24.yaml"
LONDON = zoneinfo.ZoneInfo("Europe/London")
PERIOD = (dt.date(2022, 3, 1), dt.date(2022, 9, 14))


def update_rows() -> list[dict[str, str]]:
    with UPDATES.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_six_months(store: Store, *, plan: Path = PLAN) -> None:
    import_plan(store, load_plan(plan), today=PERIOD[0])
    editor = next(p for p in store.people() if p.can_edit_any)
    rows = load_history(UPDATES, office=Office(tz=LONDON))
    summary = import_history(store, rows, actor=editor)
    assert summary.added == len(update_rows()), summary


def paper_lists() -> dict[str, str]:
    """Section 5 of the paper, by reference: each deliverable's list (completed, current, new),
    as the example plan transcribes it (refs follow the plan's order)."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    lists: dict[str, str] = {}
    for theme in doc["themes"]:
        for n, d in enumerate(theme["deliverables"], start=1):
            ref = f"{theme['code']}-{n}"
            if d.get("added"):
                lists[ref] = "new"
            elif d["status"] == "completed":
                lists[ref] = "completed"
            else:
                lists[ref] = "current"
    return lists
