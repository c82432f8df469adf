"""Fixtures for the fault suite; the harness is tests/support/reliability_harness.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_harness import Served


@pytest.fixture
def served(
    deliverabot_exe: str, cli_env: dict[str, str], tmp_path: Path, example_plan: Path
) -> Iterator[Served]:
    subprocess.run(
        [deliverabot_exe, "plan", "import", str(example_plan)],
        env=cli_env,
        check=True,
        capture_output=True,
    )
    server = Served(deliverabot_exe, dict(cli_env), tmp_path)
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)
