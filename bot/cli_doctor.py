"""``deliverabot doctor``: check what the database keeps beside its history."""

from __future__ import annotations

import click

from bot.cli_base import Context, db_option, fail, pass_ctx
from handlers.service.doctor import repair_current_state

__all__ = ["doctor"]

SHOWN = 50  # differences printed; the rest are counted


@click.command()
@db_option
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild the current state from the history when it differs.",
)
@pass_ctx
def doctor(ctx: Context, repair: bool) -> None:
    """Compare each deliverable's maintained current state (what the digest, the board and
    plan show read) with a replay of its append-only history; exit 1 on a difference,
    unless --repair rebuilds it."""
    store = ctx.existing_store
    found = store.current_state_differences()
    if not found:
        n = len(store.deliverables())
        click.echo(f"current state: ok ({n} deliverables agree with their history)")
        return
    for line in found[:SHOWN]:
        click.echo(f"  {line}")
    if len(found) > SHOWN:
        click.echo(f"  … and {len(found) - SHOWN} more")
    if not repair:
        fail(
            f"current state: {len(found)} differences from the history; "
            "run deliverabot doctor --repair to rebuild it"
        )
    rows = repair_current_state(store)
    left = store.current_state_differences()
    if left:
        fail(f"current state: rebuilt, but {len(left)} differences remain")
    click.echo(f"current state: rebuilt from the history ({rows} deliverables)")
