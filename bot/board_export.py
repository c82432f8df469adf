"""The board's exports: the plan as CSV (streamed) and as a spreadsheet (built in a process
of its own), each on a read-only connection of its own, so an export never goes ahead of a
board page or a Slack form on the shared reader. ``?from=&to=`` bound the Updates sheet."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor

from aiohttp import web

from bot.dates import parse_day_text
from digests.plan_table import (
    csv_chunks,
    export_xlsx_file,
    plan_rows,
    updates_period,
    write_xlsx,
)
from store import Reader
from store.export_reads import open_read_only

__all__ = ["csv_response", "xlsx_response"]

log = logging.getLogger("deliverabot.board")

_EXPORT_POOLS: dict[str, Executor] = {}


def csv_response(reader: Reader, tz: dt.tzinfo) -> web.Response:
    """The plan's CSV, streamed a chunk at a time, built on the export's own connection and
    threads."""
    return web.Response(
        body=_csv_stream(reader, tz),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="delivery-plan.csv"'},
    )


async def xlsx_response(request: web.Request, shared: Reader, tz: dt.tzinfo) -> web.Response:
    """The spreadsheet, built in a worker process on a read-only connection of its own
    (never ahead of a board page or a Slack form on the shared reader, and never
    holding the server's interpreter), into a temporary file that is then streamed.
    ``?from=&to=`` bound the Updates sheet to those days."""
    since, until = _export_period(request, tz)
    fd, name = tempfile.mkstemp(prefix="deliverabot-export-", suffix=".xlsx")
    os.close(fd)
    try:
        path = shared.path
        if path is None or str(path) == ":memory:":
            reader = shared
            await reader.call(
                lambda: write_xlsx(
                    reader, plan_rows(reader, tz), tz, name, since=since, until=until
                )
            )
        else:
            await _export_in_a_process(str(path), name, tz, since, until)
        body = open(name, "rb")  # noqa: SIM115  # aiohttp streams it, then closes it
    finally:
        os.unlink(name)  # the open file stays readable until it is closed
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="delivery-plan.xlsx"'},
    )


async def _export_in_a_process(
    db_path: str,
    target: str,
    tz: dt.tzinfo,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> None:
    """``python -m digests.plan_table``: a process of its own that imports only the export
    (not the server), so neither its memory nor openpyxl's CPU stays with the server, and
    ``/healthz`` keeps its interpreter (about 70 MB while it runs, whatever the history)."""
    zone = "UTC" if tz == dt.UTC else getattr(tz, "key", None)
    if zone is None:  # a zone with no name to pass on: its own thread instead
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            _export_threads(), export_xlsx_file, db_path, target, tz, since, until
        )
        return
    bounds = [b.isoformat() if b else "-" for b in (since, until)]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "digests.plan_table",
        db_path,
        target,
        zone,
        *bounds,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await child.communicate()
    if child.returncode != 0:
        log.error("board: the spreadsheet export failed: %s", errors.decode(errors="replace"))
        raise web.HTTPInternalServerError(text="The spreadsheet could not be built.")


def _export_threads() -> Executor:
    if "csv" not in _EXPORT_POOLS:
        _EXPORT_POOLS["csv"] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="export")
    return _EXPORT_POOLS["csv"]


def _export_period(
    request: web.Request, tz: dt.tzinfo
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``?from=&to=`` (the office's days, both included, either optional) as the Updates
    sheet's bounds; no period is every update."""
    text_from, text_to = request.query.get("from"), request.query.get("to")
    try:
        day_from = parse_day_text(text_from) if text_from else None
        day_to = parse_day_text(text_to) if text_to else None
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=f"{exc}. Bound the updates as ?from=YYYY-MM-DD&to=YYYY-MM-DD"
        ) from None
    if day_from and day_to and day_to < day_from:
        raise web.HTTPBadRequest(text="The period's end (to) is before its start (from).")
    return updates_period(day_from, day_to, tz)


async def _csv_stream(shared: Reader, tz: dt.tzinfo) -> AsyncIterator[bytes]:
    """The plan's CSV a chunk at a time, read on a connection of its own (the shared reader
    only for an in-memory database, which has no second connection)."""
    path = shared.path
    if path is None or str(path) == ":memory:":
        rows = await shared.call(plan_rows, shared, tz)
        for chunk in csv_chunks(rows):
            yield chunk.encode()
        return
    loop = asyncio.get_running_loop()
    pool = _export_threads()
    own = await loop.run_in_executor(pool, open_read_only, path)
    try:
        rows = await loop.run_in_executor(pool, plan_rows, own, tz)
        chunks = csv_chunks(rows)

        def following() -> str | None:
            return next(chunks, None)

        while (text := await loop.run_in_executor(pool, following)) is not None:
            yield text.encode()
    finally:
        own.close()
