"""How a count reads in the messages people read: "1 row", "2 rows", "1,250 failures"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` (with thousands separators) and ``noun``, or ``plural`` (default ``noun`` + "s") when
    ``n`` is not 1."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
