"""manifest.json creates the app in one step and matches what the code listens for."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
SLACK_CODE = "\n".join(p.read_text() for p in sorted((ROOT / "handlers" / "slack").glob("*.py")))


def _registered(kind: str) -> set[str]:
    from handlers.slack import LISTENERS

    return {str(matcher) for method, matcher, _ in LISTENERS if method == kind}


def test_command_shortcut_home_and_events() -> None:
    features = MANIFEST["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/deliverable"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert {s["callback_id"] for s in features["shortcuts"]} == _registered("shortcut")


def test_events_the_code_handles_are_subscribed() -> None:
    handled = _registered("event")
    assert handled == set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])


def test_scopes_cover_the_web_api_calls() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needs = {
        "users_info": "users:read",
        "chat_postMessage": "chat:write",
        "views_open": "commands",
    }
    for call, scope in needs.items():
        if call in SLACK_CODE:
            assert scope in scopes, (call, scope)
    assert "users:read.email" in scopes  # people are matched by email through users.info


def test_every_url_points_at_slack_events() -> None:
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [MANIFEST["settings"]["event_subscriptions"]["request_url"]]
    urls += [MANIFEST["settings"]["interactivity"]["request_url"]]
    assert all(u.endswith("/slack/events") for u in urls)
