"""The channel-neutral use cases: list, show, update from a command, add and away give
results that any channel renders, and plan import and ``add`` create alike."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.grammar import ListCommand, parse_update
from handlers.service import add_deliverable, command_request, record_update, set_away
from handlers.service.listing import Unidentified, list_deliverables, show_deliverable
from store import Office, Source, Status, Store

NOW = dt.datetime(2022, 9, 14, 12, tzinfo=dt.UTC)


def _refs(listing) -> list[str]:
    return [r.deliverable.ref for r in listing.rows]


def test_list_scopes(plan_store: Store, person) -> None:
    priya = person("priya.shah@example.org")
    every = list_deliverables(
        plan_store, ListCommand("all"), actor=None, office=Office(clock=lambda: NOW, stale_weeks=4)
    )
    assert every.title == "All deliverables" and len(every.rows) == len(plan_store.deliverables())
    opened = list_deliverables(
        plan_store, ListCommand(), actor=None, office=Office(clock=lambda: NOW, stale_weeks=4)
    )
    assert all(r.deliverable.status is not Status.COMPLETED for r in opened.rows)
    assert opened.title == "Open deliverables" and 0 < len(opened.rows) < len(every.rows)
    mine = list_deliverables(
        plan_store,
        ListCommand("mine"),
        actor=priya,
        office=Office(clock=lambda: NOW, stale_weeks=4),
    )
    assert mine.rows and {r.deliverable.owner_id for r in mine.rows} == {priya.id}
    theme = list_deliverables(
        plan_store, ListCommand("cf"), actor=None, office=Office(clock=lambda: NOW, stale_weeks=4)
    )
    assert theme.title.startswith("CF · ") and all(
        r.deliverable.ref.startswith("CF-") for r in theme.rows
    )
    stale = list_deliverables(
        plan_store,
        ListCommand("stale"),
        actor=None,
        office=Office(clock=lambda: NOW, stale_weeks=4),
    )
    assert stale.title == "Stale deliverables (no update for 4 weeks)"
    assert all(r.stale for r in stale.rows)


def test_list_mine_needs_to_know_who_asks(plan_store: Store) -> None:
    with pytest.raises(Unidentified):
        list_deliverables(
            plan_store,
            ListCommand("MINE"),
            actor=None,
            office=Office(clock=lambda: NOW, stale_weeks=4),
        )


def test_show_gives_the_newest_updates_first(plan_store: Store, person) -> None:
    priya = person("priya.shah@example.org")
    for n in range(6):
        record_update(
            plan_store,
            command_request(parse_update(f"CF-10: note {n}"), actor=priya, source=Source.CLI),
        )
    shown = show_deliverable(plan_store, "cf-10")
    assert shown.deliverable.ref == "CF-10" and shown.theme.code == "CF"
    assert [u.note for u in shown.updates] == [f"note {n}" for n in (5, 4, 3, 2, 1)]
    assert shown.owner is not None and shown.owner.id == priya.id


def test_one_step_from_command_to_request(person) -> None:
    cmd = parse_update("CF-3 completed due Q4 2022/23 deps summary: Survey done")
    priya = person("priya.shah@example.org")
    request = command_request(cmd, actor=priya, source=Source.EMAIL, idempotency_key="k")
    assert (request.deliverable, request.status, request.due) == (
        "CF-3",
        Status.COMPLETED,
        "Q4 2022/23",
    )
    assert (request.dependencies, request.summary, request.note) == (True, True, "Survey done")
    assert (request.source, request.actor, request.idempotency_key) == (Source.EMAIL, priya, "k")
    with_body = command_request(cmd, actor=priya, source=Source.EMAIL, note="Survey done\n\nMore")
    assert with_body.note == "Survey done\n\nMore"


def test_add_creates_like_plan_import(plan_store: Store, person) -> None:
    imported = plan_store.updates(deliverable_id=plan_store.deliverable_by_ref("CF-1").id)[0]
    priya = person("priya.shah@example.org")
    added = add_deliverable(
        plan_store,
        theme="CF",
        title="Rural crime survey 2023",
        actor=priya,
        source=Source.SLACK,
        today=dt.date(2022, 9, 14),
    )
    [created] = plan_store.updates(deliverable_id=added.id)
    assert created.created and imported.created  # both start their history the same way
    assert (created.status_after, created.person_id, created.dependencies) == (
        Status.NOT_STARTED,
        priya.id,
        None,  # add says nothing of dependencies; a plan file does
    )
    assert imported.dependencies is not None


def test_away_says_until_when(plan_store: Store, person) -> None:
    priya = person("priya.shah@example.org")
    away = set_away(plan_store, actor=priya, until=dt.date(2022, 9, 30), today=dt.date(2022, 9, 14))
    assert (away.person, away.until) == (priya, dt.date(2022, 9, 30))
    assert plan_store.person(priya.id).away_until == dt.date(2022, 9, 30)
    assert set_away(plan_store, actor=priya, until=None, today=dt.date(2022, 9, 14)).until is None
