"""Documentation checks: every command has help, the README covers commands and settings."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bot.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help, f"deliverabot {' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"option {param.opts} of {' '.join(path)} has no help"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_is_in_the_readme(path: tuple[str, ...], command: click.Command) -> None:
    assert f"deliverabot {' '.join(path)}" in README


def test_every_setting_is_in_the_readme() -> None:
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").glob("config*.py"))
    variables = set(re.findall(r'"([A-Z][A-Z_]{2,})"', source))
    variables -= {"INFO", "DEBUG", "WARNING", "ERROR"}
    missing = sorted(v for v in variables if f"`{v}`" not in README)
    assert not missing, f"README configuration table lacks {missing}"


def test_quick_start_is_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick and "make test" in quick
