"""Settings come from the environment and .env, with errors that name the variable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_embedded_defaults_match_the_design(tmp_path: Path) -> None:
    s = load_settings({}, env_file=tmp_path / "none.env")
    assert str(s.db_path) == "data/deliverabot.db"
    assert (s.http_host, s.port) == ("127.0.0.1", 3000)
    assert (s.smtp_host, s.smtp_port) == ("127.0.0.1", 8025)
    assert s.mail_domain == "localhost"
    assert s.slack_api_url == "https://slack.com/api/"
    assert str(s.digest_schedule) == "mon 09:00"
    assert s.tz_name == "Europe/London"
    assert str(s.outbox_dir) == "data/outbox"
    assert s.max_message_bytes == 10 * 1024 * 1024
    assert s.max_plan_bytes == 5 * 1024 * 1024
    assert not s.slack_enabled


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT='http': must be a whole number"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT='70000': must be between 0 and 65535"),
        ({"DELIVERABOT_TZ": "Mars/Olympus"}, "DELIVERABOT_TZ='Mars/Olympus': unknown time zone"),
        ({"DIGEST_SCHEDULE": "someday"}, "DIGEST_SCHEDULE='someday'"),
        ({"DIGEST_SCHEDULE": "mon 25:00"}, "is not a time of day"),
        ({"SMTP_RELAY": "relay.example.org"}, "SMTP_RELAY='relay.example.org': expected host:port"),
        (
            {"ALLOWED_SENDERS": "example.org"},
            "ALLOWED_SENDERS: 'example.org' is not an address or @domain",
        ),
        ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
        (
            {"SMTP_TRUSTED_PEERS": "10.0.0.5, mx.opcc.example"},
            "SMTP_TRUSTED_PEERS: 'mx.opcc.example' is not an IP address or CIDR range",
        ),
        ({"SMTP_TRUSTED_PEERS": "10.0.0.0/33"}, "SMTP_TRUSTED_PEERS: '10.0.0.0/33'"),
        ({"MAX_PLAN_BYTES": "5MB"}, "MAX_PLAN_BYTES='5MB': must be a whole number"),
        ({"MAX_PLAN_BYTES": "10"}, "MAX_PLAN_BYTES='10': must be between 1024 and"),
    ],
)
def test_wrong_values_name_the_variable(env: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env, env_file=tmp_path / "none.env")
    assert message in str(err.value)


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nMAIL_DOMAIN=opcc.example.org\nDIGEST_SCHEDULE=fri 10:30\n")
    s = load_settings({"PORT": "5000"}, env_file=env_file)
    assert s.port == 5000
    assert s.mail_domain == "opcc.example.org"
    assert s.digest_schedule.day == "fri" and s.digest_schedule.time == dt.time(10, 30)


def test_secrets_never_appear_in_repr(tmp_path: Path) -> None:
    s = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-123-secret", "SLACK_SIGNING_SECRET": "shh-signing"},
        env_file=tmp_path / "none.env",
    )
    assert s.slack_enabled
    assert "xoxb" not in repr(s) and "shh-signing" not in repr(s)
    assert "xoxb" not in str(s.describe())


def test_lists_are_split_and_lowercased(tmp_path: Path) -> None:
    s = load_settings(
        {
            "ALLOWED_SENDERS": "Clerk@Council.gov.uk, @parliament.uk",
            "DIGEST_EMAILS": "a@x.org b@x.org",
        },
        env_file=tmp_path / "none.env",
    )
    assert s.allowed_senders == ("clerk@council.gov.uk", "@parliament.uk")
    assert s.digest_emails == ("a@x.org", "b@x.org")


def test_trusted_peers_are_addresses_and_ranges(tmp_path: Path) -> None:
    s = load_settings(
        {"SMTP_TRUSTED_PEERS": "192.0.2.25, 10.1.2.3/16 2001:db8::/32"},
        env_file=tmp_path / "none.env",
    )
    assert [str(n) for n in s.trusted_peers] == ["192.0.2.25/32", "10.1.0.0/16", "2001:db8::/32"]
    assert load_settings({}, env_file=tmp_path / "none.env").trusted_peers == ()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN: required"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN: an app-level token",
        ),
    ],
)
def test_partial_slack_credentials_fail_at_start(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env, env_file=tmp_path / "none.env")


def test_socket_mode_needs_no_signing_secret(tmp_path: Path) -> None:
    s = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-x"}, env_file=tmp_path / "n"
    )
    assert s.slack_enabled and s.socket_mode


def test_smtp_max_sessions_defaults_to_50_and_is_checked(tmp_path: Path) -> None:
    none = tmp_path / "none.env"
    assert load_settings({}, env_file=none).smtp_max_sessions == 50
    assert load_settings({"SMTP_MAX_SESSIONS": "200"}, env_file=none).smtp_max_sessions == 200
    with pytest.raises(ConfigError, match=r"SMTP_MAX_SESSIONS='0': must be between 1 and 10000"):
        load_settings({"SMTP_MAX_SESSIONS": "0"}, env_file=none)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOARD_URL": "deliverabot.example.org/board"}, "BOARD_URL="),
        ({"BOARD_URL": "https://x.example.org/board|<!channel>"}, "BOARD_URL="),
        ({"BOARD_URL": "https://x.example.org/my board"}, "BOARD_URL="),
        ({"PANEL_DATES": "2022-09-14,14/02/2023"}, "PANEL_DATES: '14/02/2023' is not a date"),
        ({"ACCESSIBILITY_CONTACT": "the office"}, "ACCESSIBILITY_CONTACT="),
    ],
)
def test_board_and_panel_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("|", r"\|")):
        load_settings(env, env_file=None)


def test_board_and_panel_settings(tmp_path: Path) -> None:
    s = load_settings(
        {
            "BOARD_URL": "https://deliverabot.example.org/board/",
            "PANEL_DATES": "2023-02-08, 2022-09-14",
            "ACCESSIBILITY_CONTACT": "access@opcc.example.org",
        },
        env_file=None,
    )
    assert s.board_url == "https://deliverabot.example.org/board"
    assert s.panel_dates == (dt.date(2022, 9, 14), dt.date(2023, 2, 8))
    assert s.accessibility_contact == "access@opcc.example.org"
    unset = load_settings({}, env_file=None)
    assert (unset.board_url, unset.panel_dates, unset.accessibility_contact) == (None, (), None)
