"""A BotProcess with the board on, over the example plan and one hostile note: shared by the
board's HTTP tests and its browser tests."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

from bot.config import load_settings
from bot.server import BotProcess
from handlers.plan import load_plan
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    import_plan,
    record_correspondence,
    record_update,
)
from store import Source, Store, open_store

NOW = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)
# Correspondence in the 12 weeks to NOW: (Monday, pieces), as the papers' counts run.
LETTERS = [
    (dt.date(2022, 6, 27) + dt.timedelta(weeks=i), n)
    for i, n in enumerate([28, 31, 25, 34, 22, 19, 27, 30, 36, 29, 33, 17])
]
CATEGORIES = ["public", "public", "complaint", "mp", "public", "councillor", "partner", "media"]


def add_letters(store: Store) -> int:
    """Forwarded correspondence, counted through the service: ``LETTERS`` a week."""
    count = 0
    for monday, n in LETTERS:
        for i in range(n):
            record_correspondence(
                store,
                CorrespondenceRequest(
                    dedup_key=f"board-{monday}-{i}",
                    received_on=monday + dt.timedelta(days=i % 5),
                    category=CATEGORIES[(i + monday.day) % len(CATEGORIES)],
                    forwarder="priya.shah@example.org",
                    sender_domain="example.com",
                ),
            )
            count += 1
    return count


@contextlib.asynccontextmanager
async def board_process(
    tmp_path: Path,
    example_plan: Path,
    *,
    token: str,
    note: str,
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    db = tmp_path / "board.db"
    seed = open_store(db)
    import_plan(seed, load_plan(example_plan), today=dt.date(2022, 9, 14))
    record_update(
        seed,
        UpdateRequest(
            deliverable="CF-10",
            actor=seed.person_by_email("priya.shah@example.org"),
            source=Source.SLACK,
            note=note,
            recorded_at=dt.datetime(2022, 9, 15, 9, tzinfo=dt.UTC),
        ),
    )
    add_letters(seed)
    seed.close()
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db),
            "PORT": "0",
            "SMTP_PORT": "0",
            "BOARD_TOKEN": token,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            **(env or {}),
        },
        env_file=None,
    )
    store = open_store(db)
    process = BotProcess(settings=settings, store=store, clock=lambda: NOW)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
        store.close()
