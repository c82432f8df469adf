"""``deliverabot mail`` (import, review, token) and ``deliverabot stats``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli_base import Context, db_option, fail, parse_day, pass_ctx, today

__all__ = ["mail", "stats"]


@click.group()
def mail() -> None:
    """Backfill correspondence from an export, and review quarantined mail."""


def _iter_messages(path: Path) -> tuple[int, Any]:
    """(count, iterator of raw bytes) for an mbox, a Maildir, a folder of .eml, or one .eml."""
    import mailbox

    if path.is_dir() and all((path / d).is_dir() for d in ("cur", "new", "tmp")):
        box = mailbox.Maildir(str(path), factory=None, create=False)
        keys = list(box.keys())
        return len(keys), (box.get_bytes(k) for k in keys)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.eml") if p.is_file())
        return len(files), (p.read_bytes() for p in files)
    if path.suffix.lower() == ".eml":
        return 1, iter([path.read_bytes()])
    mbox = mailbox.mbox(str(path), create=False)
    mbox_keys = list(mbox.keys())
    return len(mbox_keys), (mbox.get_bytes(k) for k in mbox_keys)


@mail.command("import")
@db_option
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--progress/--no-progress", default=True, help="Show a progress bar with rate and ETA."
)
@pass_ctx
def mail_import(ctx: Context, path: Path, progress: bool) -> None:
    """Count correspondence from PATH: an mbox, a Maildir or a folder of .eml files.

    Messages go through the same parse, dedup and category rules as live mail. Running it
    again is safe: messages already seen are not counted twice.
    """
    from tqdm import tqdm

    from bot.wiring import mail_policy
    from handlers.mail import accept_message, process_inbound

    store = ctx.store
    policy = mail_policy(ctx.settings, store)
    total, messages = _iter_messages(path)
    counts: dict[str, int] = {}
    mailbox_address = f"correspondence@{policy.mail_domain}"
    with tqdm(total=total, unit="msg", disable=not progress, file=sys.stderr) as bar:
        for raw in messages:
            inbound_id = accept_message(
                store,
                raw,
                mail_from=None,
                rcpt_tos=[mailbox_address],
                source="import",
                skip_seen=policy,
            )
            state = (
                "duplicate"
                if inbound_id is None
                else process_inbound(store, inbound_id, policy).state
            )
            counts[state] = counts.get(state, 0) + 1
            bar.update(1)
    _summary(total, counts, str(path))


def _summary(total: int, counts: dict[str, int], where: str) -> None:
    """What became of the messages read, as ``mail import`` and ``mail sync`` print it."""
    summary = {
        "counted": counts.get("counted", 0),
        "duplicates": counts.get("duplicate", 0) + counts.get("redelivered", 0),
        "skipped as noise": counts.get("noise", 0),
        "quarantined": counts.get("quarantined", 0),
        "replies matched": counts.get("reply", 0),
        "unmatched replies": counts.get("unmatched_reply", 0),
        "updates": counts.get("update", 0),
        "updates refused": counts.get("update_refused", 0),
    }
    click.echo(f"{total} messages read from {where}")
    for label, n in summary.items():
        if n or label in ("counted", "duplicates", "skipped as noise", "quarantined"):
            click.echo(f"  {label:<18} {n}")
    if summary["quarantined"]:
        click.echo("Run 'deliverabot mail review' to see the quarantined messages.")


@mail.command("sync")
@db_option
@click.option(
    "--progress/--no-progress", default=True, help="Show a progress bar with rate and ETA."
)
@pass_ctx
def mail_sync(ctx: Context, progress: bool) -> None:
    """Read the office's mailbox once (MAILBOX_URL): every folder, mail since MAILBOX_SINCE.

    The first run on a large mailbox belongs here rather than in serve: it shows progress
    and a count at the end. Each message is taken once, then moved to the Processed folder
    (or flagged Seen); running it again, or serve after it, takes only what is new.
    """
    import asyncio

    from tqdm import tqdm

    from bot.wiring import mail_policy, mailbox_source
    from handlers.mail import InboundWorker
    from handlers.mail.mailbox_auth import SignInError, server_text
    from handlers.service.writer import Writer

    store = ctx.store
    writer = Writer(store)
    source = mailbox_source(ctx.settings, writer)
    if source is None:
        fail("MAILBOX_URL is not set: say which mailbox to read (see the README)")
        return
    worker = InboundWorker(writer, mail_policy(ctx.settings, store))
    counts: dict[str, int] = {}

    async def run(bar: Any) -> int:
        async def submit(raw: bytes, envelope: Any) -> tuple[bool, int | None]:
            taken, inbound_id = await worker.take(raw, envelope)
            if taken and inbound_id is None:  # its Message-ID was already counted
                counts["duplicate"] = counts.get("duplicate", 0) + 1
            elif inbound_id is not None:
                row = await worker.reader.call(worker.reader.inbound, inbound_id)
                state = row["state"] if row else "missing"
                counts[state] = counts.get(state, 0) + 1
            return taken, inbound_id

        return await source.sync_once(submit, progress=bar)

    where = source.config.account
    problem = None
    with tqdm(total=0, unit="msg", disable=not progress, file=sys.stderr) as bar:
        try:
            total = asyncio.run(run(bar))
        except SignInError as exc:
            problem = str(exc)
        except Exception as exc:  # network, TLS, a refused folder: one clear line
            problem = f"cannot read the mailbox: {server_text(exc)}"
    if problem is not None:
        fail(f"{where}: {problem}")
        return
    _summary(total, counts, where)


@mail.command("token")
@db_option
@click.argument("email")
@click.option("--rotate", is_flag=True, help="Replace the code; the old address stops working.")
@pass_ctx
def mail_token_command(ctx: Context, email: str, rotate: bool) -> None:
    """Print EMAIL's personal address for updates by mail (the code in it proves the sender).

    Give it only to that person: anyone who has it can record updates in their name. Use
    --rotate if it may have leaked.
    """
    from handlers.service import mail_token, update_address

    store = ctx.existing_store
    person = store.person_by_email(email)
    if person is None:
        fail(f"{email} is not among the people in the delivery plan")
        return
    token = mail_token(store, person=person, rotate=rotate)
    domain = ctx.settings.mail_domain
    click.echo(f"Updates by mail for {person.name}:")
    click.echo(f"  {update_address(token, domain)}  (deliverable in the subject: CF-3 ongoing)")
    click.echo(f"  {update_address(token, domain, 'CF-3')}  (one deliverable per address)")
    if rotate:
        click.echo("The previous code no longer works.")


@mail.command("review")
@db_option
@click.option(
    "--retry", "retry_ids", multiple=True, type=int, help="Re-run one message by id (repeatable)."
)
@click.option("--retry-all", is_flag=True, help="Re-run every message under review.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list for scripts.")
@pass_ctx
def mail_review(ctx: Context, retry_ids: tuple[int, ...], retry_all: bool, as_json: bool) -> None:
    """List quarantined messages and unmatched replies, and re-run them."""
    from bot.wiring import mail_policy
    from handlers.mail import REVIEW_STATES, process_inbound
    from handlers.service import requeue_inbound

    store = ctx.existing_store
    rows = store.inbound_list(REVIEW_STATES)
    if retry_ids or retry_all:
        policy = mail_policy(ctx.settings, store)
        targets = [r["id"] for r in rows] if retry_all else list(retry_ids)
        known = {r["id"] for r in rows}
        for inbound_id in targets:
            if inbound_id not in known:
                click.echo(f"#{inbound_id}: not under review", err=True)
                continue
            requeue_inbound(store, inbound_id)
            result = process_inbound(store, inbound_id, policy)
            click.echo(f"#{inbound_id}: {result.state} {result.detail}")
        return
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in r if k != "has_raw"} for r in rows], indent=2))
        return
    if not rows:
        click.echo("Nothing to review.")
        return
    for r in rows:
        click.echo(
            f"#{r['id']:<5} {r['received_at'][:16]} {r['state']:<15} from {r['mail_from'] or '—'}: "
            f"{r['reason'] or ''}"
        )
    click.echo(f"{len(rows)} message(s). Re-run with --retry ID or --retry-all.")


@click.command()
@db_option
@click.option(
    "--by",
    type=click.Choice(["week", "month", "category"]),
    default="month",
    show_default=True,
    help="Group by week, month or category.",
)
@click.option("--from", "day_from", default=None, help="First day (YYYY-MM-DD).")
@click.option("--to", "day_to", default=None, help="Last day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list for scripts.")
@pass_ctx
def stats(ctx: Context, by: str, day_from: str | None, day_to: str | None, as_json: bool) -> None:
    """Correspondence received and answered, median working days, share within target."""
    from digests.stats import render_stats_text, stats_from_counts

    since = parse_day(day_from, "--from") if day_from else None
    until = parse_day(day_to, "--to") if day_to else None
    settings = ctx.settings
    # Counted in SQL by (day received, category, day answered), then weighted by working
    # days: a few thousand groups for any number of letters.
    counts = ctx.existing_store.correspondence_counts(since=since, until=until)
    result = stats_from_counts(
        counts,
        by=by,
        office=settings.office,
        today=today(settings),
    )
    if not (day_from and day_to):
        days = [dt.date.fromisoformat(r) for r in {c[0] for c in counts}]
        click.echo(_period_said(days, since, until, today(settings)), err=True)
    if as_json:
        click.echo(json.dumps([r.as_json(by) for r in result], indent=2))
    else:
        click.echo(render_stats_text(result, by=by), nl=False)


def _period_said(
    days: list[dt.date], since: dt.date | None, until: dt.date | None, now: dt.date
) -> str:
    """Which period ``stats`` shows when --from or --to was left out (on stderr, so --json
    stays clean); ``days``: the days letters were received."""
    if not days and not (since or until):
        return "deliverabot: period: all correspondence recorded (none yet)"
    first = since or (min(days) if days else until or now)
    last = until or (max(days) if days else now)
    what = "all correspondence recorded, " if not (since or until) else ""
    return (
        f"deliverabot: period: {what}{first:%-d %B %Y} to {last:%-d %B %Y} "
        "(choose with --from and --to)"
    )
