"""``deliverabot`` in process, for tests that need only what a command prints and returns.

Click's ``CliRunner`` isolation around :func:`bot.cli.main` (the console script's own
entry, so one-line errors and exit codes are the script's), with the environment a
subprocess would get. ``tests/bot/test_cli.py`` keeps running the installed console script
itself.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

from bot.cli import main

__all__ = ["run_cli"]


@contextlib.contextmanager
def _cwd(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_cli(
    env: Mapping[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``deliverabot ARGS`` with exactly ``env`` as its environment (as a subprocess
    would have it), in ``cwd``; the result as ``subprocess.run`` gives it."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides.update(env)
    code = 0
    runner = CliRunner()
    # A plan import lowers its own priority (os.nice): in process that would be the test run's.
    with (
        runner.isolation(env=overrides) as (out, err, _),
        _cwd(cwd),
        mock.patch.object(os, "nice", lambda _increment: 0),
    ):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["deliverabot", *args], code, stdout, stderr)
