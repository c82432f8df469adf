from __future__ import annotations

import datetime as dt

from digests.stats import bank_holidays, correspondence_stats, working_days_between
from store import Office

D = dt.date


def test_working_days_skip_weekends_and_bank_holidays() -> None:
    eng = bank_holidays("ENG", 2022, 2023)
    assert D(2022, 12, 26) in eng and D(2022, 12, 27) in eng
    assert working_days_between(D(2022, 12, 23), D(2022, 12, 28), eng) == 1
    assert working_days_between(D(2022, 9, 5), D(2022, 9, 14), eng) == 7
    assert working_days_between(D(2022, 9, 5), D(2022, 9, 5), eng) == 0
    # St Andrew's Day is a bank holiday in Scotland only.
    sct = bank_holidays("SCT", 2022, 2022)
    assert working_days_between(D(2022, 11, 29), D(2022, 12, 1), sct) == 1
    assert working_days_between(D(2022, 11, 29), D(2022, 12, 1), eng) == 2


def test_targets_per_category() -> None:
    rows = [
        # 5 to 30 September 2022 is 18 working days: 19 September (the State Funeral) was a
        # bank holiday.
        {"received_on": "2022-09-05", "category": "mp", "answered_on": "2022-09-30"},
        {"received_on": "2022-09-05", "category": "public", "answered_on": "2022-09-30"},
        {"received_on": "2022-09-06", "category": "public", "answered_on": None},
    ]
    stats = correspondence_stats(rows, by="category", office=Office(answer_targets=(("mp", 15),)))
    by = {s.key: s for s in stats}
    assert by["mp"].within_target == 0 and by["mp"].target_days == 15
    assert by["public"].within_target == 1 and by["public"].share_within_target == 50.0
    assert by["public"].median_days_to_answer == 18.0
    weeks = correspondence_stats(rows, by="week", office=Office())
    assert [(s.key, s.received) for s in weeks] == [("2022-W36", 3)]


def test_letters_not_yet_due_do_not_count_against_the_share() -> None:
    rows = [
        {"received_on": "2022-09-05", "category": "public", "answered_on": "2022-09-07"},
        {"received_on": "2022-09-12", "category": "public", "answered_on": None},
        {"received_on": "2022-09-13", "category": "public", "answered_on": None},
    ]
    [row] = correspondence_stats(rows, by="category", office=Office(), today=D(2022, 9, 14))
    assert (row.received, row.answered, row.decided) == (3, 1, 1)
    assert row.share_within_target == 100.0
    # Nothing answered and nothing overdue yet: no share at all, rather than "0%".
    [fresh] = correspondence_stats(rows[1:], by="month", office=Office(), today=D(2022, 9, 14))
    assert fresh.share_within_target is None
    # Weeks later the unanswered ones are past their target and count as missed.
    [late] = correspondence_stats(rows, by="category", office=Office(), today=D(2022, 11, 30))
    assert late.decided == 3 and late.share_within_target == 33.3
