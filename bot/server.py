"""The one process: HTTP (health, Slack), SMTP and the scheduler in a single asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import signal
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.logs import MalformedHttpFilter
from bot.maintenance import NIGHTLY_AT, Maintenance
from bot.round_jobs import RoundJobs
from bot.web_security import security_middleware
from bot.wiring import digest_service, mail_policy, mailbox_source, slack_web_client
from handlers.mail import DeliverabotSMTP, InboundWorker, Mailer, MailHandler, ParsePool
from handlers.outside import ReasonLog
from handlers.service import checkpoint, purge_raw_mail
from handlers.service.writer import Writer
from handlers.slack import (
    SlackDeps,
    SlackNotifier,
    build_slack_app,
    slack_events_handler,
    socket_mode_handler,
)
from store import DatabaseLocked, Reader, ServeLock, Store, probe_commit

__all__ = ["BotProcess", "StartupError", "serve"]

log = logging.getLogger("deliverabot")

SMTP_COMMAND_LIMIT = 100  # commands per session, whatever the verbs; the 101st gets 421
DELIVERY_GRACE = 20.0  # seconds a digest in flight may take to finish at shutdown
HEALTH_DEADLINE = 0.08  # /healthz answers within 100 ms, whatever the store is doing


class StartupError(Exception):
    """A listener could not start (for example a port already in use)."""


class BotProcess:
    """Owns the listeners and the scheduler; :meth:`start` and :meth:`stop` are symmetric."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.writer = Writer(store)  # what everything the process runs records through
        # The office (time zone, year, habits) with this process's clock, for everything.
        self.office = settings.office.with_clock(clock)
        self.clock = self.office.now
        self.web_app = web.Application(
            client_max_size=1024 * 1024,
            middlewares=[security_middleware(trust_proxy=settings.trust_proxy)],
        )
        self.web_app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None
        self._smtp_server: asyncio.base_events.Server | None = None
        self.scheduler = AsyncIOScheduler(timezone=settings.tz)
        self.http_port: int | None = None
        self.smtp_port: int | None = None
        self.started_at: dt.datetime | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._deliveries: set[asyncio.Task[Any]] = set()  # reconcile runs under way
        self._health_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")
        self.maintenance = Maintenance(settings=settings, store=store, clock=self.clock)
        memory = str(settings.db_path) == ":memory:"
        self._lock = None if memory else ServeLock(settings.db_path)  # restore checks it

        self.mailer = Mailer(relay=settings.smtp_relay, outbox=settings.outbox_dir)
        # Mail from any source goes through the one inbound worker; SMTP is one source, the
        # office's own mailbox another.
        policy = mail_policy(settings, store, office=self.office)
        # MIME parsing runs in a few worker processes (started with the server, stopped
        # with it), so the event loop and the store's thread only commit.
        self.parse_pool = ParsePool(settings.mail_parse_workers or None)
        self.inbound = InboundWorker(
            self.writer, policy, send_mail=self.mailer.send, pool=self.parse_pool
        )
        self.mail_handler = MailHandler(self.inbound, max_sessions=settings.smtp_max_sessions)
        self.mailbox = mailbox_source(settings, self.writer, office=self.office)
        self._mailbox_task: asyncio.Task[None] | None = None
        self.slack_app: Any = None
        self.slack_deps: SlackDeps | None = None
        self.slack: SlackNotifier | None = None
        self.reader: Reader | None = None  # Slack's read-only connection
        self.board_reader: Reader | None = None  # the board's own, so it never delays Slack
        self._socket_handler: Any = None
        # Requests refused at the edge, and listener failures: counted, one line a minute.
        self.refusals = ReasonLog(log, "Slack: refused a request", level=logging.INFO)
        self.failures = ReasonLog(log, "Slack: a listener failed")
        self.malformed_http = MalformedHttpFilter(
            ReasonLog(log, "HTTP: refused a request", level=logging.INFO)
        )
        if settings.slack_enabled:
            self.slack = SlackNotifier(slack_web_client(settings))
        self.digests = digest_service(
            settings, store, slack=self.slack, mailer=self.mailer, office=self.office
        )
        if self.slack is not None:
            self._setup_slack(self.slack)
        if settings.board_token:
            from bot.board import add_board_routes

            self.board_reader = store.open_reader()
            add_board_routes(
                self.web_app, settings=settings, reader=self.board_reader, office=self.office
            )
        self.rounds = RoundJobs.for_process(self)  # the paper round: bot/round_jobs.py

    def _setup_slack(self, slack: SlackNotifier) -> None:
        self.reader = self.store.open_reader()
        deps = self.slack_deps = SlackDeps(
            writer=self.writer,
            reader=self.reader,
            office=self.office,
            mail_domain=self.settings.mail_domain,
            previews={"digest": self.digests.preview, "stats": self.digests.stats_preview},
        )
        self.slack_app = build_slack_app(
            deps=deps,
            client=slack.client,
            signing_secret=self.settings.slack_signing_secret,
            socket_mode=self.settings.socket_mode,
            failures=self.failures,
        )
        if not self.settings.socket_mode:
            handler = slack_events_handler(
                self.slack_app,
                signing_secret=self.settings.slack_signing_secret or "",
                refusals=self.refusals,
            )
            self.web_app.router.add_post("/slack/events", handler)

    # -- HTTP -----------------------------------------------------------
    async def _store_problem(self) -> str | None:
        """Why the store cannot commit now, or ``None``; answers within ``HEALTH_DEADLINE``
        whatever the store is doing (it never queues behind the store's own thread)."""
        if self.store.corrupt is not None:
            return f"the database {self.store.corrupt}; restore a backup (deliverabot restore)"
        failure = self.store.last_failure
        if failure is not None and self.clock() - failure[0] < dt.timedelta(seconds=60):
            return f"the last write could not commit: {failure[1]}"
        loop = asyncio.get_running_loop()
        probe = loop.run_in_executor(self._health_executor, probe_commit, self.settings.db_path)
        try:
            return await asyncio.wait_for(asyncio.shield(probe), HEALTH_DEADLINE)
        except TimeoutError:
            return f"the database did not answer within {int(HEALTH_DEADLINE * 1000)} ms"

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await self._store_problem()
        db_ok = problem is None
        mailbox_problem = self.mailbox.problem() if self.mailbox is not None else None
        body = {
            "status": "ok" if db_ok and mailbox_problem is None else "degraded",
            "database": str(self.settings.db_path),
            "database_ok": db_ok,
            "reason": problem or mailbox_problem,
            "slack": self.settings.describe()["slack"],
            "smtp_port": self.smtp_port,
            "mailbox": self.mailbox.describe() if self.mailbox is not None else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    # -- lifecycle ------------------------------------------------------
    async def start(self) -> None:
        """HTTP, then SMTP, then the scheduler and the background catch-up; Slack last."""
        s = self.settings
        if self._lock is not None:
            try:
                self._lock.acquire(exclusive=False)
            except DatabaseLocked:
                msg = f"{s.db_path}: a restore is under way; start again after it"
                raise StartupError(msg) from None
            except OSError as exc:  # e.g. a read-only folder: serve still runs
                log.warning(
                    "cannot take %s (%s); restore cannot tell serve runs", self._lock.path, exc
                )
                self._lock = None
        try:
            await self.maintenance.check()  # before SMTP: a damaged database takes no mail
            await self._start_http()
            await self._start_smtp()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self._schedule()
        self.scheduler.start()
        self._background(self.parse_pool.start())
        if self.store.corrupt is None:
            self._background(self.inbound.process_pending())
        if self.mailbox is not None:
            submit = self.inbound.take  # committed once with its place in the folder
            self._mailbox_task = asyncio.get_running_loop().create_task(self.mailbox.run(submit))
            log.info("mailbox: reading %s", s.mailbox.describe() if s.mailbox else "")
        self._background(self._reconcile())
        self._background(self.rounds.tick())
        if self.slack_app is not None and self.settings.socket_mode:
            self._socket_handler = socket_mode_handler(
                self.slack_app, self.settings.slack_app_token
            )
            self._background(self._connect_socket_mode())
        elif self.slack_app is not None:
            log.info("Slack: listening for events at POST /slack/events")
        self.started_at = self.clock()
        log.info(
            "serving: http://%s:%s  smtp://%s:%s  db=%s",
            s.http_host,
            self.http_port,
            s.smtp_host,
            self.smtp_port,
            s.db_path,
        )
        if not s.slack_enabled:
            log.info(
                "Slack is off (no SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/SLACK_APP_TOKEN); "
                "digests go to the outbox folder %s",
                s.outbox_dir,
            )
        if s.trusted_relays and not s.trusted_peers:
            log.warning(
                "MAIL_TRUSTED_RELAYS is set but SMTP_TRUSTED_PEERS is empty: relay proof is "
                "off, and updates by mail need a personal code"
            )

    async def _start_http(self) -> None:
        s = self.settings
        logging.getLogger("aiohttp.server").addFilter(self.malformed_http)
        self._runner = web.AppRunner(self.web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.http_host, s.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise StartupError(_bind_message("PORT", s.http_host, s.port, exc)) from None
        self.http_port = _bound_port(self._runner.addresses, s.port)

    async def _start_smtp(self) -> None:
        s = self.settings
        handler = self.mail_handler
        try:
            tls = _smtp_tls_context(s)
        except StartupError:
            if self._runner is not None:
                await self._runner.cleanup()
            raise

        def smtp_factory() -> DeliverabotSMTP:
            return DeliverabotSMTP(
                handler,
                hostname=s.mail_domain,  # fixed name: no DNS lookup blocks the loop
                data_size_limit=s.max_message_bytes,
                command_limit=SMTP_COMMAND_LIMIT,
                enable_SMTPUTF8=True,
                tls_context=tls,
                require_starttls=bool(s.smtp_tls and s.smtp_tls.required),
            )

        loop = asyncio.get_running_loop()
        try:
            self._smtp_server = await loop.create_server(smtp_factory, s.smtp_host, s.smtp_port)
        except OSError as exc:
            if self._runner is not None:
                await self._runner.cleanup()
            raise StartupError(_bind_message("SMTP_PORT", s.smtp_host, s.smtp_port, exc)) from None
        self.smtp_port = self._smtp_server.sockets[0].getsockname()[1]

    def _schedule(self) -> None:
        s = self.settings
        self.scheduler.add_job(
            self.maintenance.nightly,
            CronTrigger(hour=NIGHTLY_AT.hour, minute=NIGHTLY_AT.minute, timezone=s.tz),
            id="integrity-and-backup",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.add_job(
            self._checkpoint,
            "cron",
            hour=3,
            minute=17,
            id="wal-checkpoint",
            replace_existing=True,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._mail_housekeeping,
            "interval",
            minutes=15,
            id="mail-housekeeping",
            replace_existing=True,
            coalesce=True,
        )
        for job_id, schedule in (
            ("digest", s.digest_schedule),
            ("reminders", s.reminder_schedule),
        ):
            # A wake-up call only: the ledger decides what is due, so a missed run is caught
            # up by reconcile() rather than moved or lost by the scheduler.
            self.scheduler.add_job(
                self._reconcile,
                CronTrigger(
                    day_of_week=schedule.day,
                    hour=schedule.time.hour,
                    minute=schedule.time.minute,
                    timezone=s.tz,
                ),
                id=job_id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        self.scheduler.add_job(
            self._reconcile, "interval", minutes=30, id="reconcile", coalesce=True, max_instances=1
        )
        # The paper round: asks, reminders and notices owed (the ledger sends each once).
        self.scheduler.add_job(
            self.rounds.tick, "interval", minutes=1, id="rounds", coalesce=True, max_instances=1
        )

    async def _connect_socket_mode(self, retry_seconds: float = 30) -> None:
        """Connect out to Slack; keep trying if Slack is unreachable, without stopping mail."""
        while True:
            try:
                await self._socket_handler.connect_async()
                log.info("Slack: connected in Socket Mode")
                return
            except Exception as exc:
                log.warning(
                    "Slack Socket Mode connection failed (%s); retrying in %.0f s",
                    type(exc).__name__,
                    retry_seconds,
                )
                await asyncio.sleep(retry_seconds)

    async def _reconcile(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._deliveries.add(task)
        try:
            for outcome in await self.digests.reconcile():
                log.info("scheduled delivery to %s: %s", outcome.destination, outcome.state)
        except Exception:
            log.exception("digest reconcile failed; the next wake-up will try again")
        finally:
            if task is not None:
                self._deliveries.discard(task)

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mail_housekeeping(self) -> None:
        """Queue messages left pending (the parser drains them all, continuously) and purge
        raw copies past their retention."""
        if self.store.corrupt is not None:
            return  # nothing is written to a damaged database
        await self.inbound.process_pending()

        purged = await self.writer.call(purge_raw_mail, self.clock())
        if purged:
            log.info("purged %d raw messages past their retention", purged)

    async def _checkpoint(self) -> None:
        await self.writer.call(checkpoint)

    async def _stop_mailbox(self) -> None:
        """Stop reading the mailbox: what is committed stays committed (and is marked on
        the next start if it was not marked yet)."""
        task, self._mailbox_task = self._mailbox_task, None
        if self.mailbox is None or task is None:
            return
        self.mailbox.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        await self._stop_mailbox()
        if self._socket_handler is not None:
            await self._socket_handler.close_async()
            self._socket_handler = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._deliveries:
            # A digest being posted finishes (and is recorded sent) rather than being cut off
            # between its post and its ledger row; past the deadline the claim's lease lets
            # `digest --retry` finish it later.
            log.info("waiting for %d digest delivery(ies) in flight", len(self._deliveries))
            await asyncio.wait(set(self._deliveries), timeout=DELIVERY_GRACE)
        if self._smtp_server is not None:
            self._smtp_server.close()  # no new connections
            told = await self.mail_handler.close_sessions()
            if told:
                log.info("told %d open SMTP session(s) 421", told)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._smtp_server.wait_closed(), 5)
            self._smtp_server = None
        left = await self.inbound.finish()
        if left:
            log.info("%d accepted message(s) left pending; the next start processes them", left)
        await asyncio.get_running_loop().run_in_executor(None, self.parse_pool.shutdown)
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.slack_deps is not None:
            await self.slack_deps.drain()
        for reader in (self.reader, self.board_reader):
            if reader is not None and reader is not self.store:
                reader.close()
        self.reader = self.board_reader = None
        self.refusals.flush()
        self.failures.flush()
        self.malformed_http.counter.flush()
        logging.getLogger("aiohttp.server").removeFilter(self.malformed_http)
        self._health_executor.shutdown(wait=False)
        if self._lock is not None:
            self._lock.release()
        log.info("stopped")


def _smtp_tls_context(s: Settings) -> ssl.SSLContext | None:
    """STARTTLS on the SMTP port with ``SMTP_TLS_CERT`` and ``SMTP_TLS_KEY``, if set."""
    if s.smtp_tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert, key = s.smtp_tls.cert, s.smtp_tls.key
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(
            f"SMTP_TLS_CERT/SMTP_TLS_KEY: cannot use {cert} with {key}: "
            f"{getattr(exc, 'reason', None) or exc}"
        ) from None
    return context


def _bound_port(addresses: list[Any], fallback: int) -> int:
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return fallback


def _bind_message(variable: str, host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{variable}={port}: {host}:{port} is already in use; "
            "stop the other process or choose another port"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{variable}={port}: not allowed to listen on {host}:{port}; use a port above 1024"
    return f"{variable}={port}: cannot listen on {host}:{port}: {exc.strerror or exc}"


async def serve(settings: Settings, store: Store, *, ready: asyncio.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut everything down cleanly."""
    process = BotProcess(settings=settings, store=store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await process.start()
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await process.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
