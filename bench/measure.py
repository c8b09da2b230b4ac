"""Measuring a command from outside: wall time, CPU time and the peak resident memory of its whole
process tree, with the load and the host's CPU steal around it, and a guard that stops a command
before it risks the shared machine's memory. Used by run_bench, region_bench and spark_bench."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchlib import GB, REPO, rel  # beside this script

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def tree_rss(root: int) -> int:
    """Sum of the resident set sizes (bytes) of ``root`` and all its descendants."""
    kids = _children_map()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(kids.get(pid, ()))
    return total


def load_average() -> float:
    return os.getloadavg()[0]


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the whole machine since boot (/proc/stat). Steal is time the
    hypervisor gave this virtual machine's CPUs to others: a host under load slows every figure."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


@dataclass
class Measured:
    command: list[str]
    wall_s: float
    cpu_s: float  # user + system of the process and the descendants it waited for
    peak_rss_bytes: int
    returncode: int
    started: float  # epoch seconds
    ended: float
    load_before: float
    load_after: float
    log: str
    aborted: str | None = None  # why the guard stopped it (memory), else None
    steal: float | None = None  # share of the machine's CPU time the host took meanwhile (0-1)
    samples: list[tuple[float, int]] = field(default_factory=list, repr=False)  # (epoch s, tree RSS)


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 1 << 62


# The machine is shared: a run whose tree grows beyond this, or that leaves less than this much
# memory available to everyone else, is stopped (and reported) rather than risk the OOM killer.
GUARD = {"max_tree_rss": 20 * GB, "min_available": 2.5 * GB}


def run_measured(cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
                 interval: float = 0.05) -> Measured:
    """Run ``cmd`` to completion in its own session, sampling the RSS of its process tree."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    peak = 0
    samples: list[tuple[float, int]] = []
    aborted: list[str] = []
    done = threading.Event()
    with log_path.open("w") as log:
        started = time.time()
        ticks = cpu_ticks()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)

        def stop(reason: str) -> None:
            aborted.append(reason)
            print(f"[bench] stopping {cmd[0]} {cmd[1] if len(cmd) > 1 else ''}: {reason}", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            if not done.wait(15):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

        def sample() -> None:
            nonlocal peak
            last = 0.0
            while not done.is_set():
                rss = tree_rss(proc.pid)
                peak = max(peak, rss)
                now = time.time()
                if now - last >= 0.25:
                    samples.append((now, rss))
                    last = now
                if not aborted and rss > GUARD["max_tree_rss"]:
                    stop(f"process tree RSS {rss / GB:.1f} GB > guard {GUARD['max_tree_rss'] / GB:.1f} GB")
                elif not aborted and mem_available() < GUARD["min_available"]:
                    stop(f"machine memory available < {GUARD['min_available'] / GB:.1f} GB "
                         f"(tree RSS {rss / GB:.1f} GB)")
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        wall = time.perf_counter() - t0
        ended = time.time()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(cmd, wall, usage.ru_utime + usage.ru_stime, peak, proc.returncode, started, ended,
                    load_before, load_average(), rel(log_path), aborted[0] if aborted else None,
                    steal_share(ticks, cpu_ticks()), samples)


def measured_dict(m: Measured) -> dict:
    out = asdict(m)
    del out["samples"]
    return out
