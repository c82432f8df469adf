"""Shared fixtures: real temporary SQLite files and the example plan."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from handlers.plan import load_plan
from handlers.service import import_plan
from store import Person, Store, open_store

hypothesis_settings.register_profile("reliability", max_examples=2000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
EXAMPLE_PLAN = ROOT / "examples" / "opcc-plan-2021-24.yaml"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def fresh_store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "deliverabot.db")
    yield store
    store.close()


@pytest.fixture
def plan_store(fresh_store: Store) -> Store:
    """A store holding the example OPCC plan."""
    import_plan(fresh_store, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
    return fresh_store


@pytest.fixture
def person(plan_store: Store):
    def get(email: str) -> Person:
        p = plan_store.person_by_email(email)
        assert p is not None, email
        return p

    return get


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the installed console script in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DELIVERABOT_"))}
    env["DELIVERABOT_DB"] = str(tmp_path / "cli.db")
    env["OUTBOX_DIR"] = str(tmp_path / "outbox")
    return env


@pytest.fixture
def deliverabot_exe() -> str:
    exe = Path(sys.executable).parent / "deliverabot"
    assert exe.exists(), "the deliverabot console script is not installed in this venv"
    return str(exe)


@pytest.fixture
def example_plan() -> Path:
    return EXAMPLE_PLAN
