"""The byte-level shape of an extract file, checked in the pass that checksums it.

polars reads more than RFC 4180 allows, silently: it keeps a bare carriage return (CR) inside a
field (and panics on one in the header), pads a record with fewer fields than the header with
NULLs (a file cut off in its last line loads), and keeps NUL bytes and byte-order marks inside
fields. None of that is a value a council sent on purpose. This pass reads the file once, in
blocks of ``CHUNK`` bytes, with numpy (no loop over rows or bytes in Python), hashes it, and
finds the first place where the file breaks one of these rules:

* it is UTF-8, with a byte-order mark at most at its very start, and holds no NUL byte;
* records end with LF or CRLF, the same throughout the file (a line break inside a quoted field
  may be either); a CR is allowed only before an LF or inside a quoted field;
* double quotes follow RFC 4180: a quoted field starts where the field starts, a quote inside it
  is doubled, its closing quote is followed by a comma, a line break or the end of the file,
  and it closes;
* the first line is the header, and every record has as many fields as the header; blank lines
  are skipped (a record cut short at the end of the file is a truncated transfer).

A break is a :class:`StructureError` with the line it is on and a reason that quotes nothing of
the file. It is kept in the result (``FileStructure.error``): the reader raises it when the file
is read (or at once when it lies in the header), so that a file's checksum can be compared with
the manifest first, as before any data row is read.

Most files are plainly well formed: every record one line, no CR but in CRLF endings, UTF-8
with no NUL or stray BOM. For them a fast path (``_fast_scan``) does the same work with less
CPU: each block's lines are one Arrow string array that polars matches against one regular
expression per file (the header's field count, RFC 4180 quoting), while another thread hashes
the block. It answers only when it can vouch for the whole file, with exactly what the exact pass
would find; any doubt (a line it does not match, a line break inside a quoted field, anything
else) and the exact pass below reads the file and names the first break.

The pass also maps records to lines: record *r* (1-based after the header, blank lines counted,
as polars numbers its rows before blank lines are dropped) starts on line ``r + offset(r)``, where
the offset changes only after a record that spans several lines (a line break in a quoted field)
and is stored as a short list of change points (``FileStructure.line_expr``).
"""

from __future__ import annotations

import codecs
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dagster_project.wording import counted

CHUNK = 8 << 20
BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LF, _CR, _QUOTE, _COMMA = 10, 13, 34, 44
_NONE = -1  # "no byte": before the start or after the end of the file


class StructureError(Exception):
    """Where and why a file breaks the CSV rules; ``line`` is None for the empty file."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(reason if line is None else f"line {line} {reason}")


@dataclass(frozen=True)
class FileStructure:
    """What the pass found: checksum, header shape, the record-to-line map, the first error."""

    sha256: str
    header_fields: int
    header_bytes: int  # length of the header record with its line break (BOM excluded)
    header_lines: int
    records: int  # records after the header, blank lines included
    data_records: int  # records after the header that are not blank
    line_ending: str  # "LF", "CRLF", or "" when no record ends with a line break
    change_records: np.ndarray = field(repr=False)  # record numbers where the line offset changes
    change_offsets: np.ndarray = field(repr=False)
    error: StructureError | None = None
    has_bom: bool = False

    @property
    def error_in_header(self) -> bool:
        e = self.error
        return e is not None and (e.line is None or self.header_lines == 0 or e.line <= self.header_lines)

    def line_expr(self, record: pl.Expr) -> pl.Expr:
        """The line each record (1-based record number after the header) starts on."""
        if len(self.change_records) == 0:
            return record + (self.header_lines or 1)
        starts = pl.lit(pl.Series(self.change_records, dtype=pl.Int64))
        offsets = pl.lit(pl.Series(self.change_offsets, dtype=pl.Int64))
        return record + offsets.gather(starts.search_sorted(record, side="right") - 1)


def _line_error(problems: list[tuple[int, str]]) -> StructureError | None:
    if not problems:
        return None
    line, reason = min(problems, key=lambda p: p[0])
    return StructureError(line, reason)


class _Scanner:
    """State carried from one block to the next."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0  # absolute offset of the next block
        self.lines_before = 0  # LF bytes before the next block
        self.line_start = 0  # absolute offset where the line going on into the next block began
        self.in_quotes = 0  # 1 when the next block starts inside a quoted field
        self.prev_byte = _NONE
        self.tail = b""  # last two bytes, to find a BOM split across blocks
        self.has_bom = False
        # the record being read
        self.rec_start = 0
        self.rec_start_line = 1
        self.rec_commas = 0
        # records completed (the header is record 0)
        self.records = 0
        self.data_records = 0
        self.header_fields = 0
        self.header_bytes = 0
        self.header_lines = 0
        self.ending: bool | None = None  # True: CRLF, False: LF
        self.change_records: list[np.ndarray] = []
        self.change_offsets: list[np.ndarray] = []
        self.last_offset: int | None = None
        self.error: StructureError | None = None

    # ----------------------------------------------------------------------------------------

    def feed(self, block: bytes, next_byte: int) -> None:
        self.sha.update(block)
        if self.error is not None:  # only the checksum is still wanted
            return
        base = self.offset
        self.offset += len(block)
        arr = np.frombuffer(block, dtype=np.uint8)
        if base == 0:
            if block.startswith(_UTF16_BOMS):
                self.error = StructureError(1, "starts with a UTF-16 byte-order mark: the file is UTF-16, "
                                               "export it as utf-8")
                return
            if block.startswith(BOM):  # the BOM is not part of the header
                self.has_bom = True
                arr, base = arr[3:], 3
                self.rec_start = self.line_start = 3
        lf = np.flatnonzero(arr == _LF)
        problems = self._encoding(block, base, arr, lf)
        quotes = np.flatnonzero(arr == _QUOTE)

        def inside(pos: np.ndarray) -> np.ndarray:
            """Is each position inside a quoted field (an odd number of quotes before it)?"""
            return ((np.searchsorted(quotes, pos) + self.in_quotes) & 1).astype(bool)

        def line_of(pos: np.ndarray) -> np.ndarray:
            return self.lines_before + np.searchsorted(lf, pos) + 1

        def prev_bytes(pos: np.ndarray) -> np.ndarray:
            """The byte before each position (int16; _NONE before the file's start)."""
            out = arr[pos - 1].astype(np.int16)  # pos 0 reads the block's last byte: replaced below
            if len(pos) and pos[0] == 0:
                out[0] = self.prev_byte
            return out

        def next_bytes(pos: np.ndarray) -> np.ndarray:
            """The byte after each position (int16; _NONE after the file's end)."""
            last = len(pos) and pos[-1] == len(arr) - 1
            index = pos + 1
            if last:
                index[-1] = 0  # read below, then replaced
            out = arr[index].astype(np.int16)
            if last:
                out[-1] = next_byte
            return out

        # quotes: the k-th quote of the file opens a quoted field when k is even, else closes it (or
        # is the first of a doubled quote); an opening quote starts a field, a closing one ends it
        if len(quotes):
            closes = ((np.arange(len(quotes)) + self.in_quotes) & 1).astype(bool)
            before, after = prev_bytes(quotes), next_bytes(quotes)
            bad_open = quotes[~closes & (before != _COMMA) & (before != _LF) & (before != _QUOTE) & (before != _NONE)]
            bad_close = quotes[closes & (after != _COMMA) & (after != _LF) & (after != _CR) & (after != _QUOTE)
                               & (after != _NONE)]
            if len(bad_open):
                problems.append((int(line_of(bad_open[:1])[0]),
                                 "has a double quote inside a field that is not quoted (RFC 4180: quote the "
                                 "field and double the quote)"))
            if len(bad_close):
                problems.append((int(line_of(bad_close[:1])[0]),
                                 "has text after the closing double quote of a field (RFC 4180: a quote "
                                 "inside a quoted field is doubled)"))
        # carriage returns outside quoted fields end a line, with an LF
        cr = np.flatnonzero(arr == _CR)
        cr = cr[next_bytes(cr) != _LF]
        if len(cr):
            bare = cr[~inside(cr)]
            if len(bare):
                problems.append((int(line_of(bare[:1])[0]),
                                 "has a carriage return (CR) without a line feed inside a record: a stray "
                                 "CR, or old Mac line endings"))
        # records: the line feeds outside quoted fields
        outside = ~inside(lf)
        ends = lf[outside]
        end_lines = self.lines_before + np.flatnonzero(outside) + 1
        problems += self._records(arr, base, ends, end_lines, inside, prev_bytes)
        self.error = _line_error(problems)
        self.in_quotes = (self.in_quotes + len(quotes)) & 1
        self.lines_before += len(lf)
        if len(lf):
            self.line_start = base + int(lf[-1]) + 1
        if len(arr):
            self.prev_byte = int(arr[-1])

    def _encoding(self, block: bytes, base: int, arr: np.ndarray, lf: np.ndarray) -> list[tuple[int, str]]:
        """Invalid UTF-8, NUL bytes, byte-order marks after the start."""
        problems = []
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(block)
        except UnicodeDecodeError as bad:
            at = self.offset - len(block) - pending + bad.start  # absolute offset of the bad byte
            before = int(np.searchsorted(lf, max(at - base, 0)))
            line = self.lines_before + before + 1
            line_start = base + int(lf[before - 1]) + 1 if before else self.line_start  # its line began here
            problems.append((line, f"is not valid UTF-8 ({bad.reason} at byte {at - line_start + 1} of the line, "
                                   f"byte {at} of the file): export the file as utf-8"))
        start = self.offset - len(block)
        nul = block.find(b"\0")
        if nul != -1:
            problems.append((self.lines_before + int(np.searchsorted(lf, max(start + nul - base, 0))) + 1,
                             "holds a NUL byte: a binary or UTF-16 file, or a damaged transfer"))
        # a BOM anywhere but at the start: in this block, or split across the previous one and this
        seam = (self.tail + block[:2]).find(BOM)
        at = start - len(self.tail) + seam if seam != -1 else -1
        if at <= 0:
            raw = np.frombuffer(block, np.uint8)
            firsts = np.flatnonzero(raw[:-2] == BOM[0])
            firsts = firsts[(raw[firsts + 1] == BOM[1]) & (raw[firsts + 2] == BOM[2]) & (start + firsts > 0)]
            at = start + int(firsts[0]) if len(firsts) else -1
        if at > 0:
            line = self.lines_before + int(np.searchsorted(lf, max(at - base, 0))) + 1
            problems.append((line, "holds a byte-order mark (BOM) after the start of the file: files "
                                   "joined together?"))
        self.tail = (self.tail + block)[-2:] if len(block) < 2 else block[-2:]
        return problems

    def _records(self, arr, base, ends, end_lines, inside, prev_bytes) -> list[tuple[int, str]]:
        """Field counts, blank lines, line endings and the record-to-line map of the records that
        end in this block."""
        problems: list[tuple[int, str]] = []
        commas = np.flatnonzero(arr == _COMMA)
        commas = commas[~inside(commas)]
        counts = np.bincount(np.searchsorted(ends, commas), minlength=len(ends) + 1)
        counts[0] += self.rec_commas
        self.rec_commas = int(counts[-1])
        if not len(ends):
            return problems
        crlf = prev_bytes(ends) == _CR
        starts = np.concatenate(([self.rec_start], ends[:-1] + 1 + base))
        start_lines = np.concatenate(([self.rec_start_line], end_lines[:-1] + 1))
        lengths = ends + base - starts - crlf
        fields = counts[:-1] + 1
        numbers = self.records + np.arange(len(ends))  # 0 is the header
        if self.records == 0:
            if lengths[0] == 0:
                problems.append((1, "is blank: the first line must be the header"))
            self.header_fields = int(fields[0])
            self.header_bytes = int(ends[0] + base + 1 - (3 if self.has_bom else 0))
            self.header_lines = int(end_lines[0])
            self.ending = bool(crlf[0])
        wrong_end = np.flatnonzero(crlf != self.ending)
        if len(wrong_end):
            j = wrong_end[0]
            problems.append((int(end_lines[j]),
                             f"ends with {'CRLF' if crlf[j] else 'LF'} but the header line with "
                             f"{'CRLF' if self.ending else 'LF'}: mixed line endings (edited or joined by hand?)"))
        data = numbers >= 1
        short = np.flatnonzero(data & (lengths > 0) & (fields != self.header_fields))
        if len(short):
            j = short[0]
            problems.append((int(start_lines[j]),
                             f"has {counted(fields[j], 'field')} but the header has {self.header_fields}"))
        self._map_lines(numbers[data], start_lines[data])
        self.data_records += int(np.count_nonzero(data & (lengths > 0)))
        self.records += len(ends)
        self.rec_start = int(ends[-1]) + base + 1
        self.rec_start_line = int(end_lines[-1]) + 1
        return problems

    def _map_lines(self, numbers: np.ndarray, start_lines: np.ndarray) -> None:
        if not len(numbers):
            return
        offsets = start_lines - numbers
        previous = np.concatenate(([self.last_offset if self.last_offset is not None else -1], offsets[:-1]))
        changed = offsets != previous
        self.change_records.append(numbers[changed])
        self.change_offsets.append(offsets[changed])
        self.last_offset = int(offsets[-1])

    def finish(self) -> FileStructure:
        if self.error is None:
            self.error = self._end_of_file()
        return FileStructure(
            sha256=self.sha.hexdigest(),
            header_fields=self.header_fields,
            header_bytes=self.header_bytes,
            header_lines=self.header_lines,
            records=self.records - 1 if self.records else 0,
            data_records=self.data_records,
            line_ending="" if self.ending is None else ("CRLF" if self.ending else "LF"),
            change_records=np.concatenate(self.change_records) if self.change_records else np.empty(0, np.int64),
            change_offsets=np.concatenate(self.change_offsets) if self.change_offsets else np.empty(0, np.int64),
            error=self.error,
            has_bom=self.has_bom,
        )

    def _end_of_file(self) -> StructureError | None:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError as bad:
            return StructureError(self.lines_before + 1,
                                  f"is not valid UTF-8 ({bad.reason} at the end of the file): export the file as utf-8")
        if self.in_quotes:
            return StructureError(self.rec_start_line,
                                  "starts a record with a quoted field that never closes: an unbalanced double "
                                  "quote, or the file is truncated")
        fields = self.rec_commas + 1
        if self.offset > self.rec_start:  # a last record without a line break after it
            if self.records == 0:
                self.header_fields = fields
                self.header_bytes = self.offset - self.rec_start
                self.header_lines = self.rec_start_line
            else:
                if fields < self.header_fields:
                    return StructureError(self.rec_start_line,
                                          f"(the last) has {counted(fields, 'field')} but the header has "
                                          f"{self.header_fields}, "
                                          "and no line break after it: the file is truncated")
                if fields > self.header_fields:
                    return StructureError(self.rec_start_line,
                                          f"has {counted(fields, 'field')} but the header has {self.header_fields}")
                self._map_lines(np.array([self.records]), np.array([self.rec_start_line]))
                self.data_records += 1
            self.records += 1
        if self.records == 0:
            return StructureError(1, "is missing: the file is empty, no header row")
        return None


# --------------------------------------------------------------------------------------------
# The fast path: a file of one-line records, checked line by line with one regular expression


# A field of a one-line record: unquoted (no quote, comma or line break), or quoted with every
# quote inside doubled and no line break (RFC 4180; a CR or LF inside a quoted field, or anything
# else, sends the file to the exact pass).
_FIELD = r'(?:[^",\r\n]*|"[^"\r\n]*(?:""[^"\r\n]*)*")'


_PARALLEL_LINES = 4096  # a block of at least this many lines is matched in two halves at once


class _NotSimple(Exception):
    """The file is not one the fast path can vouch for: the exact pass decides."""


def _record_pattern(fields: int, ending: bytes, *, terminated: bool = True) -> str:
    """A data line of ``fields`` fields (or a blank line) ending with ``ending``; a last line
    without a line break (``terminated=False``) must have every field."""
    record = _FIELD + (f"(?:,{_FIELD}){{{fields - 1}}}" if fields > 1 else "")
    if not terminated:
        return f"^{record}$"
    end = r"\r\n" if ending == b"\r\n" else r"\n"
    return f"^(?:{record})?{end}$"


class _FastScanner:
    """The same outputs as :class:`_Scanner` for a file whose every record is one line that the
    pattern of its header's field count matches (and that is UTF-8 without NUL bytes or a BOM
    after its start): then the exact pass would find no error and records are lines. Anything
    else raises :class:`_NotSimple`. Each block's complete lines are one Arrow string array
    (no copy) that polars matches in Rust; the checksum is computed beside it in another thread
    (hashlib releases the GIL)."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0
        self.pending = b""  # the unfinished line at the end of the last block
        self.has_bom = False
        self.header: bytes | None = None
        self.ending = b""
        self.pattern = ""
        self.records = 0
        self.blank = 0
        self.tail = b""

    def feed(self, block: bytes) -> None:
        start = self.offset
        self.offset += len(block)
        if start == 0:
            if block.startswith(_UTF16_BOMS):
                raise _NotSimple
            if block.startswith(BOM):
                self.has_bom = True
                block = block[3:]
                start = 3
        if not block:
            return
        if not (block.isascii() and not self.decoder.getstate()[0]):
            try:
                self.decoder.decode(block)
            except UnicodeDecodeError:
                raise _NotSimple from None
            if BOM in self.tail + block[:2] or block.find(BOM) != -1:
                raise _NotSimple
        self.tail = (self.tail + block)[-2:] if len(block) < 2 else block[-2:]
        if block.find(b"\0") != -1:
            raise _NotSimple
        arr = np.frombuffer(block, dtype=np.uint8)
        lf = np.flatnonzero(arr == _LF)
        if not len(lf):
            self.pending += block
            return
        first, last = int(lf[0]), int(lf[-1])
        self._line(self.pending + block[: first + 1])
        self.pending = block[last + 1 :]
        if len(lf) > 1:
            offsets = (lf - first).astype(np.int64)
            offsets[0] = 0
            lines = pa.LargeStringArray.from_buffers(
                len(lf) - 1, pa.py_buffer(offsets), pa.py_buffer(memoryview(block)[first + 1 : last + 1])
            )
            self._lines(pl.Series(lines))

    def _line(self, line: bytes) -> None:
        """The first line of a block, completed with the end of the previous block."""
        if self.header is None:
            self._header(line)
        else:
            self._lines(pl.Series([line.decode("utf-8")], dtype=pl.String))

    def _header(self, line: bytes) -> None:
        self.ending = b"\r\n" if line.endswith(b"\r\n") else b"\n"
        text = line[: -len(self.ending)]
        if not text or b'"' in text or b"\r" in text:
            raise _NotSimple
        self.header = line
        self.pattern = _record_pattern(text.count(b",") + 1, self.ending)

    def _lines(self, lines: pl.Series) -> None:
        """Complete lines after the header: all must match; blank ones are counted."""
        # in halves, which polars matches on two threads (each a query of its own)
        half = len(lines) // 2 if len(lines) >= _PARALLEL_LINES else len(lines)
        parts = [lines.slice(0, half), lines.slice(half)] if half < len(lines) else [lines]
        checked = pl.collect_all([
            pl.LazyFrame({"line": part}).select(
                ok=pl.col("line").str.contains(self.pattern).all(),
                blank=(pl.col("line").str.len_bytes() == len(self.ending)).sum(),
            )
            for part in parts
        ])
        for frame in checked:
            ok, blank = frame.row(0)
            if not ok:
                raise _NotSimple
            self.blank += int(blank)
        self.records += len(lines)

    def finish(self, sha256: str) -> FileStructure:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _NotSimple from None
        if self.header is None:
            raise _NotSimple
        fields = self.header.count(b",") + 1
        if self.pending:  # the last record, without a line break after it
            text = self.pending.decode("utf-8")
            if not pl.Series([text]).str.contains(_record_pattern(fields, self.ending, terminated=False)).all():
                raise _NotSimple
            self.records += 1
        records = self.records
        one = np.ones(1 if records else 0, dtype=np.int64)
        return FileStructure(
            sha256=sha256,
            header_fields=fields,
            header_bytes=len(self.header),
            header_lines=1,
            records=records,
            data_records=records - self.blank,
            line_ending="CRLF" if self.ending == b"\r\n" else "LF",
            change_records=one,  # every record is one line: record r is on line r + 1
            change_offsets=one.copy(),
            error=None,
            has_bom=self.has_bom,
        )


def _fast_scan(path: Path) -> FileStructure | None:
    """The file's structure by the fast path, or None when only the exact pass can tell."""
    scanner = _FastScanner()
    sha = hashlib.sha256()
    with path.open("rb") as f, ThreadPoolExecutor(max_workers=1) as hasher:
        hashed = None
        try:
            block = f.read(max(CHUNK, len(BOM)))
            while block:
                if hashed is not None:
                    hashed.result()  # at most one block waits for the checksum
                hashed = hasher.submit(sha.update, block)
                scanner.feed(block)
                block = f.read(CHUNK)
            if hashed is not None:
                hashed.result()
            return scanner.finish(sha.hexdigest())
        except _NotSimple:
            return None


def scan_file(path: Path) -> FileStructure:
    """Checksum and structure of the file at ``path`` (OSError if it cannot be read): by the
    fast path when the file is plainly well formed, else by the exact pass, which names the
    first break."""
    return _fast_scan(path) or _exact_scan(path)


def _exact_scan(path: Path) -> FileStructure:
    """Checksum and structure of the file at ``path`` by the exact pass (:class:`_Scanner`)."""
    scanner = _Scanner()
    with path.open("rb") as f:
        block = f.read(max(CHUNK, len(BOM)))  # a BOM is recognised in the first block
        while block:
            following = f.read(CHUNK)
            scanner.feed(block, following[0] if following else _NONE)
            block = following
    return scanner.finish()
