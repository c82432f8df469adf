"""Recording from the command line: ``deliverabot update`` (the Slack grammar, for scripts
and offices without Slack) and ``deliverabot history import`` (dated updates from a tracker).

Both act as a person of the plan: ``--as EMAIL``, else ``DELIVERABOT_AS`` from the
environment or ``.env`` (as git takes ``user.email`` from its config). Nobody is assumed: an
update in the audit trail names who made it.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli_base import Context, db_option, fail, pass_ctx, today
from handlers.grammar import GrammarError, parse_update
from handlers.history import HistoryInvalid, load_history
from handlers.service import (
    HistoryRejected,
    ServiceError,
    command_request,
    import_history,
    record_update,
)
from handlers.service.slip import keep_note, slip_named
from store import Person, Reader, Source

__all__ = ["history", "update"]

_AS_HELP = "Act as this person of the plan (default: DELIVERABOT_AS)."


def _acting(ctx: Context, store: Reader, email: str | None) -> Person:
    wanted = email or ctx.settings.acting_as
    if not wanted:
        fail(
            "say who is recording this: --as EMAIL (a person in the plan), or set "
            "DELIVERABOT_AS=EMAIL in the environment or .env"
        )
    assert wanted is not None
    person = store.person_by_email(wanted)
    if person is None:
        source = "--as" if email else "DELIVERABOT_AS"
        fail(f"{source} {wanted}: not a person in the plan (see deliverabot plan show)")
    assert person is not None
    return person


@click.command(context_settings={"ignore_unknown_options": True})
@db_option
@click.option("--as", "as_email", metavar="EMAIL", help=_AS_HELP)
@click.argument("words", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def update(ctx: Context, as_email: str | None, words: tuple[str, ...]) -> None:
    """Record an update, in the Slack grammar:
    REF [STATUS] [due QUARTER] [deps|no deps] [summary] [: NOTE].

    \b
    deliverabot update CF-3 ongoing due Q3 2022/23 : Market engagement event planned
    deliverabot update CF-3 deps --as jane.doe@example.org : Waiting on the MoJ
    """
    settings = ctx.settings
    try:
        cmd = parse_update(" ".join(words), office=settings.office)
    except GrammarError as exc:
        fail(str(exc).replace("`", "'"))
        return
    if cmd.ref is None or cmd.needs_form:
        fail("say what changed after the reference, e.g.: deliverabot update CF-3 : Event held")
        return
    store = ctx.existing_store
    person = _acting(ctx, store, as_email)
    request = command_request(cmd, actor=person, source=Source.CLI)
    try:
        outcome = record_update(store, request, office=settings.office)
    except ServiceError as exc:
        fail(str(exc).replace("`", "'"))
        return
    d = outcome.deliverable
    click.echo(f"recorded update {outcome.update_id} on {d.ref} {d.title} (by {person.name})")
    if outcome.status_changed:
        click.echo(f"status: {outcome.status_before.label} -> {outcome.status_after.label}")
    if outcome.due_changed:
        click.echo(f"due: {outcome.due_before or 'none'} -> {outcome.due_after or 'none'}")
    if outcome.dependencies_changed:
        click.echo("dependencies: " + ("identified" if outcome.dependencies_after else "none"))
    slip = slip_named(outcome, cmd.note, on=today(settings), office=settings.office)
    if slip is not None:
        named, recorded = slip
        click.echo(
            f"the note says {named}, later than the due quarter {recorded}, which this update "
            f"left as it was; to move it: deliverabot update {d.ref} due {named} : REASON; "
            f"if {recorded} stands: deliverabot update {d.ref} : {keep_note(str(recorded))}"
        )


@click.group()
def history() -> None:
    """Bring in dated updates from a tracker spreadsheet."""


@history.command("import")
@db_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--as", "as_email", metavar="EMAIL", help="An editor or admin to act as.")
@click.option("--dry-run", is_flag=True, help="Check every row and show what would be added.")
@pass_ctx
def history_import(ctx: Context, file: Path, as_email: str | None, dry_run: bool) -> None:
    """Append the dated updates in FILE.csv or FILE.xlsx (the columns of the export's Updates
    sheet) in date order; rows already recorded are skipped, so it is safe to run twice."""
    settings = ctx.settings
    store = ctx.existing_store
    actor = _acting(ctx, store, as_email)
    try:
        rows = load_history(file, office=settings.office)
        summary = import_history(store, rows, actor=actor, office=settings.office, dry_run=dry_run)
    except HistoryInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        fail(f"history not imported: {len(exc.errors)} error(s); nothing was written")
        return
    except HistoryRejected as exc:
        for line, message in exc.errors:
            click.echo(f"{file}:{line}: {message}", err=True)
        fail(f"history not imported: {len(exc.errors)} error(s); nothing was written")
        return
    except ServiceError as exc:
        fail(str(exc))
        return
    click.echo(summary.text(actor))
    if dry_run:
        click.echo("(dry run: nothing was written)")
