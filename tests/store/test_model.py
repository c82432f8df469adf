from __future__ import annotations

import pytest

from store.model import Deliverable, Person, Role, Status, normalise_status


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("done", Status.COMPLETED),
        ("Complete", Status.COMPLETED),
        ("started", Status.ONGOING),
        ("in progress", Status.ONGOING),
        ("paused", Status.ON_HOLD),
        ("business as usual", Status.BAU),
        ("not-started", Status.NOT_STARTED),
        ("on-hold", Status.ON_HOLD),
    ],
)
def test_status_synonyms(typed: str, status: Status) -> None:
    assert normalise_status(typed) is status


def test_unknown_status_is_none() -> None:
    assert normalise_status("finished-ish") is None


def test_papers_wording() -> None:
    assert Status.BAU.wording == "Embedded into business as usual."
    assert Status.NOT_STARTED.wording == "Activities not started."


def test_owner_or_editor_may_update() -> None:
    import datetime as dt

    d = Deliverable(1, "CF-1", 1, "t", Status.ONGOING, 7, None, False, dt.date(2022, 1, 1), 1)
    assert d.can_be_updated_by(Person(7, "Owner", "o@x.org"))
    assert not d.can_be_updated_by(Person(8, "Other", "p@x.org"))
    assert d.can_be_updated_by(Person(9, "Ed", "e@x.org", role=Role.EDITOR))
