"""The digest's counts and owner lists from SQL over the current state equal the Python
pass over every deliverable they replace (both paths, the same week)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from digests.digest import week_bounds
from digests.digest_week import _counts, _owners, _Week
from store import Office, Status, Store

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.mark.parametrize("week", [37, 38, 45, 52])
def test_sql_lists_equal_the_python_pass(digest_store: Store, week: int) -> None:
    office = Office(tz=LONDON)
    start, end = week_bounds(2022, week, office.tz)
    sunday = (end - dt.timedelta(days=1)).date()
    assert digest_store.current_at(end)
    w = _Week(
        start=start,
        end=end,
        sunday=sunday,
        start_month=office.fy_start_month,
        people={p.id: p.name for p in digest_store.people()},
        deliverables={d.id: d for d in digest_store.deliverables() if d.added_on <= sunday},
        history=digest_store.updates(since=start, until=end),
        board_url=None,
    )
    w.state = digest_store.states_at(end)
    start_status: dict[int, Status] = {}
    for u in w.history:
        if u.status_before is not None:
            start_status.setdefault(u.deliverable_id, u.status_before)
    assert _counts(digest_store, w, start_status, current=True) == _counts(
        digest_store, w, start_status, current=False
    )
    for listed in (set(), set(list(w.deliverables)[:7])):
        sql = _owners(digest_store, w, listed, 4, current=True)
        python = _owners(digest_store, w, listed, 4, current=False)
        assert sql == python
        assert sum(g.size for g in sql) > 0
