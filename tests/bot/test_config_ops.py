"""The settings for backups and the reverse proxy: defaults, and errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_backup_and_proxy_defaults() -> None:
    s = load_settings({"DELIVERABOT_DB": "/srv/bot/office.db"}, env_file=None)
    assert s.backups == Path("/srv/bot/backups")  # beside the database, wherever it is
    assert s.backup_keep == 14
    assert s.trust_proxy is False


def test_backup_and_proxy_settings() -> None:
    s = load_settings(
        {"BACKUP_DIR": "/mnt/b", "BACKUP_KEEP": "0", "TRUST_PROXY": "yes"}, env_file=None
    )
    assert (s.backups, s.backup_keep, s.trust_proxy) == (Path("/mnt/b"), 0, True)


@pytest.mark.parametrize(
    ("name", "value"),
    [("BACKUP_KEEP", "-1"), ("BACKUP_KEEP", "lots"), ("TRUST_PROXY", "maybe")],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, env_file=None)
