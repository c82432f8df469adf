"""The `/deliverable` grammar (also used for email subjects): pure parsing."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.grammar import (
    AddCommand,
    AwayCommand,
    GrammarError,
    HelpCommand,
    ListCommand,
    ShowCommand,
    SimpleCommand,
    UpdateCommand,
    parse_command,
)
from store import Status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "update CF-3 ongoing due Q3 2022/23: Market engagement event planned",
            UpdateCommand("CF-3", Status.ONGOING, "Q3 2022/23", "Market engagement event planned"),
        ),
        ("update cf-3 done", UpdateCommand("CF-3", Status.COMPLETED, None, "")),
        (
            "update CF-3 in progress: started",
            UpdateCommand("CF-3", Status.ONGOING, None, "started"),
        ),
        ("update CF-3 business as usual", UpdateCommand("CF-3", Status.BAU, None, "")),
        (
            "update CF-3 paused: waiting on MoJ",
            UpdateCommand("CF-3", Status.ON_HOLD, None, "waiting on MoJ"),
        ),
        ("update CF-3 due Q3/Q4, 2022/23", UpdateCommand("CF-3", None, "Q3/Q4 2022/23", "")),
        ("update CF-3: just a note", UpdateCommand("CF-3", None, None, "just a note")),
        (
            "update business crime survey complete: done",
            UpdateCommand("business crime survey", Status.COMPLETED, None, "done"),
        ),
        (
            "update victims provider forum: first meeting",
            UpdateCommand("victims provider forum", None, None, "first meeting"),
        ),
        ("update", UpdateCommand()),
        ("update CF-3", UpdateCommand("CF-3")),
        ("update CF-3: time 10:30 agreed", UpdateCommand("CF-3", None, None, "time 10:30 agreed")),
    ],
)
def test_update_grammar(text: str, expected: UpdateCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "dependencies", "due", "summary", "ref"),
    [
        ("update CF-3 deps: waiting on the MoJ", True, None, False, "CF-3"),
        ("update CF-3 dependencies", True, None, False, "CF-3"),
        ("update CF-3 no deps: MoJ steer received", False, None, False, "CF-3"),
        ("update CF-3 no dependencies", False, None, False, "CF-3"),
        ("update CF-3 ongoing due Q3 2022/23 deps summary: x", True, "Q3 2022/23", True, "CF-3"),
        ("update CF-3 due Q3/Q4, 2022/23 no deps: x", False, "Q3/Q4 2022/23", False, "CF-3"),
        ("update CF-3 deps due Q4 2022/23: x", True, "Q4 2022/23", False, "CF-3"),
        ("update CF-3 summary deps: x", True, None, True, "CF-3"),
        ("update CF-3 no deps completed: x", False, None, False, "CF-3"),  # any order
        ("update CF-3 due Q4 2022/23 ongoing deps: x", True, "Q4 2022/23", False, "CF-3"),
        ("update business crime survey deps: x", True, None, False, "business crime survey"),
        ("update dependencies: x", None, None, False, "dependencies"),  # a title, not a flag
        ("update CF-3 ongoing: no deps yet", None, None, False, "CF-3"),  # the note is the note
    ],
)
def test_dependencies_in_the_grammar(
    text: str, dependencies: bool | None, due: str | None, summary: bool, ref: str
) -> None:
    cmd = parse_command(text)
    assert isinstance(cmd, UpdateCommand)
    assert (cmd.ref, cmd.dependencies, cmd.due, cmd.summary) == (ref, dependencies, due, summary)
    assert not cmd.needs_form or dependencies is None


def test_needs_form() -> None:
    assert parse_command("update").needs_form
    assert parse_command("update CF-3").needs_form
    assert not parse_command("update CF-3 done").needs_form


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("update CF-3 sideways", "I did not understand 'sideways'"),
        ("update CF-3 deps sideways", "dependencies as `deps` or `no deps`"),
        ("update CF-3 done ongoing", "I did not understand 'done'"),
        ("update CF-3 due soon", "is not a quarter"),
        ("update : a note", "Say which deliverable before the note"),
        ("update done", "Say which deliverable"),
        ("show", "Say which deliverable to show"),
        ("away tomorrow", "away until"),
        ("away until someday", "is not a date"),
    ],
)
def test_errors_say_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(GrammarError, match=message):
        parse_command(text)


def test_other_commands() -> None:
    assert parse_command("") == HelpCommand()
    assert parse_command("help") == HelpCommand()
    assert parse_command("dance") == HelpCommand(unknown="dance")
    assert parse_command("list") == ListCommand(None)
    assert parse_command("list stale") == ListCommand("stale")
    assert parse_command("show CF-3") == ShowCommand("CF-3")
    assert parse_command("add CF Rural Crime Plan") == AddCommand("CF", "Rural Crime Plan")
    assert parse_command("add") == AddCommand(None, None)
    assert parse_command("away until 2022-09-30") == AwayCommand(dt.date(2022, 9, 30))
    assert parse_command("away until 30/09/2022") == AwayCommand(dt.date(2022, 9, 30))
    assert parse_command("away off") == AwayCommand(None)
    assert parse_command("digest") == SimpleCommand("digest")
    assert parse_command("stats") == SimpleCommand("stats")


@given(st.text(max_size=200))
def test_never_crashes_on_any_text(text: str) -> None:
    with contextlib.suppress(GrammarError):
        parse_command(text)
