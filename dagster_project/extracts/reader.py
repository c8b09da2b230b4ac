"""Reading one table file of an extract month with every format rule of the contract.

Everything is vectorised polars over a lazy CSV scan with every column read as text
(``infer_schema=False``); nothing loops over rows in Python. A file is read in three steps:

1. ``open_table_file``: one pass over the file's bytes (``dagster_project.extracts.structure``)
   gives its SHA-256, checks its shape (UTF-8, line endings, quotes, field counts: every record
   has as many fields as the header) and maps records to lines; then the header
   (case-insensitive, space-trimmed names; duplicates and missing required columns reject the
   file; so does a header with no data row in a table never empty, ``NEVER_EMPTY``). A break in
   the header rejects the file here; one after it when the file is read (3).
2. ``scan_table``: a lazy frame in the *staging shape*: one typed column per contract column
   (absent optional columns are NULL), plus

   * ``_row_number``  1-based data-row number (header and blank lines excluded),
   * ``_line_number`` the line of the file the record starts on (the header is line 1),
   * ``_extra_columns`` JSON text ``{name: text}`` of the columns the contract does not know,
   * ``_bad_<column>`` for dates, flags, numbers and JSON: the original text when it cannot be
     read as its type (the typed column is then NULL), else NULL. The validity rule "format"
     turns these into quarantine rows. JSON is the exception: polars has no fast JSON check, so
     the JSON text is passed through here and checked by DuckDB's JSON parser as it is staged
     (``dagster_project.ingest.validity.staging_insert_sql``), which fills ``_bad_<column>``.

3. ``iter_batches``: the frame in streaming batches. A file that breaks the CSV rules (invalid
   UTF-8, a stray carriage return, mixed line endings, a record with another number of fields
   than the header, an unbalanced quote, a NUL byte, a byte-order mark inside the file) or has
   a date column with dates that are valid only month first (MM/DD/YYYY: its other slash dates
   may be swapped) raises ExtractRejected naming the line and the reason. No message quotes a
   value of the file: values identify people.

Value rules: text, ids and codes are trimmed and empty is NULL; ids stay text (leading zeros
kept); codes are matched case-insensitively (after the contract's description mappings) and
written canonically, an unknown code is kept as trimmed text for the rule "codes" to report;
dates accept YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.f...] and DD/MM/YYYY (time dropped, 1900-01-01 is
NULL; a date valid only as MM/DD/YYYY rejects the file); flags accept Y/N, Yes/No, TRUE/FALSE,
1/0 in any case; numbers must be finite decimals; JSON must be a JSON object (checked when
staged, see above).
"""

from __future__ import annotations

import contextlib
import csv
import io
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl

from dagster_project.contract import (
    CODE,
    DATE_KINDS,
    DESCRIPTION_MAPPINGS,
    FLAG,
    JSON,
    NUMBER,
    PLACEHOLDER_DATE,
    Column,
    Table,
    code_lists,
)
from dagster_project.extracts.structure import BOM, FileStructure, scan_file

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
T = TypeVar("T")
ROW_NUMBER = "_row_number"
LINE_NUMBER = "_line_number"
_RECORD = "__record"  # polars' row number before blank lines are dropped
_NOT_CSV = "cannot be read as a UTF-8 CSV file (RFC 4180)"
# Tables that an extract of the SSD's six-year window always has rows of, however small the
# council: a file of them with a header and no data row is a failed export, not an empty table.
NEVER_EMPTY = ("ssd_person", "ssd_contacts")
EXTRA_COLUMNS = "_extra_columns"
BAD_PREFIX = "_bad_"
# Kinds whose text is parsed into another type; an unreadable value is a "format" failure.
PARSED_KINDS = DATE_KINDS | {FLAG, NUMBER, JSON}
BATCH_ROWS = 250_000

_TRUE = ("Y", "YES", "TRUE", "1")
_FALSE = ("N", "NO", "FALSE", "0")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?: (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?)?$"
_UK_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"


class ExtractRejected(Exception):
    """A file-level failure: the whole month is rejected and nothing of it is written."""

    def __init__(self, month: date, file: str, reason: str, line: int | None = None) -> None:
        self.month = month
        self.file = file
        self.reason = reason
        self.line = line  # the line of the file the reason is about, when it is about one
        where = f"{month:%Y-%m}/{file}" if file else f"{month:%Y-%m}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class TableFile:
    """One table's file in an extract folder, its header checked against the contract."""

    table: Table
    path: Path
    month: date
    header: tuple[str, ...]  # normalised column names, by position
    structure: FileStructure

    @property
    def sha256(self) -> str:
        return self.structure.sha256

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def present_columns(self) -> tuple[str, ...]:
        """Contract columns found in the file."""
        return tuple(c.name for c in self.table.columns if c.name in self.header)

    @property
    def missing_optional_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns if c.optional and c.name not in self.header)

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns of the file that the contract does not know, in file order."""
        known = {c.name for c in self.table.columns}
        return tuple(name for name in self.header if name not in known)

    def rejected(self, reason: str, line: int | None = None) -> ExtractRejected:
        return ExtractRejected(self.month, self.file_name, reason, line)


def normalise_header(name: str, position: int) -> str:
    """Header names are matched case-insensitively, ignoring surrounding spaces."""
    return name.strip().lower() or f"column_{position + 1}"


def bad_column(name: str) -> str:
    """Staging column holding the unreadable original text of ``name``."""
    return f"{BAD_PREFIX}{name}"


def is_parsed(column: Column) -> bool:
    return column.kind in PARSED_KINDS


def value_columns(table: Table) -> tuple[str, ...]:
    """Staging columns that hold what a row says: two rows equal in all of them are identical."""
    return (
        *(c.name for c in table.columns),
        *(bad_column(c.name) for c in table.columns if is_parsed(c)),
        EXTRA_COLUMNS,
    )


def locate_files(extract_dir: Path, month: date) -> dict[str, Path]:
    """The folder's CSV files by lower-case name (file names are matched case-insensitively)."""
    if not extract_dir.is_dir():
        raise ExtractRejected(month, "", f"extract folder {extract_dir} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(extract_dir.iterdir()):
        if not (path.is_file() and path.suffix.lower() == ".csv"):
            continue
        key = path.name.lower()
        if key in found:
            raise ExtractRejected(month, path.name, f"two files differ only in case: {found[key].name}")
        found[key] = path
    return found


def read_header(path: Path, month: date, header_bytes: int | None = None) -> tuple[str, ...]:
    """The normalised header of a CSV file (its first ``header_bytes`` bytes, BOM included, as
    the structure pass measured them); rejects unreadable, empty or ambiguous headers."""
    try:
        with path.open("rb") as f:
            head = f.read(header_bytes) if header_bytes is not None else f.read()
        raw = next(csv.reader(io.StringIO(head.decode("utf-8-sig"), newline="")), None)
    except UnicodeDecodeError as exc:
        raise ExtractRejected(month, path.name, f"is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (OSError, csv.Error) as exc:
        raise ExtractRejected(month, path.name, f"cannot be read: {exc}") from exc
    if not raw:
        raise ExtractRejected(month, path.name, "file is empty: no header row")
    header = tuple(normalise_header(name, i) for i, name in enumerate(raw))
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ExtractRejected(month, path.name, f"line 1 (the header): column {', '.join(duplicates)} appears more "
                              "than once", 1)
    return header


def open_table_file(table: Table, path: Path, month: date) -> TableFile:
    """Checksum the file and check its shape (``structure.scan_file``) and its header against
    the contract. A break of the CSV rules after the header is kept for ``iter_batches``."""
    try:
        structure = scan_file(path)
    except OSError as exc:
        raise ExtractRejected(month, path.name, f"cannot be read: {exc}") from exc
    if structure.error_in_header:
        error = structure.error
        raise ExtractRejected(month, path.name, f"{_NOT_CSV}: {error}", error.line)
    header = read_header(path, month, structure.header_bytes + (len(BOM) if structure.has_bom else 0))
    if len(header) != structure.header_fields:
        raise ExtractRejected(month, path.name, f"{_NOT_CSV}: line 1 (the header) cannot be split into fields "
                              "consistently", 1)
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise ExtractRejected(month, path.name, f"{_NOT_CSV}: line 1 (the header) has one field: the file is not "
                              "comma-separated (semicolons, tabs or bars?)", 1)
    missing = [c.name for c in table.required_columns if c.name not in header]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        verb = "is" if len(missing) == 1 else "are"
        known = {c.name for c in table.columns}
        unknown = [h for h in header if h not in known]
        renamed = (f" (the header has {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}, which the "
                   "contract does not list: renamed?)") if unknown else ""
        raise ExtractRejected(month, path.name, f"required {noun} {', '.join(missing)} {verb} missing{renamed}")
    if table.name in NEVER_EMPTY and structure.error is None and structure.data_records == 0:
        raise ExtractRejected(month, path.name, f"has only its header (line 1) and no data rows: an extract always "
                              f"has rows of {table.name} (a failed export?)", 1)
    return TableFile(table=table, path=path, month=month, header=header, structure=structure)


# --------------------------------------------------------------------------------------------
# The lazy scan in staging shape


def _source(i: int) -> str:
    return f"__c{i}"


def _raw_scan(tf: TableFile) -> pl.LazyFrame:
    """The file's fields as text, blank lines dropped, with their 1-based record number (blank
    lines counted, to find their line) and data-row number."""
    sources = [_source(i) for i in range(len(tf.header))]

    def positional_names(names: list[str]) -> list[str]:
        # never raise here: an exception in this callback is a panic inside polars
        return sources if len(names) == len(sources) else names

    lf = pl.scan_csv(
        tf.path,
        has_header=True,
        infer_schema=False,
        encoding="utf8",
        quote_char='"',
        with_column_names=positional_names,
        truncate_ragged_lines=False,
        raise_if_empty=True,
    )
    if lf.collect_schema().names() != sources:  # polars must split the header as read_header did
        raise tf.rejected(f"{_NOT_CSV}: line 1 (the header) cannot be split into fields consistently", 1)
    lf = lf.with_row_index(_RECORD, offset=1)
    # A blank line is not a data row (RFC 4180 readers such as Python's csv skip them too).
    lf = lf.filter(~pl.all_horizontal(pl.col(s).is_null() for s in sources))
    return lf.with_row_index(ROW_NUMBER, offset=1)


def _trimmed_name(name: str) -> str:
    return f"__t_{name}"


def _parsed_name(name: str) -> str:
    return f"__p_{name}"


def _staging_steps(tf: TableFile) -> Callable[[FrameT], FrameT]:
    """From the raw text fields to the staging shape (typed columns, bad texts, extras): a
    function of a raw frame, its expressions built once per file.

    In three steps, each a set of columns polars computes in parallel, so that no value is
    trimmed or parsed twice (eager polars does not share common subexpressions, and a column's
    trimmed text is read four times by a date parse and again by its "unreadable" test):
    trimmed texts, then parsed values, then the staging columns.
    """
    position = {name: i for i, name in enumerate(tf.header)}
    present = [c for c in tf.table.columns if c.name in position]
    trimmed = [_trimmed(pl.col(_source(position[c.name]))).alias(_trimmed_name(c.name)) for c in present]
    parsed = [
        _parser(c.kind)(pl.col(_trimmed_name(c.name))).alias(_parsed_name(c.name)) for c in present if is_parsed(c)
    ]
    exprs: list[pl.Expr] = []
    for column in tf.table.columns:
        src = pl.col(_source(position[column.name])) if column.name in position else None
        exprs.extend(column_exprs(column, src))
    exprs += [
        pl.col(ROW_NUMBER).cast(pl.Int64),
        tf.structure.line_expr(pl.col(_RECORD).cast(pl.Int64)).alias(LINE_NUMBER),
        _extra_columns_expr(tf, position),
    ]

    def to_staging(frame: FrameT) -> FrameT:
        return frame.with_columns(trimmed).with_columns(parsed).select(exprs)

    return to_staging


def scan_table(tf: TableFile) -> pl.LazyFrame:
    """The file as a lazy frame in staging shape (see the module docstring)."""
    return _staging_steps(tf)(_raw_scan(tf))


def iter_batches(tf: TableFile, batch_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """The file in staging shape, streamed in batches of ``batch_rows`` (default BATCH_ROWS);
    a break of the CSV rules, or dates valid only month first, reject the file.

    The streaming scan yields the raw text fields and each batch is typed as it arrives. (With
    the typing inside the streaming query, polars parsed ahead of a slower consumer without
    bound: 7 GB of memory for the 6 GB contacts file of a national extract; this way memory
    stays at a few batches whatever the file's size.)
    """
    error = tf.structure.error
    if error is not None:
        raise tf.rejected(f"{_NOT_CSV}: {error}", error.line)
    to_staging = _staging_steps(tf)
    month_first = _month_first_dates(tf)
    rows = 0
    try:
        for raw in _raw_scan(tf).collect_batches(chunk_size=batch_rows or BATCH_ROWS, maintain_order=True):
            batch = to_staging(raw)
            _reject_month_first_dates(tf, batch, month_first)
            rows += batch.height
            yield batch
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError) as exc:
        # polars' message quotes the file's text: name the kind of error only
        raise tf.rejected(f"{_NOT_CSV}: polars cannot parse it ({type(exc).__name__})") from None
    if rows > tf.structure.data_records:
        raise tf.rejected(f"{_NOT_CSV}: polars read {rows} records where the file has {tf.structure.data_records}")


def _month_first_dates(tf: TableFile) -> dict[str, pl.Expr]:
    """Per date column of the file: is a value unreadable as DD/MM/YYYY but a date as MM/DD/YYYY?"""
    out = {}
    for column in tf.table.columns:
        if column.kind in DATE_KINDS and column.name in tf.header:
            text = pl.col(bad_column(column.name)).str.strip_chars()
            us = text.str.strptime(pl.Date, "%m/%d/%Y", strict=False)
            out[column.name] = pl.col(LINE_NUMBER).filter(text.str.contains(_UK_DATE) & us.is_not_null()).min()
    return out


def _reject_month_first_dates(tf: TableFile, batch: pl.DataFrame, month_first: dict[str, pl.Expr]) -> None:
    """A date column holding a date valid only month first (07/25/2023) rejects the file: its
    other slash dates (07/04/2023) would be read day first, swapped, with no failure to show."""
    if not month_first:
        return
    found = batch.select(**month_first).row(0, named=True)
    hits = sorted((line, i, name) for i, (name, line) in enumerate(found.items()) if line is not None)
    if hits:  # the first line; on it, the first column
        line, _, name = hits[0]
        raise tf.rejected(
            f"line {line}: {name} holds a date valid only month first (MM/DD/YYYY), so its other dates "
            "may have day and month swapped; the contract's dates are YYYY-MM-DD or DD/MM/YYYY",
            line,
        )


def read_ahead(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``batches``, produced in a background thread up to ``depth`` items ahead of the consumer.

    Polars types the next batch while the consumer (DuckDB) writes this one; both release the
    GIL, so the two use both cores. An exception of the producer is raised in the consumer; when
    the consumer stops early, the producer stops at its next item.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((done, None))
        except BaseException as exc:  # handed to the consumer
            items.put((done, exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = items.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.1)
        thread.join()


def read_table(tf: TableFile) -> pl.DataFrame:
    """The whole file in staging shape (small files, tests)."""
    batches = list(iter_batches(tf))
    return pl.concat(batches) if batches else scan_table(tf).clear().collect()


def _extra_columns_expr(tf: TableFile, position: dict[str, int]) -> pl.Expr:
    extras = tf.extra_columns
    if not extras:
        return pl.lit(None, dtype=pl.String).alias(EXTRA_COLUMNS)
    fields = [pl.col(_source(position[name])).alias(name) for name in extras]
    return pl.struct(fields).struct.json_encode().alias(EXTRA_COLUMNS)


# --------------------------------------------------------------------------------------------
# One column: typed value (+ the unreadable text for parsed kinds)


def column_exprs(column: Column, src: pl.Expr | None) -> list[pl.Expr]:
    """Typed expression(s) for one contract column; ``src`` is None when the column is absent.

    Reads the column's trimmed text and parsed value, computed before by :func:`_staging_steps`.
    """
    if src is None:
        out = [pl.lit(None, dtype=polars_type(column.kind)).alias(column.name)]
        if is_parsed(column):
            out.append(pl.lit(None, dtype=pl.String).alias(bad_column(column.name)))
        return out
    text = pl.col(_trimmed_name(column.name))
    if column.kind == CODE:
        return [code_expr(text, column.codes).alias(column.name)]
    if not is_parsed(column):  # id, text
        return [text.alias(column.name)]
    parsed = pl.col(_parsed_name(column.name))
    unreadable = pl.when(text.is_not_null() & parsed.is_null()).then(src)
    if column.kind in DATE_KINDS:  # the placeholder is NULL, not a failure
        parsed = pl.when(parsed != pl.lit(PLACEHOLDER_DATE)).then(parsed)
    return [parsed.alias(column.name), unreadable.alias(bad_column(column.name))]


def polars_type(kind: str) -> pl.DataType:
    if kind in DATE_KINDS:
        return pl.Date()
    if kind == FLAG:
        return pl.Boolean()
    if kind == NUMBER:
        return pl.Float64()
    return pl.String()


def _trimmed(src: pl.Expr) -> pl.Expr:
    """Surrounding spaces removed; empty is NULL."""
    text = src.str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text)


def date_expr(text: pl.Expr) -> pl.Expr:
    """A date from any of the four allowed forms (time of day dropped), else NULL."""
    iso = text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    uk = text.str.strptime(pl.Date, "%d/%m/%Y", strict=False)
    return (
        pl.when(text.str.contains(_ISO_DATE))
        .then(iso)
        .when(text.str.contains(_UK_DATE))
        .then(uk)
        .otherwise(pl.lit(None, dtype=pl.Date))
    )


def flag_expr(text: pl.Expr) -> pl.Expr:
    """True/False from any accepted spelling (any case), else NULL."""
    upper = text.str.to_uppercase()
    return pl.when(upper.is_in(_TRUE)).then(True).when(upper.is_in(_FALSE)).then(False)


def number_expr(text: pl.Expr) -> pl.Expr:
    """A finite decimal number, else NULL."""
    value = text.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def json_expr(text: pl.Expr) -> pl.Expr:
    """The trimmed text; whether it is a JSON object is checked as it is staged (DuckDB)."""
    return text


def _parser(kind: str) -> Callable[[pl.Expr], pl.Expr]:
    if kind in DATE_KINDS:
        return date_expr
    return {FLAG: flag_expr, NUMBER: number_expr, JSON: json_expr}[kind]


def code_mapping(code_list: str) -> dict[str, str]:
    """Upper-case code or known description -> canonical code."""
    mapping = {code.upper(): code for code in code_lists()[code_list]}
    mapping.update({k.upper(): v for k, v in DESCRIPTION_MAPPINGS.get(code_list, {}).items()})
    return mapping


def code_expr(text: pl.Expr, code_list: str | None) -> pl.Expr:
    """The canonical code when ``text`` matches one (case-insensitively, after the description
    mappings); otherwise the trimmed text itself, for the rule "codes" to report."""
    if code_list is None:
        return text
    mapping = code_mapping(code_list)
    canonical = text.str.to_uppercase().replace_strict(
        list(mapping), list(mapping.values()), default=None, return_dtype=pl.String
    )
    return pl.coalesce(canonical, text)
