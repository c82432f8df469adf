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


def default_workers() -> int:
    """One worker per core, at least one."""
    return max(1, os.cpu_count() or 1)


def _ready() -> int:
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

    ``workers`` defaults to one per core. Started on first use (or :meth:`start`, which
    also warms the workers up); :meth:`shutdown` stops it (and waits for its workers)."""

    def __init__(self, workers: int | None = None, *, context: str | None = None) -> None:
        self.workers = max(1, workers if workers is not None else default_workers())
        methods = multiprocessing.get_all_start_methods()
        self.context = context or ("forkserver" if "forkserver" in methods else "spawn")
        self._executor: ProcessPoolExecutor | None = None
        self.restarts = 0  # pools replaced after a worker died
        self.analysed = 0  # messages analysed by the workers

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context(self.context)
            if self.context == "forkserver":
                ctx.set_forkserver_preload(["handlers.mail.analysis"])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_watch_parent
            )
        return self._executor

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
        loop = asyncio.get_running_loop()
        try:
            pool = self._pool()
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self.workers)))
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            log.warning("parse pool did not start (%s)", type(exc).__name__)
            self._discard()

    async def analyse(self, jobs: list[ParseJob], policy: MailPolicy) -> list[Analysis | None]:
        """Each job's analysis, in order, spread over the workers; ``None`` for a job whose
        worker died (or any failure of the pool itself): it is parsed in-process."""
        if not jobs:
            return []
        loop = asyncio.get_running_loop()
        size = -(-len(jobs) // self.workers)  # ceiling: one chunk per worker
        chunks = [jobs[k : k + size] for k in range(0, len(jobs), size)]
        peers = tuple(policy.trusted_peers)
        try:
            pool = self._pool()
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool, analyse_jobs, chunk, policy.mail_domain, policy.hash_key, peers
                    )
                    for chunk in chunks
                )
            )
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            log.warning(
                "parse pool failed (%s); %d message(s) parsed in-process, and a new pool "
                "takes the next batch",
                type(exc).__name__,
                len(jobs),
            )
            self._discard()
            return [None] * len(jobs)
        found = [a for part in parts for a in part]
        self.analysed += sum(a is not None for a in found)
        return found

    def _discard(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            self.restarts += 1
            executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the workers (waiting for them); a later batch would start a new pool."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
