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


def test_the_readme_names_no_file_outside_the_repository() -> None:
    assert "DESIGN.md" not in README and "../" not in README
    targets = re.findall(r"\]\(([^)#]+)\)", README)
    local = [t for t in targets if not t.startswith(("http://", "https://", "mailto:"))]
    assert "docs/plan-format.md" in local and "docs/board-desktop.png" in local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files the repository lacks: {missing}"
    for path in re.findall(r"`((?:docs|examples|scripts|bench)/[\w./-]+)`", README):
        assert (ROOT / path).exists(), path


def test_the_readme_digest_sample_is_what_the_demo_prints(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.demo import run_demo

    printed: list[str] = []
    run_demo(load_settings({}, env_file=None), tmp_path / "demo", echo=printed.append)
    out = "\n".join(printed)
    digest = out.split("on Monday 19 September 2022:\n\n", 1)[1].split("\n4. Wrote", 1)[0]
    section = README.split("### The weekly digest", 1)[1]
    sample = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert sample == digest.strip("\n")
