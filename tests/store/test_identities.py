"""People have an identity per channel: the ``identities`` table replaces ``people.slack_id``,
and the upgrade keeps every link."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from handlers.plan import parse_plan
from handlers.service import import_plan, link_identity
from store import Store, open_store
from store.schema import migrations


def test_the_upgrade_moves_every_slack_id_to_an_identity(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="m016_identities")
    rows = [
        {"id": 1, "name": "Jane Doe", "email": "jane@example.org", "slack_id": "U0JANE"},
        {"id": 2, "name": "Tom Ford", "email": "tom@example.org", "slack_id": None},
        {"id": 3, "name": "Ana Ruiz", "email": "ana@example.org", "slack_id": "U0ANA"},
        {"id": 4, "name": "Ana Twin", "email": "ana2@example.org", "slack_id": "U0ANA"},
    ]
    old["people"].insert_all({**r, "role": "staff"} for r in rows)
    old.conn.close()
    store = open_store(path)
    try:
        columns = {c.name for c in store.db["people"].columns}
        assert "slack_id" not in columns
        links = store.db.execute(
            "SELECT person_id, channel, external_id FROM identities ORDER BY person_id"
        ).fetchall()
        assert links == [(1, "slack", "U0JANE"), (3, "slack", "U0ANA"), (4, "slack", "U0ANA")]
        jane = store.person_by_identity("slack", "U0JANE")
        assert jane is not None and jane.email == "jane@example.org"
        assert jane.identity("slack") == "U0JANE" and jane.identities == (("slack", "U0JANE"),)
        shared = store.person_by_identity("slack", "U0ANA")
        assert shared is not None and shared.id == 3  # the first, as the column gave it
        tom = store.person_by_email("tom@example.org")
        assert tom is not None and tom.identity("slack") is None
    finally:
        store.close()


def test_a_second_platform_is_another_identity_not_another_column(plan_store: Store) -> None:
    priya = plan_store.person_by_email("priya.shah@example.org")
    assert priya is not None
    slack = priya.identity("slack")
    assert slack is not None
    link_identity(plan_store, person=priya, channel="teams", external_id="29:1abc")
    again = plan_store.person_by_identity("teams", "29:1abc")
    assert again is not None and again.id == priya.id
    assert dict(again.identities) == {"slack": slack, "teams": "29:1abc"}
    assert plan_store.person_by_identity("teams", slack) is None  # ids are per channel


PLAN = """
plan: P
office: O
people:
  - {name: Jane Doe, email: jane@example.org, slack: U0JANE, role: editor}
  - {name: Tom Ford, email: tom@example.org}
themes:
  - code: CF
    name: Communities
    deliverables:
      - {title: Survey, owner: jane@example.org}
"""


def test_the_plan_file_s_slack_key_is_the_slack_identity(fresh_store: Store) -> None:
    import_plan(fresh_store, parse_plan(PLAN), today=dt.date(2022, 9, 14))
    jane = fresh_store.person_by_identity("slack", "U0JANE")
    assert jane is not None and jane.email == "jane@example.org"
    tom = fresh_store.person_by_email("tom@example.org")
    assert tom is not None and tom.identities == ()
    # The file is the plan's word: a slack: taken out is forgotten, as the column was.
    import_plan(
        fresh_store, parse_plan(PLAN.replace(", slack: U0JANE", "")), today=dt.date(2022, 9, 15)
    )
    assert fresh_store.person_by_identity("slack", "U0JANE") is None
