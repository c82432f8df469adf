"""The paper round in Slack, end to end: signed commands and interactions to the real
`/slack/events` of a running BotProcess, the Web API served by the fake on 127.0.0.1, and
the paper `report --round` then writes from the same database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from slack_rig import Rig, slack_rig

from bot.cli import cli
from store.round import EventKind

OPEN = "round open sept-2022 from 2022-03-01 to 2022-09-14 panel 2022-09-21 due 2022-09-16"
OWNERS = {
    "U0COMMUNITY": "Priya Shah",
    "U0PLANLEAD": "Alex Morgan",
    "U0PREVENT": "Tom Fletcher",
    "U0VICTIMS": "Grace Okafor",
    "U0JUSTICE": "Sam Lee",
    "U0ETHICS": "Dan Hughes",
}


@pytest.fixture
async def rig(tmp_path: Path, example_plan: Path) -> AsyncIterator[Rig]:
    async with slack_rig(tmp_path, example_plan) as rig:
        yield rig


def _text(block: dict[str, Any]) -> str:
    if isinstance(block.get("text"), dict):
        return str(block["text"]["text"])
    return " ".join(
        str(e["text"]["text"] if isinstance(e.get("text"), dict) else e.get("text", ""))
        for e in block.get("elements", [])
    )


def _button(message: dict[str, Any], action_id: str, ref: str | None = None) -> dict[str, Any]:
    for block in message["blocks"]:
        for e in block.get("elements", []) if block["type"] == "actions" else []:
            if e["action_id"] == action_id and (
                ref is None or json.loads(e["value"])["ref"] == ref
            ):
                return dict(e)
        accessory = block.get("accessory")
        if (
            accessory
            and accessory.get("action_id") == action_id
            and (ref is None or json.loads(accessory["value"])["ref"] == ref)
        ):
            return dict(accessory)
    raise AssertionError(f"no {action_id} button for {ref}")


async def _open(rig: Rig) -> dict[str, dict[str, Any]]:
    """Alex opens the round; every owner's DM, by Slack user id."""
    status, body = await rig.command(OPEN, user="U0PLANLEAD", name="open")
    assert (status, body) == (200, "")
    reply = await rig.response("open")
    assert "Opened the round *sept-2022*: 6 owner(s) asked" in reply["text"]
    dms = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))
    return {d["channel"]: d for d in dms}


async def _press(
    rig: Rig, user: str, button: dict[str, Any], name: str, *, wait: bool = True
) -> dict[str, Any]:
    status, _ = await rig.interact(
        {
            "type": "block_actions",
            "user": {"id": user},
            "response_url": rig.fake.response_url(name),
            "trigger_id": f"trigger-{name}",
            "container": {"type": "message", "channel_id": f"D{user}", "message_ts": "1663.1"},
            "actions": [{**button, "block_id": "b", "action_ts": "1"}],
        }
    )
    assert status == 200
    return await rig.response(name) if wait else {}


def _events(rig: Rig, kind: EventKind) -> list[Any]:
    store = rig.store()
    try:
        return [e for e in store.round_events("sept-2022") if e.kind is kind]
    finally:
        store.close()


async def test_each_owner_gets_one_dm_of_their_lines_with_approve_edit_and_not_mine(
    rig: Rig,
) -> None:
    dms = await _open(rig)
    assert sorted(dms) == sorted(OWNERS)
    assert len(rig.fake.calls_to("chat.postMessage")) == 6  # one each
    priya = dms["U0COMMUNITY"]
    assert priya["parse"] == "none" and priya["text"].startswith("6 of your lines")
    blocks = priya["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Your lines for the panel paper", "emoji": True},
    }
    intro = _text(blocks[1])
    assert intro.startswith("Hello Priya Shah :wave: The panel paper for 1 March to 14 September")
    assert "by *Fri 16 September*" in intro
    lines = [b for b in blocks if b["type"] == "section" and _text(b).startswith("*CF-")]
    assert [_text(b).split()[0] for b in lines] == [
        "*CF-1*",
        "*CF-2*",
        "*CF-3*",
        "*CF-7*",
        "*CF-9*",
        "*CF-10*",
    ]
    cf3 = next(b for b in lines if _text(b).startswith("*CF-3*"))
    assert _text(cf3) == (
        "*CF-3* Business Crime Survey · _Completed_\n>Update: Activities completed. Business "
        "Crime Survey launched. Further engagement with the Business Community continuing. See "
        "deliverable in relation to Business Community Event."
    )
    assert cf3["text"]["verbatim"] is True
    actions = blocks[blocks.index(cf3) + 1]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Approve", "Edit", "Not mine"]
    value = json.loads(actions["elements"][0]["value"])
    assert value == {
        "r": "sept-2022",
        "ref": "CF-3",
        "s": ["CF-1", "CF-2", "CF-3", "CF-7", "CF-9", "CF-10"],
    }
    assert _button(priya, "round_approve_all")["text"]["text"] == "Approve all 6 as shown"
    assert len(blocks) <= 50
    grace = dms["U0VICTIMS"]  # the most lines: 13, in one message within Slack's 50 blocks
    assert grace["text"].startswith("13 of your lines") and len(grace["blocks"]) <= 50


async def test_approve_edit_return_and_the_paper_carries_exactly_those_lines(
    rig: Rig, tmp_path: Path
) -> None:
    dms = await _open(rig)
    priya = dms["U0COMMUNITY"]
    approve = _button(priya, "round_approve", "CF-3")
    first = await _press(rig, "U0COMMUNITY", approve, "approve-1")
    assert first["replace_original"] is True
    drawn = [_text(b) for b in first["blocks"]]
    assert any(
        t.startswith(":white_check_mark: Approved by Priya Shah, 14 Sep 13:00") for t in drawn
    )
    assert _button(first, "round_approve_all")["text"]["text"] == "Approve all 5 as shown"
    # The same button pressed again (or Slack retrying it): one event.
    await _press(rig, "U0COMMUNITY", approve, "approve-2")
    [approval] = _events(rig, EventKind.APPROVED)
    assert approval.text.startswith("Activities completed. Business Crime Survey launched.")

    # Edit CF-10 through the form: the line prefilled, with status, due quarter and deps.
    await _press(rig, "U0COMMUNITY", _button(priya, "round_edit", "CF-10"), "edit", wait=False)
    [opened] = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    modal = opened["view"]
    assert opened["trigger_id"] == "trigger-edit" and modal["callback_id"] == "round_edit"
    fields = {b.get("block_id"): b for b in modal["blocks"]}
    assert fields["line"]["element"]["initial_value"].startswith("Activities ongoing. Business")
    assert fields["status"]["element"]["initial_option"]["value"] == "ongoing"
    assert fields["due"]["element"]["initial_option"]["value"] == "Q3 2022/23"
    words = "Business Community Event booked for 12 October at the Guildhall; 60 places."
    submission = {
        "type": "view_submission",
        "user": {"id": "U0COMMUNITY"},
        "view": {
            **modal,
            "id": "VEDIT",
            "state": {
                "values": {
                    "line": {"line": {"type": "plain_text_input", "value": words}},
                    "status": {"status": {"selected_option": {"value": "ongoing"}}},
                    "due": {"due": {"selected_option": {"value": "Q3 2022/23"}}},
                    "flags": {"dependencies": {"selected_options": []}},
                }
            },
        },
    }
    for _ in range(2):  # submitted twice: one event, one update
        assert await rig.interact(submission) == (200, "")
    redrawn = (await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.update")))[0]
    assert redrawn["channel"] == "DU0COMMUNITY" and redrawn["ts"] == "1663.1"
    assert any(_text(b).startswith(":pencil2: Edited by Priya Shah") for b in redrawn["blocks"])
    [edit] = _events(rig, EventKind.EDITED)
    assert edit.text == words
    store = rig.store()
    summary = store.updates_by_id([edit.update_id])[0]
    assert summary.note == words and summary.summary
    store.close()

    # The coordinator returns CF-3 from App Home, with a comment: Priya is asked again.
    await rig.event({"type": "app_home_opened", "user": "U0PLANLEAD", "tab": "home"})
    [home] = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.publish"))
    home_texts = [_text(b) for b in home["view"]["blocks"]]
    assert home_texts[0] == "Paper round sept-2022"
    assert "1 approved · :pencil2: 1 edited · :hourglass_flowing_sand: 48 pending" in home_texts[1]
    back = _button(home["view"], "round_return_open", "CF-3")
    await _press(rig, "U0PLANLEAD", back, "return-open", wait=False)
    opened = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open")[1:])
    returning = opened[0]["view"]
    assert returning["callback_id"] == "round_return"
    comment = "please add the funding figure"
    status, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0PLANLEAD"},
            "view": {
                **returning,
                "id": "VRET",
                "state": {"values": {"comment": {"comment": {"value": comment}}}},
            },
        }
    )
    assert (status, body) == (200, "")
    posts = await rig.fake.wait_for(
        lambda: (
            len(rig.fake.calls_to("chat.postMessage")) >= 8
            and rig.fake.calls_to("chat.postMessage")[6:]
        )
    )
    assert len(posts) == 2  # the owner asked again, once; the coordinator told it is done
    again = next(p for p in posts if p["channel"] == "U0COMMUNITY")
    assert "this line needs another look" in _text(again["blocks"][1])
    assert any(
        _text(b) == f":leftwards_arrow_with_hook: Alex Morgan: {comment}" for b in again["blocks"]
    )
    told = next(p for p in posts if p["channel"] == "U0PLANLEAD")
    assert told["text"] == ":leftwards_arrow_with_hook: Returned *CF-3* to its owner."

    # The paper: CF-3 is a draft again until Priya answers; then exactly CF-3 and CF-10.
    paper = _report(rig, tmp_path)
    assert words + " <!--" not in paper and words in paper
    assert paper.count("<!-- [draft]") == 49
    await _press(rig, "U0COMMUNITY", _button(again, "round_approve", "CF-3"), "approve-3")
    paper = _report(rig, tmp_path)
    assert paper.count("<!-- [draft]") == 48
    settled = [line for line in paper.splitlines() if "Update:" in line and "[draft]" not in line]
    assert len(settled) == 2
    assert settled[0].endswith(approval.text) and settled[1].endswith(words)
    assert len(_events(rig, EventKind.APPROVED)) == 2  # the first, and the one after the return


def _report(rig: Rig, tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        ["report", "--db", str(rig.db_path), "--round", "sept-2022", *args],
        env={"OUTBOX_DIR": str(tmp_path / "outbox")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_not_mine_tells_the_coordinator_and_a_closed_round_says_so(rig: Rig) -> None:
    dms = await _open(rig)
    tom = dms["U0PREVENT"]
    said = await _press(rig, "U0PREVENT", _button(tom, "round_not_mine", "CP-2"), "not-mine")
    assert any("Not mine: the coordinator will reassign it" in _text(b) for b in said["blocks"])
    notices = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage")[6:])
    assert notices[0]["channel"] == "U0PLANLEAD"
    assert "Tom Fletcher says *CP-2*" in notices[0]["blocks"][0]["text"]["text"]
    assert (await rig.command("round close sept-2022", user="U0PLANLEAD", name="close"))[0] == 200
    assert "Closed the round *sept-2022*" in (await rig.response("close"))["text"]
    late = await _press(rig, "U0PREVENT", _button(tom, "round_approve", "CP-3"), "late")
    assert late["replace_original"] is False
    assert "The round sept-2022 closed on 14 September 2022, so nothing was changed" in late["text"]
    assert _events(rig, EventKind.APPROVED) == []


async def test_interactions_per_owner_for_a_round_of_the_example_plan(rig: Rig) -> None:
    """Counted: one press of "Approve all" per owner; line by line, one press per line and
    two for an edit (Edit, then Save)."""
    dms = await _open(rig)
    counts: dict[str, int] = {}
    priya = dms["U0COMMUNITY"]
    for ref in ("CF-1", "CF-2", "CF-3", "CF-7", "CF-9"):
        await _press(rig, "U0COMMUNITY", _button(priya, "round_approve", ref), f"p-{ref}")
        counts["Priya Shah"] = counts.get("Priya Shah", 0) + 1
    await _press(rig, "U0COMMUNITY", _button(priya, "round_edit", "CF-10"), "p-edit", wait=False)
    [opened] = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    view = {
        **opened["view"],
        "id": "V1",
        "state": {"values": {"line": {"line": {"value": "Event booked for October."}}}},
    }
    assert await rig.interact(
        {"type": "view_submission", "user": {"id": "U0COMMUNITY"}, "view": view}
    ) == (200, "")
    counts["Priya Shah"] += 2
    for user, name in OWNERS.items():
        if user != "U0COMMUNITY":
            await _press(rig, user, _button(dms[user], "round_approve_all"), f"all-{user}")
            counts[name] = 1
    await rig.fake.wait_for(lambda: len(_events(rig, EventKind.EDITED)) == 1)
    store = rig.store()
    book = store.round_book("sept-2022")
    store.close()
    assert book is not None and all(v.settled for v in book.views)
    lines = {book.people[o]: len(book.owned_by(o)) for o in book.owners()}
    print(
        "\ninteractions per owner (lines): "
        + ", ".join(f"{n} {counts[n]} ({lines[n]})" for n in lines)
    )
    assert counts == {
        "Priya Shah": 7,  # 6 lines one by one: 5 approvals, and an edit (2)
        "Alex Morgan": 1,
        "Tom Fletcher": 1,
        "Grace Okafor": 1,  # 13 lines
        "Sam Lee": 1,
        "Dan Hughes": 1,
    }
    assert len(_events(rig, EventKind.APPROVED)) == 49 and len(_events(rig, EventKind.EDITED)) == 1


async def test_round_commands_for_editors_and_the_help(rig: Rig) -> None:
    await rig.command("round", user="U0COMMUNITY", name="help")
    assert "*The paper round* (editors)" in (await rig.response("help"))["text"]
    await rig.command(OPEN, user="U0COMMUNITY", name="staff")  # Priya is not an editor
    assert (await rig.response("staff"))[
        "text"
    ] == ":no_entry: Only an editor or admin can run a round."
    await rig.command("round open sept-2022 from 2022-03-01", user="U0PLANLEAD", name="bad")
    assert "Give to, panel, due as dates" in (await rig.response("bad"))["text"]
    await _open(rig)
    await rig.command("round status", user="U0COMMUNITY", name="status")  # anyone may read
    status = (await rig.response("status"))["text"]
    assert status.startswith("*Round sept-2022* · due Fri 16 September, panel Wed 21 September")
    assert "• Grace Okafor: 0/13 settled, 13 pending, 0 not mine" in status
    assert "• VW Supporting Victims and Witnesses: 0/14 settled" in status
    await rig.command(OPEN.replace("sept-2022", "again"), user="U0PLANLEAD", name="second")
    assert (
        "The round sept-2022 is open (due 16 September 2022)"
        in (await rig.response("second"))["text"]
    )
