"""``deliverabot digest``: preview, post, audit and retry the weekly digest."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import click

from bot.cli_base import Context, db_option, pass_ctx
from bot.config import Settings
from bot.dates import within_range
from digests.formats import DIGEST_FORMATS

__all__ = ["digest"]


def _last_complete_week(settings: Settings) -> str:
    today = settings.office.today()
    year, week, _ = (today - dt.timedelta(days=today.isoweekday())).isocalendar()
    return f"{year}-W{week:02d}"


def _digest_service(ctx: Context) -> Any:
    from bot.wiring import digest_service, slack_web_client
    from handlers.slack import SlackNotifier

    settings = ctx.settings
    slack = SlackNotifier(slack_web_client(settings)) if settings.slack_enabled else None
    return digest_service(settings, ctx.store, slack=slack)


@click.command()
@db_option
@click.option("--week", default=None, help="ISO week to cover, e.g. 2022-W37 (default: last week).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIGEST_FORMATS.choices),
    callback=lambda _ctx, _param, value: DIGEST_FORMATS.canonical(value),
    default="text",
    show_default=True,
    help="Preview format; slack prints the Block Kit JSON.",
)
@click.option(
    "--post", is_flag=True, help="Send it through the same exactly-once path as the schedule."
)
@click.option(
    "--status", "show_status", is_flag=True, help="Show the ledger of digests and reminders sent."
)
@click.option("--retry", is_flag=True, help="Resend deliveries left claimed-not-sent or failed.")
@click.option(
    "--json", "as_json", is_flag=True, help="With --status: print a JSON list for scripts."
)
@pass_ctx
def digest(
    ctx: Context,
    week: str | None,
    fmt: str,
    post: bool,
    show_status: bool,
    retry: bool,
    as_json: bool,
) -> None:
    """Preview, post or audit the weekly digest."""
    from digests.digest import parse_iso_week, week_label
    from digests.digest_render import render_digest
    from handlers.slack.digest import slack_message

    ctx.existing_store  # noqa: B018 - refuse before anything is created
    service = _digest_service(ctx)
    if show_status:
        rows = ctx.store.ledger()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            click.echo("Nothing sent yet.")
        now = ctx.settings.office.now().isoformat(timespec="seconds")
        for r in rows:
            note = r["reference"] or r["error"] or ""
            if r.get("warning"):
                note = f"{note} (warning: {r['warning']})"
            label = r["state"]
            if r["state"] == "claimed":
                in_flight = (r.get("lease_until") or "") >= now
                label = "in flight" if in_flight else "claimed, not sent"
            click.echo(f"{r['kind']:<8} {r['period']:<9} {r['destination']:<28} {label:<18} {note}")
        return
    if retry:
        outcomes = asyncio.run(service.retry())
        if not outcomes:
            click.echo("Nothing to retry.")
        for o in outcomes:
            click.echo(f"{o.destination}: {o.state} {o.reference}")
        return
    period = week or _last_complete_week(ctx.settings)
    try:
        year, number = parse_iso_week(period)
        within_range(dt.date.fromisocalendar(year, number, 1))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    period = f"{year}-W{number:02d}"
    if week is None:  # say which week (on stderr, so the digest itself stays clean)
        label = week_label(year, number, office=ctx.settings.office)
        click.echo(
            f"deliverabot: {period}, the last complete week ({label}); choose with --week",
            err=True,
        )
    if post:
        for o in asyncio.run(service.send(period)):
            click.echo(f"{o.destination}: {o.state} {o.reference}")
        return
    data = service.build(period)
    if fmt == "slack":
        click.echo(json.dumps(slack_message(data), indent=2, ensure_ascii=False))
    else:
        click.echo(render_digest(data, fmt), nl=False)
