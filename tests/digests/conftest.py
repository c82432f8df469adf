"""Fixed data and a fixed clock for the digest and report renderers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from handlers.plan import load_plan
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    import_plan,
    record_correspondence,
    record_update,
)
from store import Source, Status, Store, open_store

UPDATES = [
    (
        "2022-09-12T09:15:00+00:00",
        "priya.shah@example.org",
        "CF-9",
        Status.ON_HOLD,
        None,
        "Software business case paused pending the budget review.",
    ),
    (
        "2022-09-13T10:00:00+00:00",
        "grace.okafor@example.org",
        "VW-11",
        Status.COMPLETED,
        None,
        "First Victims Provider Forum held with 14 providers.",
    ),
    (
        "2022-09-14T11:30:00+00:00",
        "dan.hughes@example.org",
        "EP-5",
        None,
        "Q4 2022/23",
        "Constabulary data is late; publication moves to Q4.",
    ),
    (
        "2022-09-15T14:00:00+00:00",
        "sam.lee@example.org",
        "VW-8",
        Status.BAU,
        None,
        "Joint working now part of the monthly Criminal Justice Board.",
    ),
    (
        "2022-09-16T16:45:00+00:00",
        "priya.shah@example.org",
        "CF-10",
        None,
        None,
        "<!channel> <script>alert(1)</script> {{ 7*7 }} *bold* & more",
    ),
]
LETTERS = [
    ("2022-07-05", "public", "2022-07-12"),
    ("2022-07-19", "mp", "2022-08-30"),
    ("2022-08-02", "complaint", None),
    ("2022-08-23", "public", "2022-08-25"),
    ("2022-09-06", "councillor", None),
    ("2022-09-12", "public", None),
    ("2022-09-13", "complaint", None),
    ("2022-09-15", "media", None),
]


@pytest.fixture
def digest_store(tmp_path: Path, example_plan: Path) -> Store:
    store = open_store(tmp_path / "digest.db")
    import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
    for at, email, ref, status, due, note in UPDATES:
        record_update(
            store,
            UpdateRequest(
                deliverable=ref,
                actor=store.person_by_email(email),
                source=Source.SLACK,
                status=status,
                due=due,
                note=note,
                recorded_at=dt.datetime.fromisoformat(at),
            ),
        )
    for i, (day, category, answered) in enumerate(LETTERS):
        out = record_correspondence(
            store,
            CorrespondenceRequest(
                dedup_key=f"golden-{i}",
                received_on=dt.date.fromisoformat(day),
                category=category,
                forwarder="priya.shah@example.org",
                sender_domain="example.com",
            ),
        )
        if answered:
            with store.transaction():
                store.mark_answered(out.correspondence_id, dt.date.fromisoformat(answered))
    return store
