"""SMTP ingest: messages per second from the SMTP session to the committed row, and on to
parsed and counted, next to aiosmtpd's Sink handler (which stores nothing) measured in the
same run; and the lag from the last ``250`` of the burst to the last message counted.

The messages are real ones (``/work/shared/mail-corpus/`` when it is there, and the
project's own fixtures), each given a Message-ID of its own, sent by 20 ``smtplib``
clients from a trusted relay (so a ``From:`` other than the envelope is a forward, and the
whole correspondence path runs). The Sink and deliverabot take turns, ``--rounds=N`` times
(3 by default; one run of either varies by 2x on a shared VM), and the figures are the
medians of the rounds' ratios. ``--profile`` adds a cProfile of the parsing of the corpus.
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import inspect
import ipaddress
import os
import pstats
import re
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from common import EXAMPLE_PLAN, ROOT, summarise

from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler, MailPolicy
from handlers.plan import load_plan
from handlers.service import import_plan
from handlers.service.writer import Writer
from store import open_store

MESSAGES = 2000
CLIENTS = 20  # concurrent SMTP sessions, as the goal is stated
CORPUS = Path(os.environ.get("MAIL_CORPUS", "/work/shared/mail-corpus"))
MAX_BYTES = 300_000  # the 3 MB "endless" message is a limits test, not a letter
# ... as is the one with a 209 KB Subject of 3,300 encoded words: the standard library
# parses it in quadratic time (1.6 s alone, once; it was read several times a message).
MAX_FIELD = 16_384
_MESSAGE_ID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


def corpus() -> list[bytes]:
    """Real messages, varied: the shared corpus and the project's own fixtures."""
    files = sorted((ROOT / "tests" / "fixtures" / "mail").glob("*.eml"))
    if CORPUS.is_dir():
        files += sorted(CORPUS.glob("*.eml"))
    # Lines past RFC 5321's 1,000 octets are refused by the Sink (ours takes them).
    return [
        raw
        for f in files
        if len(raw := f.read_bytes()) <= MAX_BYTES
        and max(map(len, raw.split(b"\n"))) <= 900
        and _longest_field(raw) <= MAX_FIELD
    ]


def _longest_field(raw: bytes) -> int:
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return max(map(len, re.split(rb"\r?\n(?![ \t])", head)))


def messages(count: int) -> list[bytes]:
    """``count`` messages cycling through the corpus, each with a Message-ID of its own."""
    base = corpus()
    out = []
    for i in range(count):
        raw = _MESSAGE_ID.sub(b"", base[i % len(base)])
        raw = re.sub(rb"\r?\n", b"\r\n", raw)  # as a mail server sends it: CRLF
        out.append(f"Message-ID: <bench-{i}@bench.example>\r\n".encode() + raw)
    return out


class _Controller(Controller):
    def factory(self) -> DeliverabotSMTP:
        return DeliverabotSMTP(self.handler, **self.SMTP_kwargs)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PER_SESSION = 25  # messages per connection (a session's command budget is 100)


def _client(port: int, batch: list[bytes]) -> None:
    for k in range(0, len(batch), PER_SESSION):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for raw in batch[k : k + PER_SESSION]:
                client.sendmail("priya.shah@example.org", ["correspondence@localhost"], raw)


def _drive(port: int, mail: list[bytes]) -> tuple[float, float]:
    """(when the burst started, when its last ``250`` came), perf_counter seconds."""
    batches = [mail[k::CLIENTS] for k in range(CLIENTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda b: _client(port, b), batches))
    return start, time.perf_counter()


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _worker(writer: Writer, policy: MailPolicy) -> tuple[InboundWorker, Any]:
    """The worker, with the parse pool where this version of the code has one."""
    params = inspect.signature(InboundWorker).parameters
    if "pool" not in params:
        return InboundWorker(writer, policy), None
    from handlers.mail.pool import ParsePool

    pool = ParsePool()
    return InboundWorker(writer, policy, pool=pool), pool


def profile_parsing(mail: list[bytes]) -> None:
    """cProfile of parsing the messages in this process (what the pool's workers do)."""
    try:
        from handlers.mail.pool import ParseJob, analyse_jobs
    except ImportError:
        return
    jobs = [
        ParseJob(i, raw, "priya.shah@example.org", ("correspondence@localhost",), "smtp", None)
        for i, raw in enumerate(mail)
    ]
    config = _policy()
    prof = cProfile.Profile()
    prof.enable()
    analyse_jobs(jobs, config.mail_domain, config.hash_key, config.trusted_peers)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(18)


def _policy() -> MailPolicy:
    return MailPolicy(
        mail_domain="localhost",
        hash_key=b"k",
        trusted_peers=(ipaddress.ip_network("127.0.0.0/8"),),
    )


ROUNDS = 3  # Sink and deliverabot, one after the other, this many times: medians


def _sink_seconds(mail: list[bytes]) -> float:
    sink = Controller(Sink(), hostname="127.0.0.1", port=_port())
    sink.start()
    try:
        s0, s1 = _drive(sink.port, mail)
    finally:
        sink.stop()
    return s1 - s0


def _ours(mail: list[bytes]) -> tuple[float, float, dict[str, int]]:
    """(seconds to the last ``250``, seconds to the last counted, outcomes) of one burst on
    a fresh database, the parse pool started first (as ``serve`` starts it)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seed = open_store(db)
        import_plan(seed, load_plan(EXAMPLE_PLAN), today=dt.date(2022, 9, 14))
        seed.close()
        store = open_store(db)
        worker, pool = _worker(Writer(store), _policy())
        handler = MailHandler(worker)
        ours = _Controller(handler, hostname="127.0.0.1", port=_port(), server_hostname="localhost")
        ours.start()
        try:
            if pool is not None:
                asyncio.run_coroutine_threadsafe(pool.start(), ours.loop).result(60)
            t0, last_250 = _drive(ours.port, mail)
            asyncio.run_coroutine_threadsafe(handler.worker.drain(), ours.loop).result(600)
            counted_at = time.perf_counter()
        finally:
            ours.stop()
            if pool is not None:
                pool.shutdown()
        check = open_store(db)
        states = dict(
            check.db.execute("SELECT state, COUNT(*) FROM inbound GROUP BY state").fetchall()
        )
        check.close()
        store.close()
    assert sum(states.values()) == len(mail) and "pending" not in states, states
    return last_250 - t0, counted_at - t0, states


def _rounds() -> int:
    for arg in sys.argv[1:]:
        if arg.startswith("--rounds="):
            return max(1, int(arg.split("=", 1)[1]))
    return ROUNDS


def main() -> None:
    mail = messages(MESSAGES)
    rounds = _rounds()
    print(f"SMTP ingest, {MESSAGES} messages ({len(corpus())} real ones, cycled) over {CLIENTS}")
    print(f"  clients, {rounds} round(s) of the Sink then deliverabot; before: {_load()}")
    base: list[float] = []
    committed: list[float] = []
    parsed: list[float] = []
    lags: list[float] = []
    for n in range(rounds):
        sink = _sink_seconds(mail)
        to_250, to_counted, states = _ours(mail)
        base.append(sink)
        committed.append(sink / to_250)
        parsed.append(sink / to_counted)
        lags.append(to_counted - to_250)
        print(
            f"  round {n + 1}: Sink {MESSAGES / sink:6.0f} msg/s; committed (250) "
            f"{MESSAGES / to_250:6.0f} msg/s ({sink / to_250:4.2f}x), parsed and counted "
            f"{MESSAGES / to_counted:6.0f} msg/s ({sink / to_counted:4.2f}x), last counted "
            f"{to_counted - to_250:.2f} s after the last 250"
        )
    print(f"  outcomes: {', '.join(f'{k} {v}' for k, v in sorted(states.items()))}")
    print(f"  after: {_load()}")
    sink_rate = MESSAGES / statistics.median(base)
    summarise(
        f"SMTP ingest, 250 after commit, {CLIENTS} clients",
        f"{sink_rate * statistics.median(committed):.0f} msg/s",
        f"{sink_rate:.0f} msg/s Sink",
        statistics.median(committed),
        ">= 0.5x the Sink",
    )
    summarise(
        f"SMTP parsed and counted, {CLIENTS} clients",
        f"{sink_rate * statistics.median(parsed):.0f} msg/s",
        f"{sink_rate:.0f} msg/s Sink",
        statistics.median(parsed),
        ">= 0.5x the Sink",
    )
    lag = statistics.median(lags)
    summarise(
        f"SMTP lag, last 250 to last counted ({MESSAGES:,})",
        f"{lag:.2f} s",
        f"{statistics.median(base):.2f} s Sink burst",
        lag / statistics.median(base),
        "< 2 s",
    )
    if "--profile" in sys.argv:
        profile_parsing(mail)


if __name__ == "__main__":
    from common import print_summary

    main()
    print_summary()
