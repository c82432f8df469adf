"""The parse pool: MIME parsing (CPU-bound) in a few worker processes, off the event loop
and off the store's thread, so both cores work while the store only commits.

Workers start from a fork server (``spawn`` where there is none), never by forking this
process, whose threads (the store's, aiosmtpd's) may hold locks. What crosses to a worker
is a :class:`~handlers.mail.analysis.ParseJob` and what comes back an
:class:`~handlers.mail.analysis.Analysis`, plain data. A worker that dies loses nothing:
its batch comes back as "not analysed" (``None``), is parsed on the store's thread as
before, and the next batch gets a new pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from handlers.mail.analysis import Analysis, ParseJob, analyse_jobs
from handlers.mail.policy import MailPolicy

__all__ = ["ParseJob", "ParsePool", "analyse_jobs", "default_workers"]

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0  # seconds for a worker to start (the fork server imports first)


def default_workers() -> int:
    """One worker per core, at least one."""
    return max(1, os.cpu_count() or 1)


def _ready(pause: float = 0.0) -> int:
    time.sleep(pause)  # busy a moment, so that the next task starts a worker of its own
    return os.getpid()


def _watch_parent() -> None:
    """In a worker: exit when the process that started it is gone (the server killed with
    ``kill -9`` cannot stop its pool), rather than wait for work forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ParsePool:
    """A small process pool for :func:`~handlers.mail.analysis.analyse_jobs`.

    ``workers`` defaults to one per core. Started on first use (or :meth:`start`), always
    in a thread of its own: starting a worker waits for the fork server to have imported
    the parsing code (about a second on a busy VM), and the event loop must not wait with
    it. :meth:`shutdown` stops it (and waits for its workers)."""

    def __init__(self, workers: int | None = None, *, context: str | None = None) -> None:
        self.workers = max(1, workers if workers is not None else default_workers())
        methods = multiprocessing.get_all_start_methods()
        self.context = context or ("forkserver" if "forkserver" in methods else "spawn")
        self._executor: ProcessPoolExecutor | None = None
        self._warm = False  # every worker of the executor is running
        self._lock = threading.Lock()  # one thread starts the executor
        self.restarts = 0  # pools replaced after a worker died
        self.analysed = 0  # messages analysed by the workers

    def _started(self) -> ProcessPoolExecutor:
        """The executor with all its workers running (started here if need be: blocking,
        so never on the event loop). A worker is spawned when a task is submitted and no
        worker is idle; once all are, submitting a task never spawns one."""
        with self._lock:
            executor = self._executor
            if executor is None:
                ctx = multiprocessing.get_context(self.context)
                if self.context == "forkserver":
                    ctx.set_forkserver_preload(["handlers.mail.analysis"])
                executor = self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=ctx, initializer=_watch_parent
                )
                self._warm = False
            if not self._warm:
                try:
                    for ready in [executor.submit(_ready, 0.05) for _ in range(self.workers)]:
                        ready.result(timeout=STARTUP_TIMEOUT)
                except BaseException:
                    self._executor = None  # the next batch tries a new one
                    self.restarts += 1
                    executor.shutdown(wait=False, cancel_futures=True)
                    raise
                self._warm = True
            return executor

    async def _pool(self) -> ProcessPoolExecutor:
        executor = self._executor
        if executor is not None and self._warm:
            return executor
        return await asyncio.to_thread(self._started)

    @property
    def executor(self) -> Executor | None:
        """The running executor (``None`` before the first batch or after shutdown)."""
        return self._executor

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests that kill one)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [int(pid) for pid in processes]

    async def start(self) -> None:
        """Start the workers now, so the first batch does not wait for them (a pool that
        cannot start is logged; batches are then parsed in-process)."""
        try:
            await self._pool()
        except (BrokenProcessPool, OSError, RuntimeError, TimeoutError) as exc:
            log.warning("parse pool did not start (%s)", type(exc).__name__)

    async def analyse(self, jobs: list[ParseJob], policy: MailPolicy) -> list[Analysis | None]:
        """Each job's analysis, in order, spread over the workers; ``None`` for a job whose
        worker died (or any failure of the pool itself): it is parsed in-process."""
        if not jobs:
            return []
        loop = asyncio.get_running_loop()
        size = -(-len(jobs) // self.workers)  # ceiling: one chunk per worker
        chunks = [jobs[k : k + size] for k in range(0, len(jobs), size)]
        peers = tuple(policy.trusted_peers)
        pool: ProcessPoolExecutor | None = None
        try:
            pool = await self._pool()
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool, analyse_jobs, chunk, policy.mail_domain, policy.hash_key, peers
                    )
                    for chunk in chunks
                )
            )
        except (BrokenProcessPool, OSError, RuntimeError, TimeoutError) as exc:
            log.warning(
                "parse pool failed (%s); %d message(s) parsed in-process, and a new pool "
                "takes the next batch",
                type(exc).__name__,
                len(jobs),
            )
            self._discard(pool)
            return [None] * len(jobs)
        found = [a for part in parts for a in part]
        self.analysed += sum(a is not None for a in found)
        return found

    def _discard(self, failed: ProcessPoolExecutor | None) -> None:
        """Drop the executor that failed (not one started since by another batch)."""
        with self._lock:
            executor = self._executor
            if executor is None or executor is not failed:
                return
            self._executor = None
        self.restarts += 1
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the workers (waiting for them); a later batch would start a new pool."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
