"""What every ``deliverabot`` command shares: the context (settings and store, opened on
first use), ``--db`` on every subcommand, and one-line failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from bot.config import Settings, load_settings
from bot.dates import parse_day_text
from store import Store, open_store

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "Context",
    "NoDatabase",
    "db_option",
    "fail",
    "parse_day",
    "pass_ctx",
    "today",
]

EXIT_USAGE = 2
EXIT_FAILURE = 1


class Context:
    def __init__(self, db: Path | None) -> None:
        self._db_override = db
        self._settings: Settings | None = None
        self._store: Store | None = None

    def use_db(self, db: Path) -> None:
        """``--db`` given after the subcommand wins over the group's."""
        self._db_override = db
        self._settings = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            settings = load_settings()
            if self._db_override is not None:
                settings = dataclasses.replace(settings, db_path=self._db_override)
            self._settings = settings
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db_path)
        return self._store

    @property
    def existing_store(self) -> Store:
        """The store for a read-only command: it must exist already; nothing is created."""
        path = self.settings.db_path
        if self._store is None and str(path) != ":memory:" and not Path(path).exists():
            raise NoDatabase(
                f"there is no database at {path} yet. Import a plan first: "
                "deliverabot plan import FILE.yaml (or pass --db PATH)"
            )
        return self.store


class NoDatabase(click.ClickException):
    exit_code = EXIT_FAILURE

    def show(self, file: Any = None) -> None:
        click.echo(f"deliverabot: {self.message}", err=True)


def _set_db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).use_db(value)


def db_option(command: Any) -> Any:
    """``--db`` on a subcommand, as on the group: ``deliverabot stats --db X`` works too."""
    return click.option(
        "--db",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        expose_value=False,
        is_eager=False,
        callback=_set_db,
        help="SQLite file to use (overrides DELIVERABOT_DB).",
    )(command)


pass_ctx = click.make_pass_decorator(Context)


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"deliverabot: {message}", err=True)
    sys.exit(code)


def today(settings: Settings) -> dt.date:
    return settings.office.today()


def parse_day(value: str, option: str) -> dt.date:
    try:
        return parse_day_text(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
