"""``plan show``'s rows come from one query over the plan and the current state, yet are the
rows that ``Reader.overview`` (an object per deliverable, theme, owner and update) gave: the
old builder is kept here as the reference."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from digests.plan_table import plan_rows
from handlers.service import UpdateRequest, record_update
from store import Reader, Source, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _old_plan_rows(store: Reader, tz: Any) -> list[dict[str, Any]]:
    rows = []
    for view in store.overview():
        d, u, owner = view.deliverable, view.last_update, view.owner
        rows.append(
            {
                "ref": d.ref,
                "title": d.title,
                "theme": view.theme.name,
                "theme_code": view.theme.code,
                "status": str(d.status),
                "due": d.due,
                "owner": owner.name if owner else None,
                "owner_email": owner.email if owner else None,
                "dependencies": d.dependencies,
                "added_on": d.added_on.isoformat(),
                "last_update": u.recorded_at.astimezone(tz).date().isoformat() if u else None,
                "note": (u.note or None) if u else None,
            }
        )
    return rows


def test_plan_rows_are_the_overview_rows(digest_store: Store) -> None:
    owner = digest_store.person_by_email("priya.shah@example.org")
    # A late-evening update (a different day in London than in UTC), then a due quarter
    # with no note.
    for i, (note, due) in enumerate([("Scoping.", None), ("", "Q4 2022/23")]):
        record_update(
            digest_store,
            UpdateRequest(
                deliverable="CF-2",
                actor=owner,
                source=Source.SLACK,
                note=note,
                due=due,
                recorded_at=dt.datetime(2022, 9, 20 + i, 23, 30, tzinfo=dt.UTC),
            ),
        )
    # A deliverable without an owner, and one without an owner or any update.
    with digest_store.transaction():
        digest_store.db.execute("UPDATE deliverables SET owner_id = NULL WHERE ref = 'CF-3'")
        digest_store.db.execute(
            "INSERT INTO deliverables (ref, theme_id, title, status, added_on, position) "
            "SELECT 'CF-99', theme_id, 'Added by hand', 'not-started', '2022-09-30', 99 "
            "FROM deliverables WHERE ref = 'CF-1'"
        )
    rows = plan_rows(digest_store, LONDON)
    assert rows == _old_plan_rows(digest_store, LONDON)
    assert [type(v) for v in rows[0].values()] == [
        type(v) for v in _old_plan_rows(digest_store, LONDON)[0].values()
    ]
    assert any(r["owner"] is None for r in rows)
    assert any(r["last_update"] is None for r in rows)
    assert any(r["last_update"] is not None and r["note"] is None for r in rows)
    for tz in (dt.UTC, zoneinfo.ZoneInfo("Pacific/Auckland")):
        assert plan_rows(digest_store, tz) == _old_plan_rows(digest_store, tz)
