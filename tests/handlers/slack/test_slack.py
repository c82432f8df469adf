"""Slack, end to end: signed requests to the real `/slack/events` of a running BotProcess,
with the Web API served by a fake on 127.0.0.1 that records every call."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fake_slack import sign
from slack_rig import SECRET, Rig, slack_rig
from slack_rig import form_state as _state

from store import Status


@pytest.fixture
async def rig(tmp_path: Path, example_plan: Path) -> AsyncIterator[Rig]:
    async with slack_rig(tmp_path, example_plan) as rig:
        yield rig


def _texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            out.append(b["text"]["text"])
        for e in b.get("elements", []):
            if isinstance(e, dict) and isinstance(e.get("text"), str):
                out.append(e["text"])
            elif isinstance(e, dict) and isinstance(e.get("text"), dict):
                out.append(e["text"]["text"])
    return "\n".join(out)


# -- /deliverable -------------------------------------------------------------------


async def test_help_and_unknown_subcommand(rig: Rig) -> None:
    status, body = await rig.command("help")
    assert status == 200
    reply = json.loads(body)
    assert "/deliverable update CF-3 ongoing due Q3 2022/23" in reply["text"]
    status, body = await rig.command("frobnicate")
    assert status == 200
    assert "I don't know `frobnicate`" in json.loads(body)["text"]


async def test_update_fast_path_records_and_confirms(rig: Rig) -> None:
    status, body = await rig.command(
        "update CF-10 done due Q3 2022/23: Event held at <!channel> HQ"
    )
    assert status == 200 and body == ""
    reply = await rig.response()
    assert reply["response_type"] == "ephemeral"
    text = _texts(reply["blocks"])
    assert "Status: Ongoing → *Completed*" in text
    assert "Due: Q3 2022/23 (unchanged)" in text
    store = rig.store()
    d = store.deliverable_by_ref("CF-10")
    assert d.status is Status.COMPLETED
    newest = store.updates(deliverable_id=d.id, newest_first=True)[0]
    assert newest.note == "Event held at <!channel> HQ"
    assert newest.source.value == "slack"
    assert newest.person_id == store.person_by_email("priya.shah@example.org").id


async def test_grammar_error_gets_a_helpful_ephemeral_reply(rig: Rig) -> None:
    status, body = await rig.command("update CF-10 sideways: hmm")
    assert status == 200
    reply = json.loads(body)
    assert "I did not understand 'sideways'" in reply["text"]
    status, body = await rig.command("update CF-10 due someday")
    assert "is not a quarter" in json.loads(body)["text"]


async def test_service_refusal_is_ephemeral_and_stores_nothing(rig: Rig) -> None:
    before = len(rig.store().updates())
    await rig.command("update CF-10 paused")
    reply = await rig.response()
    assert "on hold needs a note" in reply["text"]
    assert len(rig.store().updates()) == before


async def test_ambiguous_title_offers_buttons_then_records_the_choice(rig: Rig) -> None:
    await rig.command("update review ongoing: Scoping started", user="U0PLANLEAD")
    reply = await rig.response()
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) >= 2
    assert "Which one did you mean?" in _texts(reply["blocks"])
    choice = next(b for b in buttons if json.loads(b["value"])["ref"] == "VW-6")
    status, _ = await rig.interact(
        {
            "type": "block_actions",
            "user": {"id": "U0PLANLEAD"},
            "response_url": rig.fake.response_url("choice"),
            "trigger_id": "t2",
            "actions": [{**choice, "block_id": "choose_0", "action_ts": "1"}],
        }
    )
    assert status == 200
    done = await rig.response("choice")
    assert done["replace_original"] is True
    assert "Not started → *Ongoing*" in _texts(done["blocks"])
    store = rig.store()
    d = store.deliverable_by_ref("VW-6")
    assert d.status is Status.ONGOING
    assert store.updates(deliverable_id=d.id, newest_first=True)[0].note == "Scoping started"


async def test_unknown_user_is_refused_with_an_admin_named(rig: Rig) -> None:
    await rig.command("update CF-10 ongoing: hi", user="USTRANGER")
    reply = await rig.response()
    assert "I don't know who you are" in reply["text"]
    assert "Alex Morgan" in reply["text"]


async def test_user_matched_by_email_and_linked(rig: Rig) -> None:
    await rig.command("update VW-4 ongoing: Research scheduled", user="UNEWGRACE")
    reply = await rig.response()
    assert "Recorded an update on *VW-4*" in _texts(reply["blocks"])
    assert rig.store().person_by_identity("slack", "UNEWGRACE").email == "grace.okafor@example.org"


async def test_only_owners_and_editors_may_update(rig: Rig) -> None:
    await rig.command("update VW-4 ongoing: not mine", user="U0PREVENT")
    reply = await rig.response()
    assert "Only Grace Okafor or an editor can update VW-4" in reply["text"]


async def test_list_show_and_scopes(rig: Rig) -> None:
    await rig.command("list", name="all")
    everything = await rig.response("all")
    text = _texts(everything["blocks"])
    assert "*CF · Putting Communities First*" in text
    assert (
        ":large_blue_circle: *CF-10* Business Community Event · due Q3 2022/23 · updated 2 weeks ago"
        in text
    )
    assert "CF-3*" not in text  # completed ones are left out of the default list
    assert len(everything["blocks"]) <= 50 and everything["text"]

    await rig.command("list stale", name="stale")
    stale = _texts((await rig.response("stale"))["blocks"])
    assert "VW-3" in stale and "CF-10" not in stale

    await rig.command("list mine", user="U0PREVENT", name="mine")
    mine = _texts((await rig.response("mine"))["blocks"])
    assert "CP-5" in mine and "CF-10" not in mine

    await rig.command("list crime prev", name="theme")
    theme = _texts((await rig.response("theme"))["blocks"])
    assert theme.startswith("*CP · Crime Prevention*")

    await rig.command("show CF-8", name="show")
    show = _texts((await rig.response("show"))["blocks"])
    assert "*CF-8 · Recruitment of a Community and Engagement Officer*" in show
    assert "On hold" in show and "owner Alex Morgan" in show
    assert "Recruitment on hold whilst business model reviewed during Q2." in show


async def test_a_list_kept_for_a_burst_shows_the_next_update(rig: Rig) -> None:
    # Replies to `list` are kept while the data is unchanged (handlers/slack/replies.py):
    # a burst gets the same answer, and the next update shows at once.
    for n in range(3):
        await rig.command("list", name=f"before{n}")
    before = [_texts((await rig.response(f"before{n}"))["blocks"]) for n in range(3)]
    assert before[0] == before[1] == before[2]
    assert ":large_blue_circle: *CF-10* Business Community Event" in before[0]
    await rig.command("update CF-10 on-hold: paused", name="upd")
    assert "Recorded an update on *CF-10*" in _texts((await rig.response("upd"))["blocks"])
    await rig.command("list", name="after")
    after = _texts((await rig.response("after"))["blocks"])
    assert ":large_blue_circle: *CF-10*" not in after
    assert "*CF-10* Business Community Event · due Q3 2022/23 · updated today" in after


async def test_user_text_never_pings(rig: Rig) -> None:
    await rig.command("update CF-9: <!channel> <!here> <@U0PREVENT> & *bold*")
    await rig.response()
    await rig.command("show CF-9", name="show")
    shown = await rig.response("show", 1)
    text = json.dumps(shown)
    assert "<!channel>" not in text and "<!here>" not in text and "<@U0PREVENT>" not in text
    # Formatting characters get a zero-width space so *bold* stays literal.
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U0PREVENT&gt; &amp; \u200b*bold\u200b*" in _texts(
        shown["blocks"]
    )


def _mrkdwn_objects(payload: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn":
            found.append(payload)
        for value in payload.values():
            found += _mrkdwn_objects(value)
    elif isinstance(payload, list):
        for value in payload:
            found += _mrkdwn_objects(value)
    return found


async def test_plain_broadcast_words_and_line_breaks_never_ping_or_forge(rig: Rig) -> None:
    note = "Met @channel and @here, then @everyone.\n• fake bullet\n*Fake heading*"
    await rig.command(f"update CF-9: {note}")
    reply = await rig.response()
    await rig.command("show CF-9", name="show")
    shown = await rig.response("show", 1)
    for payload in (reply, shown):
        text = _texts(payload["blocks"]) + payload.get("text", "")
        assert "@channel" not in text and "@here" not in text and "@everyone" not in text
        # Slack is told not to pre-process any staff text.
        assert all(o.get("verbatim") is True for o in _mrkdwn_objects(payload["blocks"]))
    shown_text = _texts(shown["blocks"])
    assert "@\u2060channel" in shown_text and "\n• fake bullet" not in shown_text
    line = next(li for li in shown_text.splitlines() if "Met @" in li)
    assert "fake bullet" in line and "Fake heading" in line
    # The stored note is what was typed: the audit trail keeps it as it was.
    store = rig.store()
    newest = store.updates(deliverable_id=store.deliverable_by_ref("CF-9").id, newest_first=True)
    assert newest[0].note == note


async def test_non_numeric_timestamp_is_401_like_any_forgery(rig: Rig) -> None:
    body = urllib.parse.urlencode(
        {"command": "/deliverable", "text": "update CF-10 done: x", "user_id": "U0COMMUNITY"}
    )
    for stamp in ("abc", "", "1e9", "17000000000000000000000000"):
        headers = {**sign(SECRET, body), "X-Slack-Request-Timestamp": stamp}
        status, text = await rig.post(body, headers)
        assert status == 401, stamp
        assert "Traceback" not in text
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


async def test_add_and_away(rig: Rig) -> None:
    await rig.command("add CF Rural Crime Action Plan", name="add")
    reply = await rig.response("add")
    assert "Added *CF-13* Rural Crime Action Plan" in reply["text"]
    d = rig.store().deliverable_by_ref("CF-13")
    assert d.status is Status.NOT_STARTED and d.added_on == dt.date(2022, 9, 14)

    await rig.command("away until 2022-09-30", name="away")
    assert "No reminders until 30 September 2022" in (await rig.response("away"))["text"]
    assert rig.store().person_by_email("priya.shah@example.org").away_until == dt.date(2022, 9, 30)


# -- the modal ------------------------------------------------------------------------


async def test_modal_round_trip_with_inline_errors(rig: Rig) -> None:
    status, _ = await rig.command("update CF-9")
    assert status == 200
    opened = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    view = opened[0]["view"]
    assert opened[0]["trigger_id"] == "trig-1"
    assert view["callback_id"] == "deliverable_update"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["deliverable"]["element"]["type"] == "external_select"
    assert blocks["deliverable"]["element"]["initial_option"]["value"] == "CF-9"
    assert blocks["status"]["element"]["initial_option"]["value"] == "ongoing"
    assert "Q3 2022/23" in [o["value"] for o in blocks["due"]["element"]["options"]]
    assert blocks["flags"]["element"]["initial_options"][0]["value"] == "dependencies"

    # Options for the type-ahead picker come from the store.
    status, body = await rig.interact(
        {
            "type": "block_suggestion",
            "action_id": "deliverable_picker",
            "block_id": "deliverable",
            "value": "victim hub",
            "user": {"id": "U0COMMUNITY"},
        }
    )
    assert [o["value"] for o in json.loads(body)["options"]] == ["VW-6"]

    submission = {
        "type": "view_submission",
        "user": {"id": "U0COMMUNITY"},
        "view": {**view, "id": "V1", "state": _state("CF-9", "on-hold", None, "", deps=True)},
    }
    # What needs no database is checked in the form, before it closes.
    submission["view"]["state"] = _state(None, "on-hold", None, "Paused", deps=True)
    status, body = await rig.interact(submission)
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"deliverable": "Choose a deliverable."},
    }
    # What needs the database is checked once the form has closed (it is acknowledged
    # before any store access): the refusal comes by DM, with a button to open it again.
    submission["view"]["state"] = _state("CF-9", "on-hold", None, "", deps=True)
    status, body = await rig.interact(submission)
    assert (status, body) == (200, "")
    [refusal] = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))
    assert refusal["channel"] == "U0COMMUNITY"
    assert "Putting a deliverable on hold needs a note explaining why." in refusal["text"]
    button = refusal["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["value"]) == ("open_update", "CF-9")
    assert rig.store().deliverable_by_ref("CF-9").status is Status.ONGOING

    submission["view"]["state"] = _state(
        "CF-9", "on-hold", "Q4 2022/23", "Software business case rejected; re-scoping.", deps=True
    )
    status, body = await rig.interact(submission)
    assert status == 200 and body == ""
    dm = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage")[1:])
    assert dm[0]["channel"] == "U0COMMUNITY"
    assert "Ongoing → *On hold*" in _texts(dm[0]["blocks"])
    d = rig.store().deliverable_by_ref("CF-9")
    assert (d.status, d.due, d.dependencies) == (Status.ON_HOLD, "Q4 2022/23", True)


async def test_modal_refuses_someone_elses_deliverable(rig: Rig) -> None:
    _, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0PREVENT"},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "deliverable_update",
                "private_metadata": "{}",
                "state": _state("CF-9", None, None, "note"),
            },
        }
    )
    assert body == ""  # the form closes at once; the refusal follows by DM
    [dm] = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))
    assert dm["text"].startswith(":warning: Only Priya Shah or an editor can update CF-9.")
    assert "Your note was: note" in dm["text"]
    d = rig.store().deliverable_by_ref("CF-9")
    assert rig.store().updates(deliverable_id=d.id, newest_first=True)[0].note != "note"


async def test_add_without_arguments_opens_the_add_modal(rig: Rig) -> None:
    await rig.command("add CP")
    opened = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    view = opened[0]["view"]
    assert view["callback_id"] == "deliverable_add"
    assert view["blocks"][0]["element"]["initial_option"]["value"] == "CP"
    status, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0PREVENT"},
            "view": {
                **view,
                "id": "V2",
                "state": {
                    "values": {
                        "theme": {"theme": {"selected_option": {"value": "CP"}}},
                        "title": {"title": {"value": "Knife crime education"}},
                    }
                },
            },
        }
    )
    assert status == 200 and body == ""
    dm = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))
    assert dm[0]["channel"] == "U0PREVENT" and dm[0]["text"] == "Added CP-8 Knife crime education."
    assert rig.store().deliverable_by_ref("CP-8").title == "Knife crime education"
    # A duplicate title is refused once the form has closed, by DM.
    status, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0PREVENT"},
            "view": {
                **view,
                "id": "V3",
                "state": {
                    "values": {
                        "theme": {"theme": {"selected_option": {"value": "CP"}}},
                        "title": {"title": {"value": "knife crime  education"}},
                    }
                },
            },
        }
    )
    assert body == ""
    dm = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage")[1:])
    assert "CP already has a deliverable called 'knife crime education'." in dm[0]["text"]
    assert rig.store().deliverable_by_ref("CP-9") is None
    # An empty title is refused in the form, before it closes.
    status, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0PREVENT"},
            "view": {
                **view,
                "id": "V4",
                "state": {
                    "values": {
                        "theme": {"theme": {"selected_option": {"value": "CP"}}},
                        "title": {"title": {"value": "   "}},
                    }
                },
            },
        }
    )
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"title": "Give the new deliverable a title."},
    }


# -- App Home, shortcut, security, retries ------------------------------------------------


async def test_home_tab_lists_own_deliverables_stale_first(rig: Rig) -> None:
    status, _ = await rig.event(
        {"type": "app_home_opened", "user": "UNEWGRACE", "tab": "home", "channel": "D1"}
    )
    assert status == 200
    published = (await rig.fake.wait_for(lambda: rig.fake.calls_to("views.publish")))[0]
    assert published["user_id"] == "UNEWGRACE"
    blocks = published["view"]["blocks"]
    assert published["view"]["type"] == "home" and len(blocks) <= 100
    mine = [b for b in blocks if b.get("accessory", {}).get("action_id") == "open_update"]
    refs = [b["accessory"]["value"] for b in mine]
    assert refs[0] == "VW-3"  # the stale one comes first
    assert "VW-12" in refs and "CF-10" not in refs
    assert "Plan overview" in json.dumps(blocks)
    # Grace's personal address for updates by mail: the same code the CLI prints.
    store = rig.store()
    grace = store.person_by_email("grace.okafor@example.org")
    token = store.mail_token(grace.id)
    assert token and f"updates+{token}@" in _texts(blocks)

    # The Update button opens the same modal.
    await rig.interact(
        {
            "type": "block_actions",
            "user": {"id": "UNEWGRACE"},
            "trigger_id": "t9",
            "actions": [
                {
                    "action_id": "open_update",
                    "value": "VW-3",
                    "block_id": "b",
                    "type": "button",
                    "action_ts": "1",
                }
            ],
        }
    )
    opened = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    assert opened[0]["view"]["blocks"][0]["element"]["initial_option"]["value"] == "VW-3"


async def test_message_shortcut_prefills_note_and_link(rig: Rig) -> None:
    status, _ = await rig.interact(
        {
            "type": "message_action",
            "callback_id": "record_update_shortcut",
            "trigger_id": "t3",
            "user": {"id": "U0COMMUNITY"},
            "channel": {"id": "C42"},
            "message": {"ts": "1662000000.000100", "text": "Event venue booked for 3 November"},
            "response_url": rig.fake.response_url("sc"),
        }
    )
    assert status == 200
    opened = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.open"))
    view = opened[0]["view"]
    note = next(b for b in view["blocks"] if b["block_id"] == "note")
    assert note["element"]["initial_value"] == "Event venue booked for 3 November"
    meta = json.loads(view["private_metadata"])
    assert meta["link"] == "https://opcc.slack.com/archives/C42/p1662000000000100"

    status, body = await rig.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0COMMUNITY"},
            "view": {
                **view,
                "id": "V3",
                "state": _state("CF-10", None, None, "Event venue booked for 3 November"),
            },
        }
    )
    assert body == ""
    await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))  # the confirmation DM
    newest = rig.store().updates(
        deliverable_id=rig.store().deliverable_by_ref("CF-10").id, newest_first=True
    )[0]
    assert newest.note == "Event venue booked for 3 November"
    row = rig.store().db.execute("SELECT link FROM updates WHERE id = ?", [newest.id]).fetchone()
    assert row[0] == meta["link"]


async def test_forged_and_replayed_requests_get_401(rig: Rig) -> None:
    body = urllib.parse.urlencode(
        {"command": "/deliverable", "text": "update CF-10 done: x", "user_id": "U0COMMUNITY"}
    )
    status, _ = await rig.post(body, sign("wrong-secret", body))
    assert status == 401
    status, _ = await rig.post(body, sign(SECRET, body, timestamp=int(time.time()) - 6 * 60))
    assert status == 401
    status, _ = await rig.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401
    assert rig.store().deliverable_by_ref("CF-10").status is Status.ONGOING


async def test_rate_limited_web_api_call_is_retried(rig: Rig) -> None:
    rig.fake.fail_next("views.publish", 429, {"Retry-After": "1"})
    await rig.event(
        {"type": "app_home_opened", "user": "U0COMMUNITY", "tab": "home", "channel": "D1"}
    )
    published = await rig.fake.wait_for(lambda: rig.fake.calls_to("views.publish"), timeout=15)
    assert len(published) == 1
    assert rig.fake.attempts["views.publish"] == 2


async def test_ack_comes_back_while_the_database_is_locked(rig: Rig) -> None:
    import sqlite3

    blocker = sqlite3.connect(rig.db_path)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock
    try:
        status, body = await rig.command("update CF-10 ongoing: Venue booked")
        # The HTTP ack arrived although no write can happen yet.
        assert (status, body) == (200, "")
        assert rig.fake.responses == []
    finally:
        blocker.rollback()
        blocker.close()
    reply = await rig.response()
    assert "Recorded an update on *CF-10*" in _texts(reply["blocks"])


async def test_modal_closes_while_the_database_is_locked_then_records(rig: Rig) -> None:
    import sqlite3

    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "deliverable_update",
        "private_metadata": "{}",
    }
    blocker = sqlite3.connect(rig.db_path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        status, body = await rig.interact(
            {
                "type": "view_submission",
                "user": {"id": "U0COMMUNITY"},
                "view": {**view, "state": _state("CF-10", "completed", None, "Held")},
            }
        )
        assert (status, body) == (200, "")  # acknowledged before any store access
        assert rig.fake.calls_to("chat.postMessage") == []
    finally:
        blocker.rollback()
        blocker.close()
    dm = await rig.fake.wait_for(lambda: rig.fake.calls_to("chat.postMessage"))
    assert "Ongoing → *Completed*" in _texts(dm[0]["blocks"])
    assert rig.store().deliverable_by_ref("CF-10").status is Status.COMPLETED


async def test_digest_and_stats_previews(rig: Rig) -> None:
    await rig.command("digest", name="digest")
    digest = await rig.response("digest")
    assert digest["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Police and Crime Plan 2021-24 – weekly digest"},
    }
    assert "Week 37, 12–18 September 2022" in json.dumps(digest["blocks"][1], ensure_ascii=False)
    await rig.command("stats", name="stats")
    stats = await rig.response("stats")
    assert stats["text"] == "No correspondence recorded in the last 12 weeks."


async def test_shutdown_waits_for_work_already_acknowledged(rig: Rig) -> None:
    import asyncio
    import sqlite3

    blocker = sqlite3.connect(rig.db_path)
    blocker.execute("BEGIN IMMEDIATE")  # the listener's write will have to wait
    try:
        status, body = await rig.command("update CF-10 ongoing: Venue confirmed")
        assert (status, body) == (200, "")
        assert rig.process.slack_deps.inflight  # acknowledged, still at work
        stopping = asyncio.create_task(rig.process.stop())  # SIGTERM right after the ack
        await asyncio.sleep(0.3)
        assert not stopping.done()  # stop() waits for it
    finally:
        blocker.rollback()
        blocker.close()
    await stopping
    assert not rig.process.slack_deps.inflight
    d = rig.store().deliverable_by_ref("CF-10")
    assert rig.store().updates(deliverable_id=d.id, newest_first=True)[0].note == "Venue confirmed"


# -- dependencies in the grammar (issue 16) --------------------------------------------


async def test_deps_on_the_slash_command_sets_and_clears_the_flag(rig: Rig) -> None:
    await rig.command("update CF-10 deps: Waiting on the venue", name="on")
    text = _texts((await rig.response("on"))["blocks"])
    assert "Dependencies: *identified*" in text
    store = rig.store()
    d = store.deliverable_by_ref("CF-10")
    assert d.dependencies is True
    newest = store.updates(deliverable_id=d.id, newest_first=True)[0]
    assert (newest.dependencies, newest.note) == (True, "Waiting on the venue")
    await rig.command("update CF-10 no deps", name="off")
    assert "Dependencies: *none any more*" in _texts((await rig.response("off"))["blocks"])
    assert rig.store().deliverable_by_ref("CF-10").dependencies is False


# -- a note that names a later quarter asks once (issue 16) ----------------------------


def _slip_buttons(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    actions = [b for b in reply["blocks"] if b["type"] == "actions" and b["block_id"] == "slip"]
    return {e["text"]["text"]: e for b in actions for e in b["elements"]}


async def _click(rig: Rig, button: dict[str, Any], user: str, name: str) -> dict[str, Any]:
    status, _ = await rig.interact(
        {
            "type": "block_actions",
            "user": {"id": user},
            "response_url": rig.fake.response_url(name),
            "trigger_id": "t3",
            "actions": [{**button, "block_id": "slip", "action_ts": "1"}],
        }
    )
    assert status == 200
    return await rig.response(name)


async def test_a_slip_in_the_note_asks_once_and_move_records_the_due(rig: Rig) -> None:
    await rig.command("update CF-10: slipping to Q4 - venue closed for works")
    reply = await rig.response()
    assert "Your note says *Q4 2022/23*, later than the due quarter *Q3 2022/23*" in _texts(
        reply["blocks"]
    )
    buttons = _slip_buttons(reply)
    assert set(buttons) == {"Move due to Q4 2022/23", "Keep Q3 2022/23"}
    store = rig.store()
    d = store.deliverable_by_ref("CF-10")
    assert d.due == "Q3 2022/23"  # nothing moves until someone answers
    before = len(store.updates(deliverable_id=d.id))
    done = await _click(rig, buttons["Move due to Q4 2022/23"], "U0COMMUNITY", "move")
    assert done["replace_original"] is True
    assert "Due: Q3 2022/23 → *Q4 2022/23*" in _texts(done["blocks"])
    assert not _slip_buttons(done)  # the answer asks nothing more
    ups = store.updates(deliverable_id=d.id)
    assert len(ups) == before + 1
    answer = ups[-1]
    assert (answer.due_before, answer.due_after) == ("Q3 2022/23", "Q4 2022/23")
    assert answer.note == "slipping to Q4 - venue closed for works"  # the reason, again
    assert answer.person_id == store.person_by_email("priya.shah@example.org").id
    assert store.deliverable_by_ref("CF-10").due == "Q4 2022/23"
    again = await _click(rig, buttons["Keep Q3 2022/23"], "U0COMMUNITY", "again")
    assert "answered already" in again["text"]
    assert len(store.updates(deliverable_id=d.id)) == before + 1


async def test_keep_records_that_the_quarter_stands(rig: Rig) -> None:
    await rig.command("update CF-10: pushed back to Q4 2022/23?")
    buttons = _slip_buttons(await rig.response())
    stranger = await _click(rig, buttons["Keep Q3 2022/23"], "U0PREVENT", "tom")
    assert "Only the person who wrote the note, or an editor, can answer" in stranger["text"]
    done = await _click(rig, buttons["Keep Q3 2022/23"], "U0COMMUNITY", "keep")
    assert "Due: Q3 2022/23 (unchanged)" in _texts(done["blocks"])
    store = rig.store()
    d = store.deliverable_by_ref("CF-10")
    newest = store.updates(deliverable_id=d.id, newest_first=True)[0]
    assert newest.note == "No change to the due quarter: Q3 2022/23 stands."
    assert (d.due, newest.due_after) == ("Q3 2022/23", "Q3 2022/23")


async def test_no_question_when_the_update_sets_due_or_names_no_later_quarter(rig: Rig) -> None:
    await rig.command("update CF-10 due Q4 2022/23: slipping to Q4 - venue closed", name="set")
    assert not _slip_buttons(await rig.response("set"))
    await rig.command("update CF-10: event still planned for Q4 2022/23", name="plain")
    assert not _slip_buttons(await rig.response("plain"))
    await rig.command("update CF-9: now Q1 2023/24", name="nodue")  # CF-9 has no due quarter
    assert not _slip_buttons(await rig.response("nodue"))
