"""What the bench scripts share: paths, months, the machine. Importing it puts this checkout on
``sys.path``, so the scripts import ``dagster_project`` and the tests' helpers from the checkout
they are in."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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
