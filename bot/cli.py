"""The ``deliverabot`` command line (click).

User mistakes end in one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli_backup import backup, restore
from bot.cli_base import (
    EXIT_USAGE,
    Context,
    db_option,
    fail,
    parse_day,
    pass_ctx,
    today,
)
from bot.cli_digest import digest
from bot.cli_doctor import doctor
from bot.cli_mail import mail, stats
from bot.cli_round import round_group
from bot.cli_update import history, update
from bot.config import ConfigError
from bot.logs import setup_logging
from digests.formats import REPORT_FORMATS
from digests.plan_table import plan_rows
from digests.report import Report, build_report, render_report
from handlers.plan import PlanInvalid
from handlers.service import import_plan
from store import Reader, StoreError
from store.paper import PaperWording

__all__ = ["cli", "main"]

MAX_ERROR_LINES = 100  # of a refused plan file; the rest are counted


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
        fail(str(exc))


@cli.group()
def plan() -> None:
    """Import and show the delivery plan."""


@plan.command("import")
@db_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--move", is_flag=True, help="Move a reference the file puts under another theme.")
@pass_ctx
def plan_import(ctx: Context, file: Path, dry_run: bool, move: bool) -> None:
    """Import FILE (YAML, or CSV/XLSX with the export's columns): validate all of it, then
    write it in short transactions that let live mail and Slack through."""
    from handlers.bounded import Limits
    from handlers.plan_table import TABLE_SUFFIXES, load_plan_file

    settings = ctx.settings
    if hasattr(os, "nice") and not dry_run:
        os.nice(10)  # a batch job beside a live bot: mail, Slack and /healthz come first
    plan_name, office = None, ""
    if file.suffix.lower() in TABLE_SUFFIXES and Path(settings.db_path).exists():
        plan_name = ctx.store.get_meta("plan")
        office = ctx.store.get_meta("office") or ""
    spec = load_plan_file(
        file,
        plan=plan_name,
        office=office,
        calendar=settings.office,
        limits=Limits(max_bytes=settings.max_plan_bytes),
    )
    summary = import_plan(ctx.store, spec, today=today(settings), dry_run=dry_run, move=move)
    click.echo(summary.text)
    if dry_run:
        click.echo("(dry run: nothing was written)")


@plan.command("export")
@db_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--from", "day_from", default=None, help="Updates sheet: first day (YYYY-MM-DD).")
@click.option("--to", "day_to", default=None, help="Updates sheet: last day (YYYY-MM-DD).")
@pass_ctx
def plan_export(ctx: Context, file: Path, day_from: str | None, day_to: str | None) -> None:
    """Write the plan with its latest state to FILE.csv or FILE.xlsx (the board's columns;
    the spreadsheet adds a sheet of updates, every one or those from --from to --to, and one
    of correspondence by month). Written row by row, so memory stays flat."""
    from digests.plan_table import csv_chunks, updates_period, write_xlsx

    suffix = file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise click.BadParameter("write FILE.csv or FILE.xlsx", param_hint="FILE")
    first = parse_day(day_from, "--from") if day_from else None
    last = parse_day(day_to, "--to") if day_to else None
    if first and last and last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    store = ctx.existing_store
    tz = ctx.settings.tz
    rows = plan_rows(store, tz)
    if suffix == ".csv":
        with file.open("w", encoding="utf-8", newline="") as out:
            out.writelines(csv_chunks(rows))
    else:
        since, until = updates_period(first, last, tz)
        write_xlsx(store, rows, tz, file, since=since, until=until)
    click.echo(f"wrote {len(rows)} deliverables to {file}")


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
        fail("no plan imported yet; run: deliverabot plan import FILE.yaml")
    office = store.get_meta("office")
    click.echo(f"{name}" + (f" — {office}" if office else ""))
    click.echo("")
    click.echo(f"  {'ref':<6} {'status':<11} {'due':<14} {'owner':<18} {'updated':<10}  title")
    for theme in store.themes():
        click.echo("")
        click.secho(f"{theme.code}  {theme.name}", bold=True)
        for r in (r for r in rows if r["theme_code"] == theme.code):
            click.echo(
                f"  {r['ref']:<6} {r['status']:<11} {r['due'] or '—':<14} "
                f"{(r['owner'] or '—'):<18} {r['last_update'] or '—':<10}  {r['title']}"
            )


@cli.command()
@db_option
@click.option("--from", "day_from", default=None, help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "day_to", default=None, help="Last day of the period (YYYY-MM-DD).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS.choices),
    callback=lambda _ctx, _param, value: REPORT_FORMATS.canonical(value),
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
@click.option(
    "--section-only",
    is_flag=True,
    help="docx: section 5 alone, to paste into a paper (default: the whole paper).",
)
@click.option(
    "--paper",
    "paper_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="docx: a YAML of this paper's wording (over the plan file's paper: block).",
)
@click.option("--freeze", metavar="NAME", help="Store the exact data behind this report as NAME.")
@click.option("--since-snapshot", metavar="NAME", help="Show what changed since snapshot NAME.")
@click.option(
    "--round",
    "round_name",
    metavar="NAME",
    help="The paper of round NAME: each approved or edited line; the rest marked [draft].",
)
@click.option("--strict", is_flag=True, help="With --round: refuse while any line is a draft.")
@click.option(
    "--explain",
    is_flag=True,
    help="Print why each deliverable is in its list and which rule chose its line.",
)
@pass_ctx
def report(
    ctx: Context,
    day_from: str | None,
    day_to: str | None,
    fmt: str,
    output: Path | None,
    template: Path | None,
    notes: str,
    section_only: bool,
    paper_file: Path | None,
    freeze: str | None,
    since_snapshot: str | None,
    round_name: str | None,
    strict: bool,
    explain: bool,
) -> None:
    """Draft the panel report for a period, in the Forward Plan paper's format: section 5 in
    Markdown, HTML or text; in Word, the whole paper (or --section-only)."""
    from digests.snapshots import changes_since, render_changes, report_to_data
    from handlers.service import freeze_report

    for value, option in ((day_from, "--from"), (day_to, "--to")):
        if value:
            parse_day(value, option)  # a usage error comes before any look at the database
    if not (since_snapshot or round_name) and (not day_from or not day_to):
        raise click.UsageError("give the period with --from DATE --to DATE")
    if (section_only or paper_file) and fmt != "docx":
        raise click.UsageError("--section-only and --paper are for --format docx")
    if strict and not round_name:
        raise click.UsageError("--strict is for --round NAME")
    wording = _paper_wording(paper_file) if paper_file else None
    store = ctx.existing_store
    snapshot = _snapshot(store, since_snapshot) if since_snapshot else None
    if round_name and not snapshot:
        from bot.cli_round import round_paper

        data = round_paper(ctx, store, round_name, notes=notes, strict=strict)
    else:
        data = _period_report(ctx, store, day_from, day_to, snapshot, notes)
    if snapshot is not None:
        changes = changes_since(snapshot["data"], report_to_data(data))
        click.echo(render_changes(snapshot["name"], snapshot["created_at"], changes), nl=False)
        return
    if explain:
        from digests.report_explain import render_explain

        click.echo(render_explain(data), nl=False)
        return
    if freeze:
        if store.snapshot(freeze) is not None:
            raise click.BadParameter(f"a snapshot called {freeze!r} exists", param_hint="--freeze")
        freeze_report(store, freeze, report_to_data(data))
        click.echo(f"froze the report data as snapshot {freeze!r}", err=True)
    if fmt == "docx":
        if output is None:
            raise click.UsageError("--format docx writes a file: add -o report.docx")
        _write(output, _word(store, data, template, section_only, wording))
        return
    text = render_report(data, fmt)
    if output:
        _write(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)


def _snapshot(store: Reader, name: str) -> dict[str, Any]:
    snapshot = store.snapshot(name)
    if snapshot is None:
        names = ", ".join(s["name"] for s in store.snapshots()) or "none yet"
        raise click.BadParameter(
            f"no snapshot called {name!r} (snapshots: {names})", param_hint="--since-snapshot"
        )
    return snapshot


def _period_report(
    ctx: Context,
    store: Reader,
    day_from: str | None,
    day_to: str | None,
    snapshot: dict[str, Any] | None,
    notes: str,
) -> Report:
    """The report for --from/--to (after a snapshot: from its start to today)."""
    settings = ctx.settings
    if snapshot is not None and not day_from:
        day_from = snapshot["data"]["period_from"]
    if snapshot is not None and not day_to:
        day_to = settings.office.today().isoformat()
    if not day_from or not day_to:
        raise click.UsageError("give the period with --from DATE --to DATE")
    start, end = parse_day(day_from, "--from"), parse_day(day_to, "--to")
    if end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    return build_report(store, day_from=start, day_to=end, office=settings.office, notes=notes)


def _write(output: Path, content: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    click.echo(f"wrote {output}", err=True)


def _paper_wording(path: Path) -> PaperWording:
    from handlers.paper import load_paper

    try:
        return load_paper(path)
    except PlanInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        fail(f"no report written: {len(exc.errors)} error(s) in {path}")
        raise


def _word(
    store: Reader,
    data: Report,
    template: Path | None,
    section_only: bool,
    wording: PaperWording | None,
) -> bytes:
    from digests.paper import build_paper, render_paper_docx, stored_wording
    from digests.report import render_docx
    from digests.round_lines import highlight_drafts, pending_items, word_drafts

    drafts = bool(pending_items(data))  # report --round: a highlighted [draft] on those lines
    marked = word_drafts(data) if drafts else data
    if section_only:
        content = render_docx(marked, template=template)
    else:
        given = stored_wording(store)
        paper = build_paper(store, data, wording.over(given) if wording else given)
        content = render_paper_docx(marked, paper, template=template)
    return highlight_drafts(content) if drafts else content


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


cli.add_command(backup)
cli.add_command(restore)
cli.add_command(digest)
cli.add_command(doctor)
cli.add_command(mail)
cli.add_command(stats)
cli.add_command(history)
cli.add_command(update)
cli.add_command(round_group)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: known errors become one line and a non-zero exit."""
    try:
        code = cli.main(args=argv, prog_name="deliverabot", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        fail(f"configuration: {exc}", EXIT_USAGE)
    except PlanInvalid as exc:
        for error in exc.errors[:MAX_ERROR_LINES]:
            click.echo(str(error), err=True)
        if len(exc.errors) > MAX_ERROR_LINES:
            click.echo(f"... and {len(exc.errors) - MAX_ERROR_LINES:,} more", err=True)
        fail(f"plan not imported: {len(exc.errors):,} error(s); nothing was written")
    except StoreError as exc:
        fail(str(exc))
    except sqlite3.DatabaseError as exc:
        # A damaged file (SQLITE_CORRUPT) found by a read: say what to do, no traceback.
        fail(
            f"the database cannot be read ({exc}); if it is damaged, restore the latest "
            "good backup: deliverabot restore FILE"
        )
    except KeyboardInterrupt:
        fail("interrupted", 130)


if __name__ == "__main__":  # pragma: no cover
    main()
