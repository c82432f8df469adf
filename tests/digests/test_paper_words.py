"""The papers' own words, one rule at a time (digests.paper_words, digests.paper_terms)."""

from __future__ import annotations

import datetime as dt

import pytest

from digests.paper_lines import choose_for_paper, compose_line, find_slip
from digests.paper_words import (
    AcronymSpeller,
    Glossary,
    Words,
    clean_note,
    is_no_change,
    says_nothing,
    sentence_case,
    split_sentences,
    strip_signoff,
)
from store import Source, Status, Update

GLOSSARY = Glossary(
    {
        "w/": "with",
        "w": "with",
        "cllrs": "councillors",
        "biz": "business",
        "re": "regarding",
        "deps": "dependencies",
        "inital": "initial",
        "ECRC": "Eastern Cyber Resilience Centre",
        "CFO": "Chief Finance Officer",
        "ICV": "Independent Custody Visitor",
        "PCC": "Police and Crime Commissioner",
        "BAU": "business as usual",
    }
)
WORDS = Words(GLOSSARY, ("Alex Morgan", "Priya Shah"), {"CP-7": "Drug strategy implementation."})
JULY = dt.date(2022, 7, 14)


def _clean(note: str, on: dt.date | None = JULY) -> list[str]:
    return list(clean_note(note, WORDS, on=on).sentences)


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "chased CFO re biz case. still waiting",
            ["Chased CFO regarding business case.", "Still waiting."],
        ),
        ("inital engagement w ECRC complete", ["Initial engagement with ECRC complete."]),
        ("Biz case re-run", ["Business case re-run."]),  # capital kept; "re-" is not "re"
        ("mtg w/ Alex re biz case", ["Mtg regarding business case."]),  # mtg: not in this glossary
        ("sent to Alex Morgan and cllrs", ["Sent and councillors."]),
        ("see new deliverable (CP-7)", ["See new deliverable (Drug strategy implementation)."]),
        ("(Stop & Search and Use of Force)", ["(Stop & Search and Use of Force)."]),
        ("ends in a bracket) next runs on", ["Ends in a bracket) next runs on."]),
        ("Bid successful!! £887,661 secured", ["Bid successful.", "£887,661 secured."]),
        (
            "lots of deps… Dependencies identified.",
            ["Lots of dependencies.", "Dependencies identified."],
        ),
        ("e.g. the board approx. 180 replies", ["E.g. the board approx. 180 replies."]),
        ("line one\nline two", ["Line one.", "Line two."]),
        ("ongoing - recruited 7 ICVs", ["Recruited 7 ICVs."]),
        ("iPad rollout done", ["iPad rollout done."]),
    ],
)
def test_clean_note(note: str, expected: list[str]) -> None:
    assert _clean(note) == expected


@pytest.mark.parametrize(
    ("note", "dropped"),
    [
        ("update sent to cllrs. Thanks, Priya", "Thanks, Priya"),
        ("update sent to cllrs\n\nThanks Priya", "Thanks Priya"),
        ("update sent. Regards, Sam", "Regards, Sam"),
        ("update sent\n\nKind regards\nPriya Shah\nHead of Victims", "Kind regards"),
        ("bid submitted\nSent from my iPhone", "Sent from my iPhone"),
        ("redraft in progress\n-- \nAlex Morgan\nHead of Business Development", "Alex Morgan"),
        ("Hi all, redraft in progress", "Hi all"),
    ],
)
def test_greetings_and_sign_offs_are_not_the_paper(note: str, dropped: str) -> None:
    text, what = strip_signoff(note)
    assert dropped not in text and what
    assert _clean(note)[0].startswith(("Update sent", "Bid submitted", "Redraft in progress"))


def test_thanks_in_a_sentence_stays() -> None:
    assert _clean("Thanks to partners for the venue") == ["Thanks to partners for the venue."]
    assert strip_signoff("Best Practice Guide published")[0] == "Best Practice Guide published"


@pytest.mark.parametrize(
    ("note", "on", "expected"),
    [
        (
            "slipping to Q4 - waiting on MoJ steer",
            JULY,
            "Slipping to Q4, 2022/23 - waiting on MoJ steer.",
        ),
        ("will revisit Q3/4", JULY, "Will revisit Q3/4, 2022/23."),
        ("will revisit in Q1", JULY, "Will revisit in Q1, 2023/24."),  # looking forward
        ("In Q1 probation shared details", JULY, "In Q1 probation shared details."),  # past
        ("due q4 22/23", JULY, "Due Q4, 2022/23."),
        ("Q3 2022/23 as planned", JULY, "Q3 2022/23 as planned."),
        ("planned for Q2", dt.date(2022, 3, 1), "Planned for Q2, 2022/23."),
        ("planned for Q4", None, "Planned for Q4."),
    ],
)
def test_a_quarter_without_a_year_is_the_next_such_quarter(
    note: str, on: dt.date | None, expected: str
) -> None:
    assert _clean(note, on) == [expected]


def test_sentence_case_and_split() -> None:
    assert sentence_case("£5 raised") == "£5 raised"
    assert sentence_case("eBay listing") == "eBay listing"
    assert sentence_case("(see above)") == "(See above)"
    assert split_sentences("one. two! three? four… five") == [
        "one.",
        "two!",
        "three?",
        "four.",
        "five",
    ]


@pytest.mark.parametrize(
    "note",
    ["no change", "No change, see tactical plan", "as above, BCB", "n/c", "As before", ""],
)
def test_no_change_notes(note: str) -> None:
    assert is_no_change(note) and says_nothing(note)


def test_a_note_that_only_says_its_status_says_nothing() -> None:
    assert says_nothing("ongoing. ongoing.") and says_nothing("still on hold")
    assert not says_nothing("chased CFO re biz case. still waiting")
    assert not is_no_change("Market engagement event planned for Q3")


def test_acronyms_are_spelled_out_at_their_first_use_in_the_paper() -> None:
    speller = AcronymSpeller(GLOSSARY)
    assert speller.apply("Engagement with ECRC and 7 ICVs.") == (
        "Engagement with Eastern Cyber Resilience Centre (ECRC) and 7 Independent Custody "
        "Visitors (ICVs)."
    )
    assert speller.apply("ECRC again.") == "ECRC again."
    assert speller.apply("Eastern Cyber Resilience Centre (ECRC)") == (
        "Eastern Cyber Resilience Centre (ECRC)"
    )
    fresh = AcronymSpeller(GLOSSARY)
    assert fresh.apply("The PCC's new fund.") == (
        "The Police and Crime Commissioner's (PCC's) new fund."
    )
    already = AcronymSpeller(GLOSSARY)
    assert already.apply("With Eastern Cyber Resilience Centre (ECRC).") == (
        "With Eastern Cyber Resilience Centre (ECRC)."
    )


def test_a_glossary_entry_names_a_person_in_the_paper() -> None:
    words = Words(Glossary({"Alex": "the Head of Business Development"}), ("Alex Morgan",))
    cleaned = clean_note("agreed with Alex", words)
    assert cleaned.sentences == ("Agreed with the Head of Business Development.",)
    left = clean_note("Alex to draft the paper", WORDS)
    assert left.names_left == ("Alex",)  # not after a preposition: kept, and flagged


def _u(i: int, note: str, **kw) -> Update:
    fields = {
        "status_before": Status.ONGOING,
        "status_after": Status.ONGOING,
        "due_before": "Q2 2022/23",
        "due_after": "Q2 2022/23",
    }
    fields.update(kw)
    return Update(
        i,
        1,
        None,
        dt.datetime(2022, 3, 1, tzinfo=dt.UTC) + dt.timedelta(weeks=i),
        Source.SLACK,
        note=note,
        **fields,
    )


def _choose(history: list[Update], **kw):
    return choose_for_paper(history, clean=lambda u: clean_note(u.note, WORDS), **kw)


def test_the_right_note_changes_and_the_newest_without_repeats() -> None:
    history = [
        _u(1, "initial scoping underway"),
        _u(2, "Bid successful. £887,661 secured", status_after=Status.COMPLETED),
        _u(3, "no change"),
        _u(4, "grant agreement signed. Bid successful."),
        _u(5, "as above"),
    ]
    choice = _choose(history)
    assert choice.sentences == ("Bid successful.", "£887,661 secured.", "Grant agreement signed.")
    assert choice.rule.startswith("notes that changed something")
    assert "1 note(s) left out" in choice.details[0]  # the newest, "as above"


def test_the_summary_note_wins_and_all_keeps_everything() -> None:
    history = [_u(1, "a"), _u(2, "b", summary=True), _u(3, "c")]
    assert _choose(history).sentences == ("B.",)
    assert [u.note for u in _choose(history, mode="all").chosen] == ["a", "b", "c"]


def test_longer_text_is_cut_at_a_sentence() -> None:
    long = " ".join(f"Sentence {i} has five words." for i in range(10))  # 50 words
    history = [
        _u(1, long, status_after=Status.COMPLETED),
        _u(2, "Another twelve words go here and they will not fit at all."),
    ]
    choice = _choose(history)
    text = " ".join(choice.sentences)
    assert len(text.split()) == 50 and "Another" not in text
    assert any("left out" in d for d in choice.details)


def test_compose_says_nothing_twice() -> None:
    line = compose_line(
        Status.BAU, ["Embedded into BAU.", "17 ICVs in post."], None, False, plain=WORDS.plain
    )
    assert line == "Embedded into business as usual. 17 ICVs in post."
    line = compose_line(Status.ONGOING, ["Ongoing.", "Lots of dependencies."], None, True)
    assert line == "Activities ongoing. Lots of dependencies."
    line = compose_line(
        Status.ONGOING, ["Slipping to Q3."], "Q2 2022/23", False, leave_due_out=True
    )
    assert line == "Activities ongoing. Slipping to Q3."


def test_a_slip_is_answered_by_setting_due_or_naming_the_quarter_again() -> None:
    slip = [_u(1, "slipping to Q3 - waiting on materials")]
    found = find_slip(slip, "Q2 2022/23", tz=dt.UTC)
    assert found is not None and str(found.named) == "Q3 2022/23"
    answered = [*slip, _u(2, "moved", due_after="Q3 2022/23")]
    assert find_slip(answered, "Q3 2022/23", tz=dt.UTC) is None
    kept = [*slip, _u(2, "due quarter kept at Q2 2022/23")]
    assert find_slip(kept, "Q2 2022/23", tz=dt.UTC) is None
