"""The ``deliverabot`` command line (click).

User mistakes end in one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging
from digests.report import build_report, render_report
from handlers.plan import PlanInvalid, load_plan
from handlers.service import import_plan
from store import Store, StoreError, open_store

__all__ = ["cli", "main"]

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


def _fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"deliverabot: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQLite file to use (overrides DELIVERABOT_DB).",
)
@click.version_option(package_name="deliverabot")
@click.pass_context
def cli(ctx: click.Context, db: Path | None) -> None:
    """Deliverabot: delivery-plan updates, correspondence counts and panel report drafts."""
    ctx.obj = Context(db)


@cli.command()
@db_option
@pass_ctx
def serve(ctx: Context) -> None:
    """Run HTTP (/healthz, Slack), SMTP and the scheduler until SIGTERM or SIGINT."""
    from bot.server import StartupError
    from bot.server import serve as run_server

    settings = ctx.settings
    setup_logging(settings.log_level)
    store = ctx.store
    try:
        asyncio.run(run_server(settings, store))
    except StartupError as exc:
        _fail(str(exc))


@cli.group()
def plan() -> None:
    """Import and show the delivery plan."""


@plan.command("import")
@db_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@pass_ctx
def plan_import(ctx: Context, file: Path, dry_run: bool) -> None:
    """Import FILE (YAML): validate all of it, then write it in one transaction."""
    spec = load_plan(file, fy_start_month=ctx.settings.fy_start_month)
    summary = import_plan(ctx.store, spec, today=_today(ctx.settings), dry_run=dry_run)
    click.echo(summary.text)
    if dry_run:
        click.echo("(dry run: nothing was written)")


def _today(settings: Settings) -> dt.date:
    return dt.datetime.now(settings.tz).date()


def plan_rows(store: Store, tz: Any) -> list[dict[str, Any]]:
    rows = []
    for view in store.overview():
        d, u, owner = view.deliverable, view.last_update, view.owner
        rows.append(
            {
                "ref": d.ref,
                "title": d.title,
                "theme": view.theme.name,
                "theme_code": view.theme.code,
                "status": str(d.status),
                "due": d.due,
                "owner": owner.name if owner else None,
                "owner_email": owner.email if owner else None,
                "dependencies": d.dependencies,
                "added_on": d.added_on.isoformat(),
                "last_update": u.recorded_at.astimezone(tz).date().isoformat() if u else None,
                "note": (u.note or None) if u else None,
            }
        )
    return rows


@plan.command("show")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list for scripts.")
@pass_ctx
def plan_show(ctx: Context, as_json: bool) -> None:
    """Print themes and deliverables with status, due quarter, owner and last update."""
    store = ctx.existing_store
    rows = plan_rows(store, ctx.settings.tz)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    name = store.get_meta("plan")
    if name is None:
        _fail("no plan imported yet; run: deliverabot plan import FILE.yaml")
    office = store.get_meta("office")
    click.echo(f"{name}" + (f" — {office}" if office else ""))
    for theme in store.themes():
        click.echo("")
        click.secho(f"{theme.code}  {theme.name}", bold=True)
        for r in (r for r in rows if r["theme_code"] == theme.code):
            click.echo(
                f"  {r['ref']:<6} {r['status']:<11} {r['due'] or '—':<14} "
                f"{(r['owner'] or '—'):<18} {r['last_update'] or '—':<10}  {r['title']}"
            )


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@cli.command()
@db_option
@click.option("--from", "day_from", default=None, help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "day_to", default=None, help="Last day of the period (YYYY-MM-DD).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html", "text", "docx"]),
    default="markdown",
    show_default=True,
    help="Output format; docx needs -o.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file."
)
@click.option(
    "--template",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A restyled copy of the Word template (docx only).",
)
@click.option(
    "--notes",
    type=click.Choice(["latest", "all"]),
    default="latest",
    show_default=True,
    help="latest: the summary note (or the newest) of each deliverable; all: every note.",
)
@click.option("--freeze", metavar="NAME", help="Store the exact data behind this report as NAME.")
@click.option("--since-snapshot", metavar="NAME", help="Show what changed since snapshot NAME.")
@pass_ctx
def report(
    ctx: Context,
    day_from: str | None,
    day_to: str | None,
    fmt: str,
    output: Path | None,
    template: Path | None,
    notes: str,
    freeze: str | None,
    since_snapshot: str | None,
) -> None:
    """Draft the panel report section for a period, in the Forward Plan paper's format."""
    from digests.report import render_docx
    from digests.snapshots import changes_since, render_changes, report_to_data
    from handlers.service import freeze_report

    settings = ctx.settings
    for value, option in ((day_from, "--from"), (day_to, "--to")):
        if value:
            _date(value, option)  # a usage error comes before any look at the database
    if not since_snapshot and (not day_from or not day_to):
        raise click.UsageError("give the period with --from DATE --to DATE")
    store = ctx.existing_store
    snapshot = None
    if since_snapshot:
        snapshot = store.snapshot(since_snapshot)
        if snapshot is None:
            names = ", ".join(s["name"] for s in store.snapshots()) or "none yet"
            raise click.BadParameter(
                f"no snapshot called {since_snapshot!r} (snapshots: {names})",
                param_hint="--since-snapshot",
            )
    if snapshot is not None and not day_from:
        day_from = snapshot["data"]["period_from"]
    if snapshot is not None and not day_to:
        day_to = dt.datetime.now(settings.tz).date().isoformat()
    if not day_from or not day_to:
        raise click.UsageError("give the period with --from DATE --to DATE")
    start, end = _date(day_from, "--from"), _date(day_to, "--to")
    if end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    data = build_report(
        store,
        day_from=start,
        day_to=end,
        tz=settings.tz,
        start_month=settings.fy_start_month,
        notes=notes,
    )
    if snapshot is not None:
        changes = changes_since(snapshot["data"], report_to_data(data))
        click.echo(render_changes(snapshot["name"], snapshot["created_at"], changes), nl=False)
        return
    if freeze:
        if store.snapshot(freeze) is not None:
            raise click.BadParameter(f"a snapshot called {freeze!r} exists", param_hint="--freeze")
        freeze_report(store, freeze, report_to_data(data))
        click.echo(f"froze the report data as snapshot {freeze!r}", err=True)
    if fmt == "docx":
        if output is None:
            raise click.UsageError("--format docx writes a file: add -o report.docx")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(render_docx(data, template=template))
        click.echo(f"wrote {output}", err=True)
        return
    text = render_report(data, fmt)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


# -- digest ------------------------------------------------------------------------


def _last_complete_week(settings: Settings) -> str:
    today = dt.datetime.now(settings.tz).date()
    year, week, _ = (today - dt.timedelta(days=today.isoweekday())).isocalendar()
    return f"{year}-W{week:02d}"


def _digest_service(ctx: Context) -> Any:
    from bot.jobs import DigestService
    from bot.mailer import Mailer

    settings = ctx.settings
    client = None
    if settings.slack_enabled:
        from bot.slack_app import make_web_client

        client = make_web_client(settings)
    return DigestService(
        settings=settings,
        store=ctx.store,
        mailer=Mailer(relay=settings.smtp_relay, outbox=settings.outbox_dir),
        slack_client=client,
    )


@cli.command()
@db_option
@click.option("--week", default=None, help="ISO week to cover, e.g. 2022-W37 (default: last week).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "slack", "html"]),
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
    from digests.digest import parse_iso_week
    from digests.digest_render import render_digest, slack_message

    ctx.existing_store  # noqa: B018 - refuse before anything is created
    service = _digest_service(ctx)
    if show_status:
        rows = ctx.store.ledger()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            click.echo("Nothing sent yet.")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
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
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    period = f"{year}-W{number:02d}"
    if post:
        for o in asyncio.run(service.send(period)):
            click.echo(f"{o.destination}: {o.state} {o.reference}")
        return
    data = service.build(period)
    if fmt == "slack":
        click.echo(json.dumps(slack_message(data), indent=2, ensure_ascii=False))
    else:
        click.echo(render_digest(data, fmt), nl=False)


# -- mail --------------------------------------------------------------------------


@cli.group()
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
                skip_seen=True,
            )
            state = (
                "duplicate"
                if inbound_id is None
                else process_inbound(store, inbound_id, policy).state
            )
            counts[state] = counts.get(state, 0) + 1
            bar.update(1)
    summary = {
        "counted": counts.get("counted", 0),
        "duplicates": counts.get("duplicate", 0) + counts.get("redelivered", 0),
        "skipped as noise": counts.get("noise", 0),
        "quarantined": counts.get("quarantined", 0),
        "replies matched": counts.get("reply", 0),
        "unmatched replies": counts.get("unmatched_reply", 0),
    }
    click.echo(f"{total} messages read from {path}")
    for label, n in summary.items():
        if n or label in ("counted", "duplicates", "skipped as noise", "quarantined"):
            click.echo(f"  {label:<18} {n}")
    if summary["quarantined"]:
        click.echo("Run 'deliverabot mail review' to see the quarantined messages.")


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
        _fail(f"{email} is not among the people in the delivery plan")
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


@cli.command()
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
    from digests.stats import correspondence_stats, render_stats_text

    since = _date(day_from, "--from") if day_from else None
    until = _date(day_to, "--to") if day_to else None
    settings = ctx.settings
    rows = ctx.existing_store.correspondence_rows(since=since, until=until)
    result = correspondence_stats(
        rows,
        by=by,
        target_for=settings.answer_target,
        nation=settings.bank_holidays,
        today=_today(settings),
    )
    if as_json:
        click.echo(json.dumps([r.as_json(by) for r in result], indent=2))
    else:
        click.echo(render_stats_text(result, by=by), nl=False)


@cli.command()
@db_option
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("deliverabot-demo"),
    show_default=True,
    help="Where to write the throwaway database, the report and the chart.",
)
@pass_ctx
def demo(ctx: Context, folder: Path) -> None:
    """A tour on a throwaway database: plan, updates, email, digest and report. No Slack needed."""
    from bot.demo import run_demo

    run_demo(ctx.settings, folder, echo=click.echo)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: known errors become one line and a non-zero exit."""
    try:
        code = cli.main(args=argv, prog_name="deliverabot", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        _fail(f"configuration: {exc}", EXIT_USAGE)
    except PlanInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        _fail(f"plan not imported: {len(exc.errors)} error(s); nothing was written")
    except StoreError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)


if __name__ == "__main__":  # pragma: no cover
    main()
