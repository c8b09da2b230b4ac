"""Seeded random streams and the vectorised sampling/grouping helpers every stage uses.

Each simulation stage draws from its own named stream (``Streams.rng("missing", "episodes")``),
derived from the seed and the name only, so one stage's draws never shift another's and the same
seed always gives the same output.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    """Independent, reproducible random generators keyed by a name."""

    seed: int

    def rng(self, *key: str | int) -> np.random.Generator:
        words = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key]
        return np.random.default_rng(np.random.SeedSequence([int(self.seed), *words]))


def pick(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices drawn with the given (unnormalised) weights."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    bounds, u = cum / cum[-1], rng.random(n)
    if len(bounds) > 256:
        return np.searchsorted(bounds, u, side="right").astype(np.int64)
    # the bounds at or below each draw, counted one bound at a time into bytes: the same index as a
    # binary search, several times faster for the few categories weights have here
    index = np.zeros(n, dtype=np.uint8)
    for bound in bounds[:-1]:  # loop over categories, not rows
        index += u >= bound
    return index.astype(np.int64)


def pick_per_row(rng: np.random.Generator, weight_table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One category per element; element i uses the weights in ``weight_table[row[i]]``."""
    cum = np.cumsum(np.asarray(weight_table, dtype=np.float64), axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(row))
    out = np.zeros(len(row), dtype=np.uint8 if cum.shape[1] <= 256 else np.int64)  # counted as in pick
    for j in range(cum.shape[1] - 1):  # loop over categories, not rows
        out += u >= cum[:, j][row]
    return out.astype(np.int64)


def group_index(counts: np.ndarray) -> np.ndarray:
    """``[0,0,1,2,2,2]`` for counts ``[2,1,3]``: the group of each expanded element."""
    return np.repeat(np.arange(len(counts)), counts)


def position_in_group(counts: np.ndarray) -> np.ndarray:
    """``[0,1,0,0,1,2]`` for counts ``[2,1,3]``."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(counts.sum()) - np.repeat(starts, counts)


def group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (elements ordered group by group)."""
    total = np.cumsum(values)
    counts = np.asarray(counts, dtype=np.int64)
    before = np.concatenate([[0], total])[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)


def sizes_of_sorted_groups(keys: np.ndarray) -> np.ndarray:
    """Run lengths of equal consecutive keys."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    edges = np.flatnonzero(np.diff(keys)) + 1
    return np.diff(np.concatenate([[0], edges, [len(keys)]]))


NOT_ELIGIBLE = np.iinfo(np.int64).max


def _random_ranks(keys: np.ndarray, rng: np.random.Generator, priority: np.ndarray | None = None) -> tuple:
    """Sort order (by key, then priority, then at random), group sizes, and each element's rank."""
    keys = np.asarray(keys)
    tie = rng.random(len(keys))
    order = np.lexsort((tie, keys) if priority is None else (tie, priority, keys))
    sizes = sizes_of_sorted_groups(keys[order])
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = position_in_group(sizes)
    return order, sizes, rank


def rank_in_group(keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random rank (0, 1, ...) of each element among the elements with the same key."""
    return _random_ranks(keys, rng)[2]


def priority_quota(
    keys: np.ndarray, priority: np.ndarray, share: np.ndarray | float, rng: np.random.Generator
) -> np.ndarray:
    """Per key group (e.g. a month), flag share x (size of the WHOLE group) elements, taking eligible
    elements in priority order (0 first; NOT_ELIGIBLE never), at random within a priority.

    The count is rounded up or down at random in proportion to the fraction, so small groups are
    not biased. ``share`` is one value or per element (the same within a group). Used where a
    published figure needs less sampling noise than independent draws give (small monthly
    denominators)."""
    order, sizes, rank = _random_ranks(keys, rng, priority)
    first = (np.cumsum(sizes) - sizes).astype(np.int64)
    share_sorted = np.broadcast_to(np.asarray(share, dtype=np.float64), np.shape(keys))[order]
    wanted = np.floor(share_sorted[first] * sizes + rng.random(len(sizes)))
    chosen = np.empty(len(rank), dtype=bool)
    chosen[order] = np.repeat(wanted, sizes) > rank[order]
    return chosen & (priority != NOT_ELIGIBLE)


def quota(keys: np.ndarray, share: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """:func:`priority_quota` where every element is eligible alike."""
    return priority_quota(keys, np.zeros(len(keys), dtype=np.int64), share, rng)


def lognormal_days(
    rng: np.random.Generator, median: float, sigma: float, n: int, low: int = 1, high: int = 100_000
) -> np.ndarray:
    """Integer durations with the given median, clipped to [low, high]."""
    return np.clip(np.round(median * np.exp(sigma * rng.standard_normal(n))), low, high).astype(np.int64)


def uniform_days(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int, n: int) -> np.ndarray:
    """Integers uniformly in [low, high] (inclusive), element-wise bounds allowed."""
    low = np.broadcast_to(np.asarray(low, dtype=np.int64), (n,))
    high = np.broadcast_to(np.asarray(high, dtype=np.int64), (n,))
    return low + np.floor(rng.random(n) * (np.maximum(high - low, 0) + 1)).astype(np.int64)


def monthly_values(streams: Streams, name: str, months: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """A value per calendar month drawn from that month's own stream (so it does not depend on which
    months are generated), spread over the elements of ``months``."""
    unique, inverse = np.unique(months, return_inverse=True)
    values = np.array([streams.rng(name, int(m)).normal(mean, sd) for m in unique])  # per month
    return values[inverse] if len(unique) else np.zeros(0)
