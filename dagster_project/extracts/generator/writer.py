"""Writing an extract folder: one CSV per table (UTF-8, header, RFC 4180 quoting) and manifest.json,
in the council's file style (:class:`councils.FileStyle`).

The default style (the Bradford council's) writes ISO dates, Y/N flags, the contract's lower-case
column names, no byte-order mark, CRLF line ends, and a manifest with every file's row count and
SHA-256 exactly as EXTRACT_CONTRACT.md shows. Other styles write what the contract also allows:
dates with a time or as DD/MM/YYYY, flags as Yes/No, TRUE/FALSE or 1/0 (also inside the outcome
JSON), header names in another case or padded with spaces, a byte-order mark, LF line ends, a
manifest with row counts only or none at all. A style is applied as a table is rendered, so the
row cache and the direct rendering give the same bytes."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import mmap
import os
import queue
import re
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import polars as pl

from dagster_project.contract import FLAG, JSON, PLACEHOLDER_DATE, TABLES
from dagster_project.extracts.generator.councils import BRADFORD_STYLE, DATE_FORMATS, CouncilProfile, FileStyle
from dagster_project.extracts.generator.rowcache import CHANGED, ROW, RenderedRows, render_bytes, write_all
from dagster_project.extracts.generator.timeline import Extract
from dagster_project.extracts.manifest import MANIFEST_FILE

SSD_VERSION = "1.4.5"
CHUNK_ROWS = 500_000  # rows rendered at a time into the row cache (bounds memory at large scales)
SINK_BUFFER = 16 << 20  # bytes of CSV text hashed and written at a time
SINK_BUFFERS = 3  # buffers per sink: one being filled while the others are hashed and written
WRITERS = 2  # tables written at once
DIRECT_BLOCK = 4096  # O_DIRECT writes whole blocks (4096 covers every common block size)
O_DIRECT = getattr(os, "O_DIRECT", 0)  # 0 where the platform has none (written normally)
NEEDS_QUOTES = re.compile(r'[",\r\n]')
BOM = "\ufeff".encode()
FLAG_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns if c.kind == FLAG)
JSON_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns if c.kind == JSON)
JSON_FLAG = re.compile(r'("[A-Z_]+_FLAG":)"([YN])"')  # a flag value inside the outcome JSON


@dataclass(frozen=True)
class WrittenFile:
    rows: int
    sha256: str


def _escaped(value: str) -> str:
    """A CSV field as RFC 4180 writes it: quoted (inner quotes doubled) when it needs quoting."""
    return '"' + value.replace('"', '""') + '"' if NEEDS_QUOTES.search(value) else value


@cache
def _escaped_lookup(categories: tuple[str, ...]) -> pl.Series | None:
    if not any(NEEDS_QUOTES.search(c) for c in categories):
        return None
    escaped = [_escaped(c) for c in categories]
    return pl.Series(escaped, dtype=pl.Enum(escaped))


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Pre-escape every value that needs quoting, so the frame can be written with quoting off.

    Writing pre-escaped text without quoting gives exactly the bytes RFC 4180 "quote when
    necessary" gives, at about half the cost for the long JSON column (the writer then copies
    Enum texts instead of scanning every value)."""
    columns = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if isinstance(dtype, pl.Enum):
            lookup = _escaped_lookup(tuple(dtype.categories.to_list()))
            if lookup is not None:
                column = lookup.gather(column.to_physical()).alias(name)
        elif dtype == pl.String:
            quoted = '"' + column.str.replace_all('"', '""', literal=True) + '"'
            column = pl.select(
                pl.when(column.str.contains(NEEDS_QUOTES.pattern)).then(quoted).otherwise(column).alias(name)
            ).to_series()
        columns.append(column)
    return pl.DataFrame(columns)


def _relabelled(column: pl.Series, text: Callable[[str], str]) -> pl.Series:
    """``column`` with every value ``v`` written as ``text(v)``: an Enum's categories are relabelled
    (one call per category, not per row); other columns through their distinct values."""
    if isinstance(column.dtype, pl.Enum):
        old = column.dtype.categories.to_list()
        new = [text(v) for v in old]
        if len(set(new)) == len(new):
            return pl.Series(column.name, new, dtype=pl.Enum(new)).gather(column.to_physical())
    values = column.cast(pl.String)
    distinct = values.drop_nulls().unique().to_list()
    return values.replace(distinct, [text(v) for v in distinct])


def styled(frame: pl.DataFrame, style: FileStyle) -> pl.DataFrame:
    """The values of ``frame`` as the council's system writes them: flags (and the flags inside the
    outcome JSON) spelled its way, the placeholder date where its system writes one instead of
    NULL. Dates are formatted and header names written by :func:`_render`."""
    columns = []
    if style.placeholder_dates:
        columns += [pl.col(c).fill_null(PLACEHOLDER_DATE) for c in style.placeholder_dates if c in frame.columns]
    if style.flags != BRADFORD_STYLE.flags:
        spelled = dict(zip(BRADFORD_STYLE.flags, style.flags, strict=True))
        columns += [_relabelled(frame[c], lambda v: spelled.get(v, v)) for c in frame.columns if c in FLAG_COLUMNS]
        in_json = partial(JSON_FLAG.sub, lambda m: f'{m[1]}"{spelled[m[2]]}"')
        columns += [_relabelled(frame[c], in_json) for c in frame.columns if c in JSON_COLUMNS]
    return frame.with_columns(columns) if columns else frame


def _render(
    frame: pl.DataFrame, target: io.BytesIO | FileSink, header: bool, style: FileStyle = BRADFORD_STYLE
) -> None:
    frame = csv_ready(styled(frame, style))
    if header and style.header_name("x") != "x":
        frame = frame.rename({c: style.header_name(c) for c in frame.columns})
    if header and style.bom:
        target.write(BOM)
    date_format = DATE_FORMATS[style.date]
    frame.with_columns(
        _date_texts(frame[name], date_format) for name, dtype in frame.schema.items() if dtype == pl.Date
    ).write_csv(
        target,
        include_header=header,
        line_terminator=style.line_end,
        float_precision=1,
        batch_size=65536,
        quote_style="never",
        date_format=date_format,  # for a date column left as dates (see _date_texts)
    )


def _date_texts(column: pl.Series, date_format: str) -> pl.Series:
    """A date column as an Enum of its formatted texts: each day of the column's span is formatted
    once, and the writer then copies texts instead of formatting every value (the same bytes at
    about half the cost). A column whose span is wider than it is long stays as dates."""
    days = column.to_physical()
    first, last = days.min(), days.max()
    if first is None or last - first >= column.len():
        return column
    texts = pl.int_range(first, last + 1, dtype=pl.Int32, eager=True).cast(pl.Date).dt.to_string(date_format)
    return pl.Series(column.name, texts, dtype=pl.Enum(texts)).gather(days - first)


def render_csv(frame: pl.DataFrame, header: bool, style: FileStyle = BRADFORD_STYLE) -> bytes:
    """The CSV text of ``frame`` exactly as it is written to a file."""
    return render_bytes(frame, header, partial(_render, style=style))


def write_csv(path: Path, frame: pl.DataFrame, sink: FileSink, style: FileStyle = BRADFORD_STYLE) -> WrittenFile:
    """Write ``frame`` to ``path`` through ``sink`` (hashed and written while polars renders)."""
    sink.open(path)
    try:
        _render(frame, sink, header=True, style=style)
    finally:
        sha = sink.close()
    return WrittenFile(frame.height, sha)


class FileSink:
    """A write-only file object polars renders CSV text into: the text is copied into one of
    SINK_BUFFERS reused, page-aligned buffers; a full buffer is hashed in one worker thread and
    written to disk in another (both release the GIL), at the same time, while polars fills the
    next buffer. Buffers are hashed in order and written in order (one thread each).

    Files are written with O_DIRECT where the platform and file system allow it: the text goes
    straight to the disk instead of through the page cache, which costs the kernel about as much
    CPU per byte as rendering it (every page-cache page is a fresh page of memory). Elsewhere the
    same buffers are written normally. Use as a context manager (it owns its two threads)."""

    def __init__(self, size: int = SINK_BUFFER, buffers: int = SINK_BUFFERS) -> None:
        self._size = size
        self._buffers = [mmap.mmap(-1, size) for _ in range(buffers)]
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="sink-hash")
        self._disk = ThreadPoolExecutor(1, thread_name_prefix="sink-disk")
        self._fd = -1

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._hasher.shutdown()
        self._disk.shutdown()

    def open(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            self._fd = os.open(path, flags | O_DIRECT, 0o666) if O_DIRECT else -1
        except OSError:  # the file system refuses O_DIRECT
            self._fd = -1
        if self._fd < 0:
            self._fd = os.open(path, flags, 0o666)
        self._digest = hashlib.sha256()
        self._current, self._filled, self._written = 0, 0, 0
        self._pending: deque[list[Future[None]]] = deque()  # per buffer handed over, oldest first

    def write(self, data: bytes) -> int:
        with memoryview(data) as view:
            done = 0
            while done < len(view):  # loop over buffer fills (a few per call), not rows
                take = min(len(view) - done, self._size - self._filled)
                self._buffers[self._current][self._filled : self._filled + take] = view[done : done + take]
                self._filled += take
                done += take
                if self._filled == self._size:
                    self._hand_over()
        return len(data)

    def flush(self) -> None:
        """Nothing to do: buffers are written when full and on close."""

    def close(self) -> str:
        """Write what is left, close the file and return its SHA-256."""
        try:
            if self._filled:
                self._hand_over()
        finally:
            try:
                self._finish(len(self._pending))  # every buffer handed over, before the file closes
                os.ftruncate(self._fd, self._written)  # drop the padding of the last O_DIRECT block
            finally:
                os.close(self._fd)
                self._fd = -1
        return self._digest.hexdigest()

    def _hand_over(self) -> None:
        buffer, size = self._buffers[self._current], self._filled
        hashed = self._hasher.submit(self._hash, buffer, size)
        self._pending.append([hashed, self._disk.submit(self._output, buffer, size)])
        self._current, self._filled = (self._current + 1) % len(self._buffers), 0
        if len(self._pending) == len(self._buffers):  # the next buffer to fill is still in use
            self._finish(1)

    def _finish(self, count: int) -> None:
        """Wait until the oldest ``count`` buffers handed over are hashed and written."""
        futures = [future for _ in range(count) for future in self._pending.popleft()]
        wait(futures)
        for future in futures:
            future.result()

    def _hash(self, buffer: mmap.mmap, size: int) -> None:
        with memoryview(buffer) as view:
            self._digest.update(view[:size])

    def _output(self, buffer: mmap.mmap, size: int) -> None:
        with memoryview(buffer) as view:
            padded = -(-size // DIRECT_BLOCK) * DIRECT_BLOCK  # O_DIRECT writes whole blocks
            try:
                write_all(self._fd, [view[:padded]])
            except OSError as error:
                if error.errno != errno.EINVAL or not O_DIRECT:
                    raise
                # O_DIRECT accepted at open but not for this write: continue through the page cache
                fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~O_DIRECT)
                os.lseek(self._fd, self._written, os.SEEK_SET)
                write_all(self._fd, [view[:padded]])
        self._written += size


def cache_table(frame: pl.DataFrame, path: Path, style: FileStyle = BRADFORD_STYLE) -> RenderedRows:
    """Render a table's whole history once (see :mod:`rowcache`), in the council's file style."""
    return RenderedRows.render(frame, path, partial(render_csv, style=style), CHUNK_ROWS)


def _write_from_cache(path: Path, frame: pl.DataFrame, cache: RenderedRows, style: FileStyle) -> WrittenFile:
    changed = frame[CHANGED].to_numpy()
    fresh = render_csv(frame.filter(pl.col(CHANGED)).drop(ROW, CHANGED), header=False, style=style)
    rows, sha = cache.write(path, frame[ROW].to_numpy(), changed, fresh)
    return WrittenFile(rows, sha)


def manifest(extract: Extract, files: dict[str, WrittenFile], council: CouncilProfile) -> dict | None:
    """The manifest of one extract as the council writes it: every file's rows and SHA-256 (style
    ``full``), its rows only (``rows``), or None when the council sends no manifest (``none``)."""
    mode = council.style.manifest
    if mode == "none":
        return None
    return {
        "la_code": council.la_code,
        "period_end": extract.period_end.isoformat(),
        "extract_date": extract.extract_date.isoformat(),
        "ssd_version": SSD_VERSION,
        "source_system": council.source_system,
        "files": {
            name: {"rows": f.rows, "sha256": f.sha256} if mode == "full" else {"rows": f.rows}
            for name, f in files.items()
        },
    }


def write_manifest(folder: Path, content: dict | None) -> None:
    """Write manifest.json (None: the folder has none; one left by an earlier run is removed)."""
    path = folder / MANIFEST_FILE
    if content is None:
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def write_tables(
    folder: Path,
    frames: dict[str, pl.DataFrame],
    caches: dict[str, RenderedRows] | None = None,
    style: FileStyle = BRADFORD_STYLE,
) -> dict[str, WrittenFile]:
    """Write each table to ``folder/<table>.csv`` in the council's file style (from its cache when
    the frame carries cached row numbers). A contract table's file left in the folder by an earlier
    run is removed when the extract does not carry that (optional) table.

    WRITERS tables are written at once, largest first, each writer with its own sink: ssd_contacts
    alone is most of the bytes, so one writer renders it while the other renders the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        if table.name not in frames:
            (folder / table.file_name).unlink(missing_ok=True)
    caches = caches or {}
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=WRITERS) as writers:
        sinks: queue.SimpleQueue[FileSink] = queue.SimpleQueue()
        for _ in range(WRITERS):
            sinks.put(stack.enter_context(FileSink()))

        def write(name: str) -> WrittenFile:
            path, frame = folder / f"{name}.csv", frames[name]
            if name in caches and ROW in frame.columns:
                return _write_from_cache(path, frame, caches[name], style)
            sink = sinks.get()
            try:
                return write_csv(path, frame.drop(ROW, CHANGED, strict=False), sink, style)
            finally:
                sinks.put(sink)

        largest_first = sorted(frames, key=lambda name: frames[name].height, reverse=True)
        futures = {name: writers.submit(write, name) for name in largest_first}
        return {f"{name}.csv": futures[name].result() for name in frames}  # manifest order: the frames'
