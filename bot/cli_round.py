"""``deliverabot round``: the paper round from the command line: open one, see where it
stands, return or reassign a line, send what is owed, close it; and ``report --round``'s
paper.

Commands that ask someone something (open, return, reassign) send at once through the
delivery ledger, as ``serve`` does every minute, so the CLI beside a running ``serve`` still
sends each message once; ``--no-send`` leaves it to ``serve``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from bot.cli_base import Context, db_option, fail, parse_day, pass_ctx
from bot.cli_update import _acting
from digests.report import Report
from digests.round_lines import pending_items, round_report
from digests.round_status import round_status_data, round_status_text
from handlers.round_desk import Delivered
from handlers.service import ServiceError
from handlers.service.round_admin import OpenRound, find_round, reassign_line, return_line
from store import Reader

__all__ = ["round_group", "round_paper"]

_AS = click.option("--as", "as_email", metavar="EMAIL", help="An editor or admin to act as.")
_NO_SEND = click.option(
    "--no-send", is_flag=True, help="Record only; serve sends what is owed within a minute."
)


def _jobs(ctx: Context) -> Any:
    from bot.round_jobs import RoundJobs  # Slack's libraries only when a round needs them
    from bot.wiring import slack_web_client
    from handlers.mail import Mailer
    from handlers.service.writer import Writer
    from handlers.slack import SlackNotifier

    settings = ctx.settings
    slack = SlackNotifier(slack_web_client(settings)) if settings.slack_enabled else None
    return RoundJobs(
        settings=settings,
        writer=Writer(ctx.store),
        mailer=Mailer(relay=settings.smtp_relay, outbox=settings.outbox_dir),
        slack=slack,
    )


def _show(outcomes: list[Delivered]) -> None:
    for o in outcomes:
        click.echo(f"{o.kind} {o.period} to {o.destination}: {o.state} {o.reference}".rstrip())
    failed = sum(1 for o in outcomes if o.state == "failed")
    if failed:
        click.echo(f"{failed} not sent; serve (or deliverabot round send) tries again", err=True)


def _send(ctx: Context, name: str, no_send: bool) -> None:
    if no_send:
        click.echo("not sent yet: serve sends what is owed within a minute")
        return
    _show(asyncio.run(_jobs(ctx).deliver(name)))


@click.group("round")
def round_group() -> None:
    """The paper round: every owner approves or edits their own Update lines."""


@round_group.command("open")
@db_option
@click.argument("name")
@click.option("--from", "day_from", required=True, help="First day of the paper's period.")
@click.option("--to", "day_to", required=True, help="Last day of the paper's period.")
@click.option("--panel", required=True, help="The day the panel meets.")
@click.option("--due", required=True, help="The day the lines are due.")
@click.option("--alongside", is_flag=True, help="Keep another open round open beside this one.")
@_AS
@_NO_SEND
@pass_ctx
def round_open(
    ctx: Context,
    name: str,
    day_from: str,
    day_to: str,
    panel: str,
    due: str,
    alongside: bool,
    as_email: str | None,
    no_send: bool,
) -> None:
    """Open round NAME for the paper of --from to --to and ask every owner, in Slack or by
    mail, to approve or edit each of their lines by --due."""
    request = OpenRound(
        name,
        parse_day(day_from, "--from"),
        parse_day(day_to, "--to"),
        parse_day(panel, "--panel"),
        parse_day(due, "--due"),
        alongside,
    )
    store = ctx.existing_store
    actor = _acting(ctx, store, as_email)
    try:
        opened = asyncio.run(_jobs(ctx).open(request, actor=actor))
    except ServiceError as exc:
        fail(str(exc))
        return
    book = store.round_book(opened.name)
    assert book is not None
    click.echo(
        f"opened round {opened.name}: {len(book.views)} lines, {len(book.owners())} owners, "
        f"due {opened.due_on}"
    )
    _send(ctx, opened.name, no_send)


@round_group.command("status")
@db_option
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def round_status(ctx: Context, name: str | None, as_json: bool) -> None:
    """Approved, edited, pending and not mine: overall, by owner, by theme, and each line."""
    store = ctx.existing_store
    book = _book(store, name)
    tz = ctx.settings.office.tz
    if as_json:
        click.echo(json.dumps(round_status_data(book, tz=tz), indent=2, ensure_ascii=False))
    else:
        click.echo(round_status_text(book, tz=tz), nl=False)


def _book(store: Reader, name: str | None) -> Any:
    try:
        found = find_round(store, name)
    except ServiceError as exc:
        fail(str(exc))
        raise
    return store.round_book(found.name)


@round_group.command("return")
@db_option
@click.argument("name")
@click.argument("ref")
@click.argument("comment")
@_AS
@_NO_SEND
@pass_ctx
def round_return(
    ctx: Context, name: str, ref: str, comment: str, as_email: str | None, no_send: bool
) -> None:
    """Return line REF to its owner with COMMENT: they are asked again."""
    store = ctx.existing_store
    actor = _acting(ctx, store, as_email)
    try:
        done = return_line(
            store, name, ref=ref, actor=actor, comment=comment, now=ctx.settings.office.now()
        )
    except ServiceError as exc:
        fail(str(exc))
        return
    owner = store.person(done.view.owner_id) if done.view.owner_id else None
    click.echo(f"returned {done.view.ref} to {owner.name if owner else 'nobody'}")
    _send(ctx, done.round.name, no_send)


@round_group.command("reassign")
@db_option
@click.argument("name")
@click.argument("ref")
@click.argument("email")
@_AS
@_NO_SEND
@pass_ctx
def round_reassign(
    ctx: Context, name: str, ref: str, email: str, as_email: str | None, no_send: bool
) -> None:
    """Give line REF to the person with EMAIL (its owner left, or said it is not theirs):
    they are asked, and own the deliverable in the plan from now on."""
    store = ctx.existing_store
    actor = _acting(ctx, store, as_email)
    to = store.person_by_email(email)
    if to is None:
        fail(f"{email}: not a person in the plan (see deliverabot plan show)")
        return
    try:
        done = reassign_line(
            store, name, ref=ref, actor=actor, to=to, now=ctx.settings.office.now()
        )
    except ServiceError as exc:
        fail(str(exc))
        return
    click.echo(
        f"{done.view.ref} is {to.name}'s now, in the round and in the plan (put it in the "
        "plan file too, before the next import)"
    )
    _send(ctx, done.round.name, no_send)


@round_group.command("send")
@db_option
@click.argument("name", required=False)
@pass_ctx
def round_send(ctx: Context, name: str | None) -> None:
    """Send whatever the open rounds owe now (asks, returns, notices, today's reminders),
    each once, as serve does every minute."""
    ctx.existing_store  # noqa: B018 - refuse before anything is created
    outcomes = asyncio.run(_jobs(ctx).deliver(name))
    if not outcomes:
        click.echo("nothing owed")
    _show(outcomes)


@round_group.command("close")
@db_option
@click.argument("name")
@_AS
@pass_ctx
def round_close(ctx: Context, name: str, as_email: str | None) -> None:
    """Close round NAME and freeze its paper as snapshot NAME: `report --round NAME` then
    rebuilds it exactly, and `report --since-snapshot NAME` shows what changed since."""
    store = ctx.existing_store
    actor = _acting(ctx, store, as_email)
    try:
        closed = asyncio.run(_jobs(ctx).close(name, actor=actor))
    except ServiceError as exc:
        fail(str(exc))
        return
    book = store.round_book(closed.name)
    assert book is not None
    settled = sum(1 for v in book.views if v.settled)
    click.echo(
        f"closed round {closed.name}: {settled} of {len(book.views)} lines approved or edited; "
        f"the paper's data is frozen as snapshot {closed.name}"
    )


def round_paper(ctx: Context, store: Reader, name: str, *, notes: str, strict: bool) -> Report:
    """``report --round NAME``: the paper with the round's lines (``--strict``: refused
    while any line is still a draft)."""
    book = _book(store, name)
    settings = ctx.settings
    data = round_report(store, book, office=settings.office, notes=notes)
    pending = pending_items(data)
    if strict and pending:
        refs = ", ".join(i.ref for i in pending[:20]) + (" …" if len(pending) > 20 else "")
        fail(
            f"round {book.round.name}: {len(pending)} line(s) not approved yet ({refs}); "
            "no paper written (drop --strict to mark them [draft])"
        )
    if pending:
        click.echo(f"{len(pending)} line(s) marked [draft]: not approved by their owners", err=True)
    return data
