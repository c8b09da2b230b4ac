"""Memory-allocator settings for a short batch process that allocates and frees big arrays.

The generator builds national-size numpy arrays and polars frames and drops them soon after. By
default glibc hands every large array its own fresh ``mmap`` and returns freed memory to the kernel
at once, and polars' jemalloc purges freed pages after ten seconds, so the same memory is faulted
in again and again: a fifth to a quarter of the generator's CPU time at scale 10 was the kernel's
(page faults). Keeping freed memory in the process for reuse about halved the kernel's time and
cut the wall time by 10-15%, with the same peak memory (bench/before_after.md, section 10).

Only for commands that end when their batch is done (``csc-warehouse generate``), never for a
long-lived process, and only before polars is first imported (jemalloc reads its settings once).
"""

from __future__ import annotations

import ctypes
import os
import sys

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
JEMALLOC_CONF_ENV = "_RJEM_MALLOC_CONF"  # the prefixed jemalloc that polars links
JEMALLOC_KEEP_FREED = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


def keep_freed_memory() -> bool:
    """Tell glibc and polars' jemalloc to keep freed memory for reuse. True when glibc took it.

    A setting the user already made in the environment wins. polars, when imported, puts its own
    defaults in front of the jemalloc setting; jemalloc reads options left to right, so these
    come last and win. On a platform without glibc only the jemalloc setting applies; nothing
    fails.
    """
    if "polars" not in sys.modules:
        os.environ.setdefault(JEMALLOC_CONF_ENV, JEMALLOC_KEEP_FREED)
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already has (glibc only)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    settings = (
        (M_MMAP_MAX, 0, "MALLOC_MMAP_MAX_"),  # large blocks from the heap, reused after free
        (M_TRIM_THRESHOLD, 2**31 - 1, "MALLOC_TRIM_THRESHOLD_"),  # the heap is not shrunk after free
        (M_ARENA_MAX, 1, "MALLOC_ARENA_MAX"),  # one arena: freed blocks reused whichever thread frees
    )
    return all(bool(mallopt(param, value)) for param, value, env in settings if env not in os.environ)
