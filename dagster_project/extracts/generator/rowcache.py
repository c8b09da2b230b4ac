"""Render a big table's history to CSV once; write each month by copying its unchanged lines.

An extract restates history, so consecutive extracts of ssd_contacts share almost every line. The
whole history is rendered once to a file on disk (memory stays flat at any scale); a month's
file is then assembled from runs of consecutive cached lines, with only the rows whose text
differs this month (an event date still in the future, shown as NULL) rendered afresh. The
output is byte-identical to rendering the month's frame directly.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from dagster_project.extracts.generator.randomness import position_in_group

ROW = "_row"  # history row number carried through a snapshot
IOV_MAX = 1024  # buffers per writev call (the POSIX minimum of the limit)
WINDOW = 64 << 20  # bytes of the cache read at a time
CHANGED = "_changed"  # the row's text differs from the cached rendering this month


@dataclass
class RenderedRows:
    path: Path
    header: bytes
    offsets: np.ndarray  # byte offset of every cached line, plus the end of the file

    @classmethod
    def render(
        cls, frame: pl.DataFrame, path: Path, render: Callable[[pl.DataFrame, bool], bytes], chunk_rows: int
    ) -> RenderedRows:
        """Render every row of ``frame`` (already in output column order) to ``path``."""
        header = render(frame.head(0), True)
        ends, written = [], 0
        with path.open("wb") as handle:
            for start in range(0, frame.height, chunk_rows):
                data = render(frame.slice(start, chunk_rows), False)
                ends.append(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1 + written)
                handle.write(data)
                written += len(data)
        offsets = np.concatenate([[0], *ends]).astype(np.int64) if ends else np.zeros(1, dtype=np.int64)
        return cls(path, header, offsets)

    def write(self, path: Path, rows: np.ndarray, changed: np.ndarray, fresh: bytes) -> tuple[int, str]:
        """Write the month's file: cached lines for ``rows`` (history row numbers, ascending), except
        where ``changed``, whose lines come in order from ``fresh``. Returns (rows, sha256).

        The cache is read through one WINDOW-sized buffer, so memory stays flat at any scale."""
        is_fresh, begin, end = self._pieces(rows, changed, fresh)
        window = np.maximum.accumulate(np.where(is_fresh, -1, begin // WINDOW)) if len(begin) else begin
        bounds = np.flatnonzero(np.diff(window)) + 1
        spans = (
            list(zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(begin)].tolist(), strict=True)) if len(begin) else []
        )
        cached_end = np.where(is_fresh, 0, end - np.maximum(window, 0) * WINDOW)
        buffer = bytearray(int(cached_end.max()) if len(cached_end) else 0)  # at most WINDOW bytes
        digest = hashlib.sha256(self.header)
        with path.open("wb") as handle, self.path.open("rb") as source, ThreadPoolExecutor(1) as hasher:
            handle.write(self.header)
            handle.flush()
            with memoryview(buffer) as buffered, memoryview(fresh) as fresh_view:
                for lo, hi in spans:
                    base = int(window[lo]) * WINDOW  # loop over buffer windows, not rows
                    if window[lo] >= 0:
                        top = int(end[lo:hi][~is_fresh[lo:hi]].max())
                        source.seek(base)
                        source.readinto(buffered[: top - base])
                    parts = [
                        fresh_view[x:y] if f else buffered[x - base : y - base]
                        for f, x, y in zip(
                            is_fresh[lo:hi].tolist(), begin[lo:hi].tolist(), end[lo:hi].tolist(), strict=True
                        )
                    ]
                    hashed = hasher.submit(_hash_all, digest, parts)  # hash while the kernel copies
                    write_all(handle.fileno(), parts)
                    hashed.result()
                    for part in parts:
                        part.release()
        return len(rows), digest.hexdigest()

    def _pieces(self, rows: np.ndarray, changed: np.ndarray, fresh: bytes) -> tuple[np.ndarray, ...]:
        """Byte ranges to copy, in order: (from fresh?, begin, end); cached ranges never cross a
        WINDOW boundary of the cache file."""
        fresh_ends = np.concatenate([[0], np.flatnonzero(np.frombuffer(fresh, dtype=np.uint8) == 10) + 1])
        first, stop = _runs(rows, changed)
        if len(first) == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        is_fresh = changed[first]
        seen = (np.cumsum(changed) - changed)[first]  # fresh lines before each run
        top = len(fresh_ends) - 1
        begin = np.where(is_fresh, fresh_ends[np.minimum(seen, top)], self.offsets[rows[first]])
        end = np.where(is_fresh, fresh_ends[np.minimum(seen + stop - first, top)], self.offsets[rows[stop - 1] + 1])
        count = np.where(is_fresh, 1, (end - 1) // WINDOW - begin // WINDOW + 1)
        run = np.repeat(np.arange(len(first)), count)
        step = position_in_group(count)
        cut = (begin[run] // WINDOW + step) * WINDOW
        piece_begin = np.where(is_fresh[run], begin[run], np.maximum(begin[run], cut))
        piece_end = np.where(is_fresh[run], end[run], np.minimum(end[run], cut + WINDOW))
        return is_fresh[run], piece_begin, piece_end


def _hash_all(digest: hashlib._Hash, parts: list[memoryview]) -> None:
    for part in parts:
        digest.update(part)


def write_all(fd: int, parts: list[memoryview]) -> None:
    """Write every part, many per system call."""
    for start in range(0, len(parts), IOV_MAX):
        group = parts[start : start + IOV_MAX]
        written = os.writev(fd, group)
        for part in group:  # a short write (rare) continues part by part
            if written >= len(part):
                written -= len(part)
                continue
            rest = part[written:]
            while len(rest):
                rest = rest[os.write(fd, rest) :]
            written = 0


def _runs(rows: np.ndarray, changed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-end positions of the runs of rows that are consecutive cached lines or
    consecutive fresh ones."""
    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cut = np.ones(n, dtype=bool)
    cut[1:] = (changed[1:] != changed[:-1]) | (~changed[1:] & (rows[1:] != rows[:-1] + 1))
    first = np.flatnonzero(cut)
    return first, np.append(first[1:], n)


def render_bytes(frame: pl.DataFrame, header: bool, writer: Callable[[pl.DataFrame, io.BytesIO, bool], None]) -> bytes:
    buffer = io.BytesIO()
    writer(frame, buffer, header)
    return buffer.getvalue()
