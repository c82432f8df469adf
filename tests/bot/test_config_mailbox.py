"""MAILBOX_* and SMTP_TLS_* settings: parsed, defaulted, and wrong values named."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

URL = "imaps://bot@opcc.example.org@outlook.office365.com/Inbox"


def _load(tmp_path: Path, **env: str) -> object:
    return load_settings(env, env_file=tmp_path / "none.env")


def test_a_microsoft_365_mailbox_url_and_its_defaults(tmp_path: Path) -> None:
    s = load_settings(
        {
            "MAILBOX_URL": URL,
            "MAILBOX_AUTH": "xoauth2",
            "MAILBOX_TENANT": "opcc.onmicrosoft.com",
            "MAILBOX_CLIENT_ID": "abc",
            "MAILBOX_CLIENT_SECRET": "s3cret-value",
        },
        env_file=None,
    )
    m = s.mailbox
    assert m is not None
    assert (m.host, m.port, m.tls, m.user) == (
        "outlook.office365.com",
        993,
        "imaps",
        "bot@opcc.example.org",
    )
    assert m.folders == (("Inbox", "correspondence"),)
    assert (m.after, m.processed_folder, m.stale_minutes) == ("move", "Processed", 30)
    assert m.scope == "https://outlook.office365.com/.default"
    assert m.authority == "https://login.microsoftonline.com"
    # The start of the current financial year (April).
    today = dt.date.today()
    assert m.since == dt.date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    assert "s3cret-value" not in repr(s) and "s3cret-value" not in str(s.describe())
    assert s.describe()["mailbox"].startswith("bot@opcc.example.org at outlook.office365.com")


def test_folders_since_and_seen(tmp_path: Path) -> None:
    s = load_settings(
        {
            "MAILBOX_URL": "imap://bot%40opcc.example.org@imap.example.org/",
            "MAILBOX_PASSWORD": "pw",
            "MAILBOX_FOLDERS": "INBOX, Complaints=correspondence+complaint, Bot updates=updates",
            "MAILBOX_SINCE": "2022-04-01",
            "MAILBOX_AFTER": "seen",
        },
        env_file=None,
    )
    m = s.mailbox
    assert m is not None and m.user == "bot@opcc.example.org"
    assert (m.port, m.tls) == (143, "starttls")
    assert m.folders == (
        ("INBOX", "correspondence"),
        ("Complaints", "correspondence+complaint"),
        ("Bot updates", "updates"),
    )
    assert m.since == dt.date(2022, 4, 1) and m.after == "seen"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAILBOX_URL": "https://outlook.office365.com"}, "MAILBOX_URL: expected imaps://"),
        ({"MAILBOX_URL": "imaps://bot:pw@host/Inbox"}, "MAILBOX_URL: put the password in"),
        ({"MAILBOX_URL": URL}, "MAILBOX_PASSWORD: required with MAILBOX_AUTH=password"),
        ({"MAILBOX_URL": URL, "MAILBOX_AUTH": "kerberos"}, "MAILBOX_AUTH='kerberos'"),
        ({"MAILBOX_URL": URL, "MAILBOX_AUTH": "xoauth2"}, "MAILBOX_TENANT: required"),
        (
            {
                "MAILBOX_URL": URL,
                "MAILBOX_AUTH": "xoauth2",
                "MAILBOX_TENANT": "t",
                "MAILBOX_CLIENT_ID": "c",
            },
            "MAILBOX_CLIENT_SECRET or MAILBOX_CLIENT_CERT",
        ),
        (
            {"MAILBOX_URL": URL, "MAILBOX_PASSWORD": "p", "MAILBOX_FOLDERS": "X=complaints"},
            "MAILBOX_FOLDERS: 'X=complaints'",
        ),
        (
            {"MAILBOX_URL": URL, "MAILBOX_PASSWORD": "p", "MAILBOX_SINCE": "April"},
            "MAILBOX_SINCE='April'",
        ),
        ({"MAILBOX_URL": URL, "MAILBOX_PASSWORD": "p", "MAILBOX_AFTER": "delete"}, "MAILBOX_AFTER"),
        ({"SMTP_TLS_CERT": "/no/such.pem"}, "SMTP_TLS_CERT='/no/such.pem': no such file"),
        ({"SMTP_REQUIRE_TLS": "true"}, "SMTP_REQUIRE_TLS: needs SMTP_TLS_CERT"),
    ],
)
def test_wrong_mailbox_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env, env_file=None)
    assert message in str(err.value)


def test_mail_sync_without_a_mailbox_is_one_clear_line(
    deliverabot_exe: str, cli_env: dict[str, str]
) -> None:
    run = subprocess.run(
        [deliverabot_exe, "mail", "sync"], env=cli_env, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert run.stderr.strip() == (
        "deliverabot: MAILBOX_URL is not set: say which mailbox to read (see the README)"
    )


def test_a_graph_mailbox_url() -> None:
    s = load_settings(
        {
            "MAILBOX_URL": "graph://correspondence@opcc.example.org/Inbox",
            "MAILBOX_TENANT": "t",
            "MAILBOX_CLIENT_ID": "c",
            "MAILBOX_CLIENT_SECRET": "s",
        },
        env_file=None,
    )
    m = s.mailbox
    assert m is not None and m.api == "graph" and m.auth == "xoauth2"
    assert (m.user, m.host) == ("correspondence@opcc.example.org", "https://graph.microsoft.com")
    assert m.scope == "https://graph.microsoft.com/.default"
    with pytest.raises(ConfigError, match="Microsoft Graph needs MAILBOX_AUTH=xoauth2"):
        load_settings(
            {"MAILBOX_URL": "graph://c@o.example/Inbox", "MAILBOX_AUTH": "password"},
            env_file=None,
        )
    with pytest.raises(ConfigError, match=r"MAILBOX_GRAPH_URL='http://graph\.example'"):
        load_settings(
            {
                "MAILBOX_URL": "graph://c@o.example/Inbox",
                "MAILBOX_GRAPH_URL": "http://graph.example",
                "MAILBOX_TENANT": "t",
                "MAILBOX_CLIENT_ID": "c",
                "MAILBOX_CLIENT_SECRET": "s",
            },
            env_file=None,
        )
