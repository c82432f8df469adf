"""The exports at scale: `/board/export.xlsx` through a real board server and `plan export
x.xlsx` at 1x and 100x an office with three years of history, each with its time and peak
memory, and `/healthz` on the same server while the export runs (baseline: `/healthz` idle).

Peak memory: the server runs in this process, so its peak is read from /proc (VmHWM, reset
before each export). The export's own process (`python -m digests.plan_table`, a child of the
server) and the CLI are sampled from /proc while they run (VmHWM, their high-water mark since
their exec): `ru_maxrss` of a child counts the pages of this process it was forked from, so
it said the bench's own size.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from common import ROOT, percentile, summarise
from scale_data import end_of, populate

from bot.config import load_settings
from bot.server import BotProcess
from store import open_store

TOKEN = "bench-board-token-0123456789"
YEARS = 3
# The base code's export at 100x took 50 s on a quiet VM; on a shared one, stop it here.
EXPORT_TIMEOUT = float(os.environ.get("EXPORT_BENCH_TIMEOUT", "240"))


def _hwm_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5": reset the peak RSS to the current
        f.write("5")


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _proc_hwm_mb(pid: int) -> float | None:
    """The high-water mark of process ``pid`` since its exec, or None once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _export_child() -> int | None:
    """The server's export process (`python -m digests.plan_table`), if one runs."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and b"digests.plan_table" in cmdline:
            return int(entry.name)
    return None


async def _board(db: Path, tmp: Path) -> dict[str, float]:
    settings = load_settings(
        {
            "DELIVERABOT_DB": str(db),
            "PORT": "0",
            "SMTP_PORT": "0",
            "BOARD_TOKEN": TOKEN,
            "OUTBOX_DIR": str(tmp / "outbox"),
        },
        env_file=None,
    )
    store = open_store(db)
    now = dt.datetime.combine(end_of(YEARS), dt.time(12), tzinfo=dt.UTC)
    process = BotProcess(settings=settings, store=store, clock=lambda: now)
    await process.start()
    base = f"http://127.0.0.1:{process.http_port}"
    out: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
            await asyncio.sleep(2)  # let the start-up work settle
            idle = []
            for _ in range(50):
                t0 = time.perf_counter()
                async with s.get(f"{base}/healthz") as r:
                    await r.read()
                idle.append(time.perf_counter() - t0)
            gc.collect()
            _hwm_reset()
            rss0 = _hwm_mb()
            t0 = time.perf_counter()

            async def export() -> int:
                limit = aiohttp.ClientTimeout(total=EXPORT_TIMEOUT)
                try:
                    async with s.get(f"{base}/board/export.xlsx", timeout=limit) as r:
                        assert r.status == 200, r.status
                        size = 0  # read and dropped a chunk at a time: the client shares
                        async for chunk in r.content.iter_chunked(1 << 16):  # this process
                            size += len(chunk)
                        return size
                except TimeoutError:
                    return -1

            task = asyncio.create_task(export())
            during = []
            child: int | None = None
            child_mb = float("nan")
            while not task.done():
                h0 = time.perf_counter()
                async with s.get(f"{base}/healthz") as r:
                    await r.read()
                during.append(time.perf_counter() - h0)
                if child is None and len(during) % 5 == 1:
                    child = _export_child()
                if child is not None and (mb := _proc_hwm_mb(child)) is not None:
                    child_mb = mb if math.isnan(child_mb) else max(child_mb, mb)
                await asyncio.sleep(0.02)
            size = await task
            out["xlsx_s"] = time.perf_counter() - t0 if size >= 0 else math.inf
            out["xlsx_mb"] = size / 1e6
            out["peak_mb"] = _hwm_mb()
            out["rss0_mb"] = rss0
            out["child_mb"] = child_mb
            out["idle_p99"] = percentile(idle, 99)
            out["during_p99"] = percentile(during, 99) if during else float("nan")
            out["during_max"] = max(during) if during else float("nan")
            out["during_n"] = len(during)
    finally:
        await process.stop()
        store.close()
    return out


def _cli_export(db: Path, tmp: Path) -> tuple[float, float]:
    """`plan export x.xlsx` in a process of its own: its time and its peak RSS (sampled
    from /proc every 20 ms while it runs)."""
    env = {**os.environ, "DELIVERABOT_DB": str(db), "OUTBOX_DIR": str(tmp / "outbox")}
    exe = str(Path(sys.executable).with_name("deliverabot"))
    t0 = time.perf_counter()
    deadline = EXPORT_TIMEOUT
    proc = subprocess.Popen(
        [exe, "plan", "export", str(tmp / "x.xlsx")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = float("nan")
    while True:
        if (mb := _proc_hwm_mb(proc.pid)) is not None:
            peak = mb if math.isnan(peak) else max(peak, mb)
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return math.inf, float("nan")
        time.sleep(0.02)
    took = time.perf_counter() - t0
    assert status == 0, proc.stderr.read() if proc.stderr else status
    return took, peak


def main() -> None:
    results = {}
    for scale in (1, 100):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            db = tmp / f"export{scale}.db"
            store = open_store(db)
            sizes = populate(store, scale, years=YEARS, answered=0.85)
            store.close()
            del store
            gc.collect()
            board = asyncio.run(_board(db, tmp))
            cli_s, cli_mb = _cli_export(db, tmp)
            results[scale] = (sizes, board, cli_s, cli_mb)
            print(
                f"{scale:>3}x {sizes[0]:>6} deliverables {sizes[1]:>8} updates: "
                f"export.xlsx {board['xlsx_s'] * 1000:.0f} ms ({board['xlsx_mb']:.1f} MB), "
                f"server peak {board['peak_mb']:.0f} MB (idle {board['rss0_mb']:.0f} MB), "
                f"export process peak {board['child_mb']:.0f} MB; /healthz p99 idle "
                f"{board['idle_p99'] * 1000:.1f} ms, during {board['during_p99'] * 1000:.1f} ms "
                f"(max {board['during_max'] * 1000:.1f} ms, {board['during_n']:.0f} probes); "
                f"plan export {cli_s * 1000:.0f} ms, {cli_mb:.0f} MB"
            )
    one, big = results[1], results[100]
    b1, b100 = one[1], big[1]
    summarise(
        "export.xlsx at 100x (3 years)",
        f"{b100['xlsx_s'] * 1000:.0f} ms",
        f"{b1['xlsx_s'] * 1000:.0f} ms at 1x",
        b100["xlsx_s"] / b1["xlsx_s"],
        "< 5 s",
    )
    summarise(
        "export.xlsx at 100x, export process peak",
        f"{b100['child_mb']:.0f} MB",
        f"{b1['child_mb']:.0f} MB at 1x",
        b100["child_mb"] / b1["child_mb"],
        "flat",
    )
    summarise(
        "export.xlsx at 100x, server peak RSS",
        f"{b100['peak_mb']:.0f} MB",
        f"{b100['rss0_mb']:.0f} MB idle",
        b100["peak_mb"] / b100["rss0_mb"],
        "flat",
    )
    summarise(
        "/healthz p99 during export.xlsx at 100x",
        f"{b100['during_p99'] * 1000:.1f} ms",
        f"{b100['idle_p99'] * 1000:.1f} ms idle",
        b100["during_p99"] / b100["idle_p99"],
        "< 100 ms",
    )
    summarise(
        "plan export x.xlsx at 100x (3 years)",
        f"{big[2] * 1000:.0f} ms, {big[3]:.0f} MB",
        f"{one[2] * 1000:.0f} ms, {one[3]:.0f} MB at 1x",
        big[2] / one[2],
        "< 5 s, flat memory",
    )


if __name__ == "__main__":
    from common import print_summary

    sys.path.insert(0, str(ROOT / "bench"))
    main()
    print_summary()
