"""Six months of an office's weekly life on the example plan, for the digest's tests.

The example plan is imported as the office did (``start: 2021-11-29``: 43 deliverables on
that day, seven added later), and then 26 weeks follow the September 2022 panel, from
19 September 2022 to 19 March 2023: staff notes, completions, slipped quarters, holds and
resumptions through the shared service, and forwarded correspondence at the papers' rate
(about 130 pieces a month). It is deterministic (a fixed seed), so the weeks below are fixed:

- ``IMPORT_WEEK``: the week the plan's deliverables were recorded as added;
- ``BUSY_WEEK``: a bid won, completions, a slip, a hold, and a dozen notes;
- ``QUIET_WEEK``: Christmas: no update and no letter;
- ``NO_MAIL_WEEK``: updates, but no correspondence.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from handlers.plan import load_plan
from handlers.service import (
    CorrespondenceRequest,
    UpdateRequest,
    import_plan,
    record_correspondence,
    record_update,
)
from store import Deliverable, Source, Status, Store, open_store, parse_quarter_span

FIRST_MONDAY = dt.date(2022, 9, 19)
WEEKS = 26
IMPORT_WEEK = (2021, 48)
BUSY_WEEK = (2022, 44)
QUIET_WEEK = (2022, 52)
NO_MAIL_WEEK = (2023, 2)
PANELS = (dt.date(2022, 9, 14), dt.date(2023, 2, 8), dt.date(2023, 9, 13))

NOTES = [
    "Met partners to agree the next steps; actions assigned.",
    "Draft shared with the Business Co-ordination Board for comment.",
    "Procurement exercise under way; three bids received.",
    "Workshop held with community safety partnership leads.",
    "Data sharing agreement signed by the Constabulary.",
    "Consultation closed with 412 responses; analysis started.",
    "Officer briefing delivered to neighbourhood teams in Peterborough.",
    "Funding confirmed for the next financial year.",
    "Report to the Commissioner's office scheduled for the next board.",
    "Terms of reference agreed; first meeting booked.",
    "Recruitment advert published; interviews in four weeks.",
    "Evaluation framework drafted with the university.",
    "See the shared file Q3_review_v2 for the figures (Panel_pack).",
    "Steering group met; *risk register* updated.",
]
COMPLETIONS = [
    "Final report published on the Commissioner's website.",
    "Launched at the partnership event; now with the teams.",
    "Signed off by the Business Co-ordination Board.",
]
SLIPS = [
    "Constabulary data is late; publication moves a quarter.",
    "Supplier delay; delivery moves to the next quarter.",
    "Waiting for the national guidance before going further.",
]
HOLDS = [
    "Paused pending the budget review.",
    "On hold while the post is vacant.",
]
RESUMES = ["Budget confirmed; work restarts.", "Post filled; work restarts."]
CATEGORIES = ["public"] * 9 + ["complaint"] * 3 + ["mp", "councillor", "partner", "media", "foi"]


def _monday(year: int, week: int) -> dt.date:
    return dt.date.fromisocalendar(year, week, 1)


def _later(due: str | None) -> str | None:
    if not due:
        return None
    span = parse_quarter_span(due)
    after = span.last_day + dt.timedelta(days=1)
    quarter = (after.month - 4) % 12 // 3 + 1
    year = after.year if after.month >= 4 else after.year - 1
    return f"Q{quarter} {year}/{(year + 1) % 100:02d}"


def _update(
    store: Store,
    d: Deliverable,
    when: dt.datetime,
    note: str,
    status: Status | None = None,
    due: str | None = None,
) -> None:
    owner = store.person(d.owner_id) if d.owner_id else None
    actor = owner or store.person_by_email("alex.morgan@example.org")
    assert actor is not None
    record_update(
        store,
        UpdateRequest(
            deliverable=d.ref,
            actor=actor,
            source=Source.SLACK,
            note=note,
            status=status,
            due=due,
            recorded_at=when,
        ),
    )


def _week_of_updates(store: Store, rng: random.Random, monday: dt.date, busy: bool) -> None:
    open_ones = [d for d in store.deliverables() if d.status in (Status.ONGOING, Status.BAU)]
    waiting = [d for d in store.deliverables() if d.status is Status.NOT_STARTED]
    held = [d for d in store.deliverables() if d.status is Status.ON_HOLD]
    n = rng.randint(9, 12) if busy else rng.randint(1, 6)
    picks = rng.sample(open_ones, min(n, len(open_ones)))

    def at(i: int) -> dt.datetime:
        day = monday + dt.timedelta(days=i % 5)
        return dt.datetime.combine(day, dt.time(9 + i % 8, 15), tzinfo=dt.UTC)

    for i, d in enumerate(picks):
        roll = rng.random()
        if busy and i == 0:
            _update(
                store,
                d,
                at(i),
                "Bid won: £887,661 from the Home Office Safer Streets Fund.",
                Status.COMPLETED,
            )
        elif roll < (0.25 if busy else 0.1) and d.status is Status.ONGOING:
            _update(store, d, at(i), rng.choice(COMPLETIONS), Status.COMPLETED)
        elif roll < (0.4 if busy else 0.15) and d.status is Status.ONGOING and d.due:
            _update(store, d, at(i), rng.choice(SLIPS), due=_later(d.due))
        elif roll < (0.5 if busy else 0.18) and d.status is Status.ONGOING:
            _update(store, d, at(i), rng.choice(HOLDS), Status.ON_HOLD)
        else:
            _update(store, d, at(i), rng.choice(NOTES))
    if waiting and rng.random() < (0.9 if busy else 0.3):
        _update(store, rng.choice(waiting), at(6), "Scoping started.", Status.ONGOING)
    if held and rng.random() < 0.3:
        _update(store, rng.choice(held), at(7), rng.choice(RESUMES), Status.ONGOING)


def _week_of_letters(store: Store, rng: random.Random, monday: dt.date, week_no: int) -> None:
    for i in range(rng.randint(22, 38)):
        day = monday + dt.timedelta(days=rng.randint(0, 4))
        out = record_correspondence(
            store,
            CorrespondenceRequest(
                dedup_key=f"six-{week_no}-{i}",
                received_on=day,
                category=rng.choice(CATEGORIES),
                forwarder="priya.shah@example.org",
                sender_domain="example.com",
            ),
        )
        if rng.random() < 0.7:
            with store.transaction():
                store.mark_answered(
                    out.correspondence_id, day + dt.timedelta(days=rng.randint(2, 30))
                )


def build_six_months(path: Path, example_plan: Path) -> Path:
    """Write the six-month database to ``path`` and return it."""
    store = open_store(path)
    try:
        import_plan(store, load_plan(example_plan), today=dt.date(2022, 9, 14))
        rng = random.Random(18)
        for n in range(WEEKS):
            monday = FIRST_MONDAY + dt.timedelta(weeks=n)
            key = monday.isocalendar()[:2]
            if key == QUIET_WEEK:
                continue
            _week_of_updates(store, rng, monday, busy=key == BUSY_WEEK)
            if key != NO_MAIL_WEEK:
                _week_of_letters(store, rng, monday, n)
    finally:
        store.close()
    return path
