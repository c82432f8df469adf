"""A paper round part-way through, on a database holding the example plan: shared by the
board's HTTP test and its browser test (the README's screenshot)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests.round_lines import draft_lines
from handlers.service.round import approve_line, approve_waiting, edit_line, not_mine
from handlers.service.round_admin import OpenRound, open_round, return_line
from store import Office, Source, Status, Store

OPENED = dt.datetime(2022, 9, 12, 9, tzinfo=dt.UTC)
HOSTILE = "<script>alert(1)</script> Bid of £887,661 secured; grant agreement signed."


def seed_round(store: Store) -> None:
    """sept-2022: Grace and Dan approved everything, Alex some, Tom edited one line (with a
    hostile note) and says one is not his, Priya's CF-3 was returned; the rest pending."""
    person = store.person_by_email
    alex, tom, grace, dan, priya = (
        person(f"{n}@example.org")
        for n in ("alex.morgan", "tom.fletcher", "grace.okafor", "dan.hughes", "priya.shah")
    )
    assert alex and tom and grace and dan and priya
    request = OpenRound(
        "sept-2022",
        dt.date(2022, 3, 1),
        dt.date(2022, 9, 14),
        dt.date(2022, 9, 21),
        dt.date(2022, 9, 20),
    )
    lines = draft_lines(
        store,
        day_from=request.period_from,
        day_to=request.period_to,
        office=Office(tz=zoneinfo.ZoneInfo("Europe/London")),
    )
    open_round(store, request, actor=alex, lines=lines, now=OPENED, today=OPENED.date())
    at = OPENED + dt.timedelta(hours=5)
    for who in (grace, dan):
        approve_waiting(store, "sept-2022", actor=who, now=at, source="slack")
    for ref in ("CF-4", "CF-5", "CF-6"):
        approve_line(store, "sept-2022", ref=ref, actor=alex, now=at, source="slack")
    edit_line(
        store,
        "sept-2022",
        ref="CP-3",
        actor=tom,
        text=HOSTILE,
        now=at,
        source=Source.SLACK,
        key="seed-edit",
        status=Status.ONGOING,
    )
    not_mine(store, "sept-2022", ref="CP-2", actor=tom, now=at, source="slack")
    approve_line(store, "sept-2022", ref="CF-3", actor=priya, now=at, source="email")
    return_line(
        store,
        "sept-2022",
        ref="CF-3",
        actor=alex,
        comment="please add the funding figure",
        now=at + dt.timedelta(hours=1),
    )
