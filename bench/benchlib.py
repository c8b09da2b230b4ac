"""What the bench scripts share: paths, months, the machine, the head of a report. Importing it
puts this checkout on ``sys.path``, so the scripts import ``dagster_project`` and the tests' helpers
from the checkout they are in."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "csc-warehouse")
GB = 1e9
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def rel(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (for reports)."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def shift_month(month: str, k: int) -> str:
    """The month 'YYYY-MM' ``k`` months after ``month`` (before, for a negative ``k``)."""
    i = int(month[:4]) * 12 + int(month[5:7]) - 1 + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def months_from(first: str, n: int) -> list[str]:
    """``n`` consecutive months 'YYYY-MM' from ``first``."""
    return [shift_month(first, i) for i in range(n)]


def memory_total_bytes() -> int:
    """The machine's memory (MemTotal of /proc/meminfo; 0 where there is none)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def environment() -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False).stdout.strip()
        except OSError:
            return ""

    import duckdb
    import polars

    mem = memory_total_bytes()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host_cpus": os.cpu_count(),
        "memory_gb": round(mem / GB, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "dbt": out([str(VENV_BIN / "dbt"), "--version"]).splitlines()[1:2],
        "git_commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "machine_cpu": out(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]),
        # the bench's own results files (rewritten after every scale) do not make the tree dirty
        "git_dirty": bool(out(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                               ":!bench/results.json", ":!bench/results.md"])),
    }


def report_header(title: str, doc: dict, note: str = "") -> list[str]:
    """A report's title, the machine and commit measured, the load, and the command to reproduce it."""
    env = doc["environment"]
    return [
        f"# {title}",
        "",
        f"Measured {env['date']} on {env['host_cpus']} CPUs, {env['memory_gb']} GB "
        f"({env['platform']}; Python {env['python']}, DuckDB {env['duckdb']}, polars {env['polars']}), "
        f"commit {env['git_commit']}{' + uncommitted changes' if env['git_dirty'] else ''}.",
        f"Load average (1 min) during the run: {doc['load_min']:.1f} to {doc['load_max']:.1f} "
        "(the machine is shared; times are wall-clock unless marked CPU)." + note,
        "",
        "Reproduce with:",
        "",
        "```",
        doc["command"],
        "```",
        "",
    ]
