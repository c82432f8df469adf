"""``deliverabot backup [DIR]`` and ``deliverabot restore FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli_base import Context, db_option, fail, pass_ctx
from handlers.service import RestoreRefused, make_backup, restore_backup
from store import BackupFailed

__all__ = ["backup", "restore"]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {table}" for table, n in counts.items())


@click.command()
@db_option
@click.argument(
    "folder", required=False, type=click.Path(path_type=Path, file_okay=False), metavar="[DIR]"
)
@pass_ctx
def backup(ctx: Context, folder: Path | None) -> None:
    """Write a checked copy of the live database to DIR (default BACKUP_DIR), named
    <db>-YYYYMMDDTHHMMSSZ.db. Safe while serve runs: nothing committed is missed."""
    settings = ctx.settings
    db_path = Path(settings.db_path)
    if not db_path.is_file():
        fail(f"there is no database at {db_path} to back up")
    try:
        result = make_backup(db_path, folder or settings.backups, now=settings.office.now())
    except (BackupFailed, OSError) as exc:
        fail(f"backup not written: {exc}")
        return
    copy = result.copy
    click.echo(
        f"wrote {copy.path} ({_size(copy.bytes)}; {_counts(copy.counts)}; "
        f"integrity ok) in {copy.seconds:.2f} s"
    )


@click.command()
@db_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_ctx
def restore(ctx: Context, file: Path) -> None:
    """Replace the database with the backup FILE. Refused while serve runs on it; FILE must
    pass its integrity check; the replaced database is kept beside it."""
    db_path = Path(ctx.settings.db_path)
    try:
        result = restore_backup(db_path, file, now=ctx.settings.office.now())
    except (RestoreRefused, BackupFailed, OSError) as exc:
        fail(f"not restored: {exc}")
        return
    kept = f"; the replaced database is kept as {result.aside}" if result.aside else ""
    click.echo(f"restored {db_path} from {file} ({_counts(result.counts)}){kept}")
    click.echo("start deliverabot serve again when you are ready")
