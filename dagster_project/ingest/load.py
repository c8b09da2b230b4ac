"""Load one extract month into the raw layer (docs/architecture.md, "The raw layer").

``load_extract`` is the whole ingest stage for a month, in three phases:

1. *Checks before the transaction* (nothing is written): the manifest (when sent) is parsed and
   its period checked; every required table's file is present; every file's header has the
   required columns; every file listed in the manifest is present, with the listed SHA-256 when
   the manifest gives one.
2. *Staging* (only this connection's temporary tables are written): each file is streamed in
   batches (polars, Arrow) into a temporary staging table; row counts are checked against the
   manifest when it gives one; exact duplicates are marked; every validity rule runs as SQL.
   Outside a transaction, so DuckDB can spill the staging tables to disk.
3. *One transaction*: the raw schema is created if needed; the month's previous snapshot is
   deleted from every raw table; the new snapshot, the quarantine, the load log, the extract
   facts and the optional features are written; commit. The month's data-quality worklist
   (``dagster_project.ingest.worklist``: every failure with its raw values, private) is written
   beside the warehouse before the commit and put in place after it. The staging tables are
   dropped whatever happens.

A file-level failure at any point raises ExtractRejected (rolling back the transaction if it
had begun), so the warehouse is exactly as before.

The manifest verifies what it gives and nothing else (contract, "manifest.json"): a file's entry
may give ``rows``, ``sha256``, both or neither. What was verified of each loaded file is recorded
in ``raw.load_log.manifest_verified`` (``Manifest.verified``: 'rows and checksum', 'rows',
'checksum', 'nothing (listed without rows or checksum)', 'nothing (not listed)', 'no manifest').
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from dagster_project.contract import OPTIONAL_FEATURES, TABLES, Table
from dagster_project.extracts.manifest import (
    MANIFEST_FILE,
    Manifest,
    ManifestError,
    file_sha256,
    read_manifest,
    without_manifest,
)
from dagster_project.extracts.reader import (
    EXTRA_COLUMNS,
    LINE_NUMBER,
    ROW_NUMBER,
    ExtractRejected,
    TableFile,
    bad_column,
    is_parsed,
    iter_batches,
    locate_files,
    open_table_file,
    read_ahead,
)
from dagster_project.ingest.raw_schema import LOG_TABLES_DDL, RAW_SCHEMA, create_raw_schema, sql_type
from dagster_project.ingest.rule_sql import FAILURE_COLUMNS, QUARANTINE_COLUMNS, RuleContext, staging
from dagster_project.ingest.validity import (
    duplicates_sql,
    failures_sql,
    mark_duplicates_sql,
    mark_failed_sql,
    mark_repeated_headers_sql,
    repeated_headers_sql,
    staging_insert_sql,
)
from dagster_project.ingest.worklist import stage_worklist
from dagster_project.settings import council_of
from dagster_project.warehouse_sql import transaction

__all__ = ["ExtractRejected", "LoadResult", "TableLoad", "load_extract"]

_FAILURES = "_stg_failures"
SCAN_THREADS = 2
LOAD_LOG_COLUMNS = (
    "extract_month, table_name, file_name, file_sha256, rows_read, rows_loaded, rows_quarantined, "
    "duplicates_dropped, loaded_at, run_id, manifest_verified"
)


@dataclass(frozen=True)
class TableLoad:
    """Reconciliation of one table's file: ``rows_read = rows_loaded + rows_quarantined +
    duplicates_dropped`` (quarantined counts rows, not failures)."""

    table: str
    file_name: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    duplicates_dropped: int
    manifest_verified: str  # what matched the manifest: Manifest.verified (e.g. 'rows and checksum')
    extra_columns: tuple[str, ...]
    missing_optional_columns: tuple[str, ...]

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_dropped

    def to_metadata(self) -> dict[str, Any]:
        out = asdict(self)
        out["extra_columns"] = list(self.extra_columns)
        out["missing_optional_columns"] = list(self.missing_optional_columns)
        out["reconciles"] = self.reconciles
        return out


@dataclass(frozen=True)
class LoadResult:
    """What one load did: per-table reconciliation, failures by rule, the extract's facts."""

    month: date
    run_id: str | None
    loaded_at: datetime
    manifest: Manifest
    tables: dict[str, TableLoad]  # tables present in the extract, by table name
    quarantine_counts: dict[tuple[str, str], int]  # (table, rule) -> failures (quarantine rows)
    features: dict[str, bool]  # optional feature -> available in this extract
    ignored_files: tuple[str, ...]  # CSV files of the folder that are not contract tables
    seconds: float
    worklist: Path | None = None  # the month's data-quality worklist (private), when written

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())

    def quarantine_by_table(self) -> dict[str, dict[str, int]]:
        """Failures as ``{table: {rule: count}}``."""
        out: dict[str, dict[str, int]] = {}
        for (table, rule), n in self.quarantine_counts.items():
            out.setdefault(table, {})[rule] = n
        return out

    def to_metadata(self) -> dict[str, Any]:
        """Plain dicts, lists, ints and strings (JSON-serialisable)."""
        return {
            "month": self.month.isoformat(),
            "run_id": self.run_id,
            "loaded_at": self.loaded_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "manifest": self.manifest.to_metadata(),
            "tables": {name: t.to_metadata() for name, t in self.tables.items()},
            "quarantine_counts": self.quarantine_by_table(),
            "features": dict(self.features),
            "ignored_files": list(self.ignored_files),
            "rows_read": self.rows_read,
            "rows_quarantined": self.rows_quarantined,
        }


@dataclass(frozen=True)
class _Plan:
    """Phase 1's outcome: everything known about the month before reading any data row."""

    month: date
    manifest: Manifest
    files: dict[str, TableFile]  # present contract tables
    ignored_files: tuple[str, ...]

    @property
    def features(self) -> dict[str, bool]:
        out = {}
        for feature, (table, column) in OPTIONAL_FEATURES.items():
            tf = self.files.get(table)
            out[feature] = tf is not None and (column is None or column in tf.header)
        return out


def load_extract(
    con: duckdb.DuckDBPyConnection,
    extract_dir: Path,
    month: date,
    *,
    run_id: str | None = None,
    today: date | None = None,
    worklist: Path | None = None,
) -> LoadResult:
    """Validate the month folder ``extract_dir`` and load it into the raw layer, replacing any
    previous snapshot of ``month`` in one transaction.

    ``today`` (default: the current date) is the extract date when there is no manifest.
    ``worklist``: where to write the month's data-quality worklist (``HomePaths.worklist``).
    Raises ExtractRejected on a file-level failure, with nothing written.
    """
    started = time.perf_counter()
    month = date(month.year, month.month, 1)
    extract_dir = Path(extract_dir)
    plan = plan_extract(extract_dir, month, today or date.today())
    loaded_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    staged_worklist: Path | None = None
    try:
        # Staging and the validity rules work on this connection's temporary tables, outside the
        # transaction: nobody else sees them, and DuckDB can spill them to disk (inside a
        # transaction they stayed in memory beyond memory_limit: 13 GB for a national month).
        for tf in plan.files.values():
            _stage(con, tf, plan.manifest)
        _run_rules(con, plan)
        if worklist is not None:
            staged_worklist = stage_worklist(con, _FAILURES, {n: tf.file_name for n, tf in plan.files.items()},
                                             worklist)
        # The month's snapshot replaces the previous one in one transaction: all or nothing.
        with transaction(con):
            create_raw_schema(con)
            _delete_month(con, month)
            for tf in plan.files.values():
                _write_snapshot(con, tf, loaded_at)
            _write_logs(con, plan, loaded_at, run_id)
            tables = _reconcile(con, plan)
            counts = _quarantine_counts(con)
        if staged_worklist is not None and worklist is not None:
            os.replace(staged_worklist, worklist)
            staged_worklist = None
    finally:
        _drop_staging(con, plan)
        if staged_worklist is not None:
            staged_worklist.unlink(missing_ok=True)
    return LoadResult(
        month=month,
        run_id=run_id,
        loaded_at=loaded_at,
        manifest=plan.manifest,
        tables=tables,
        quarantine_counts=counts,
        features=plan.features,
        ignored_files=plan.ignored_files,
        seconds=time.perf_counter() - started,
        worklist=worklist,
    )


# --------------------------------------------------------------------------------------------
# Phase 1: checks before anything is written


def plan_extract(extract_dir: Path, month: date, today: date) -> _Plan:
    """Manifest, required tables, headers and checksums; raises ExtractRejected."""
    _check_folder_name(extract_dir, month)
    found = locate_files(extract_dir, month)
    manifest = _manifest(extract_dir, month, today)
    files: dict[str, TableFile] = {}
    # Opening a file reads all of it (checksum and CSV structure): two at a time (numpy and hashlib
    # release the GIL); results are taken in contract order, so the first failing table is reported.
    with ThreadPoolExecutor(max_workers=SCAN_THREADS) as pool:
        opening = {
            t.name: pool.submit(open_table_file, t, found[t.file_name.lower()], month)
            for t in TABLES
            if t.file_name.lower() in found
        }
        for table in TABLES:
            if table.name not in opening:
                if table.required:
                    raise ExtractRejected(month, table.file_name, "required table is missing from the extract")
                continue
            files[table.name] = opening[table.name].result()
    _check_checksums(extract_dir, month, manifest, files)
    known = {t.file_name.lower() for t in TABLES}
    ignored = tuple(p.name for key, p in found.items() if key not in known)
    return _Plan(month=month, manifest=manifest, files=files, ignored_files=ignored)


def _check_folder_name(extract_dir: Path, month: date) -> None:
    name = extract_dir.name
    if len(name) == 7 and name[4] == "-" and name.replace("-", "").isdigit() and name != f"{month:%Y-%m}":
        raise ExtractRejected(month, "", f"folder {name} is not the folder of month {month:%Y-%m}")


def _manifest(extract_dir: Path, month: date, today: date) -> Manifest:
    path = extract_dir / MANIFEST_FILE
    if not path.is_file():
        return without_manifest(month, today)
    try:
        return read_manifest(path, month, today, council=council_of(extract_dir))
    except ManifestError as exc:
        raise ExtractRejected(month, MANIFEST_FILE, str(exc)) from exc


def _check_checksums(extract_dir: Path, month: date, manifest: Manifest, files: dict[str, TableFile]) -> None:
    """Every file the manifest lists is present, with the listed SHA-256 when one is given."""
    by_name = {tf.file_name.lower(): tf for tf in files.values()}
    for name, entry in manifest.files.items():
        tf = by_name.get(name.lower())
        path = tf.path if tf else extract_dir / name
        if not path.is_file():
            raise ExtractRejected(month, name, "listed in manifest.json but missing from the folder")
        if entry.sha256 is None:
            continue
        actual = tf.sha256 if tf else file_sha256(path)
        if actual != entry.sha256:
            raise ExtractRejected(
                month,
                path.name,
                f"SHA-256 {actual} differs from manifest.json ({entry.sha256}): "
                "truncated or corrupted transfer",
            )


# --------------------------------------------------------------------------------------------
# Phases 2 and 3: staging (temporary tables), then the transaction


def staging_ddl(table: Table) -> str:
    """The temporary staging table of ``table``: the reader's staging shape plus ``_header``
    (repeats the header), ``_dropped`` (an exact duplicate) and ``_failed`` (fails a validity rule)."""
    cols = [f"{c.name} {sql_type(c.kind)}" for c in table.columns]
    cols += [f"{bad_column(c.name)} VARCHAR" for c in table.columns if is_parsed(c)]
    cols += [
        f"{ROW_NUMBER} BIGINT",
        f"{LINE_NUMBER} BIGINT",
        f"{EXTRA_COLUMNS} VARCHAR",
        "_header BOOLEAN NOT NULL DEFAULT false",
        "_dropped BOOLEAN NOT NULL DEFAULT false",
        "_failed BOOLEAN NOT NULL DEFAULT false",
    ]
    return f"CREATE OR REPLACE TEMP TABLE {staging(table.name)} ({', '.join(cols)})"


def _stage(con: duckdb.DuckDBPyConnection, tf: TableFile, manifest: Manifest) -> None:
    """Stream the file into its staging table; check its row count against the manifest (when
    the manifest gives one)."""
    con.execute(staging_ddl(tf.table))
    for batch in read_ahead(iter_batches(tf)):
        # Arrow string views: DuckDB reads them without converting (25-35% faster inserts)
        con.register("_batch", batch.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            con.execute(staging_insert_sql(tf.table, "_batch"))
        finally:
            con.unregister("_batch")
    entry = manifest.entry(tf.file_name)
    if entry is not None and entry.rows is not None:
        rows = _scalar(con, f"SELECT count(*) FROM {staging(tf.table.name)}")
        if rows != entry.rows:
            raise tf.rejected(
                f"{rows} data rows but manifest.json says {entry.rows}: truncated or corrupted transfer"
            )


def _run_rules(con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    """Mark repeated headers and exact duplicates, then collect every rule failure in the failures
    table."""
    cols = ", ".join(FAILURE_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_FAILURES} (table_name VARCHAR, row_number BIGINT, line_number BIGINT, "
        "record_key VARCHAR, person_id VARCHAR, rule VARCHAR, column_name VARCHAR, value VARCHAR, reason VARCHAR, "
        "message VARCHAR, dropped BOOLEAN)"
    )
    ctx = RuleContext(extract_date=plan.manifest.extract_date, present=frozenset(plan.files))
    for tf in plan.files.values():
        con.execute(mark_repeated_headers_sql(tf.table))
        con.execute(f"INSERT INTO {_FAILURES} SELECT {cols}, false FROM ({repeated_headers_sql(tf.table)})")
        con.execute(mark_duplicates_sql(tf.table))
        con.execute(f"INSERT INTO {_FAILURES} SELECT {cols}, true FROM ({duplicates_sql(tf.table)})")
    for tf in plan.files.values():
        con.execute(f"INSERT INTO {_FAILURES} SELECT {cols}, false FROM ({failures_sql(tf.table, ctx)})")
    for tf in plan.files.values():
        con.execute(mark_failed_sql(tf.table, _FAILURES))


def _delete_month(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Remove the previous snapshot of ``month`` from every raw table and log table."""
    for table in TABLES:
        con.execute(f"DELETE FROM {RAW_SCHEMA}.{table.name} WHERE _extract_month = ?", [month])
    for name in LOG_TABLES_DDL:
        con.execute(f"DELETE FROM {RAW_SCHEMA}.{name} WHERE extract_month = ?", [month])


def _write_snapshot(con: duckdb.DuckDBPyConnection, tf: TableFile, loaded_at: datetime) -> None:
    """Every staged row into ``raw.<table>``, in file order, with its validity."""
    table = tf.table
    cols = ", ".join(c.name for c in table.columns)
    con.execute(
        f"""
        INSERT INTO {RAW_SCHEMA}.{table.name}
            ({cols}, _extract_month, _row_number, _extra_columns, _file_sha256, _loaded_at, _is_valid,
             _line_number)
        SELECT {cols}, ?, {ROW_NUMBER}, {EXTRA_COLUMNS}, ?, ?, NOT (_dropped OR _failed), {LINE_NUMBER}
        FROM {staging(table.name)}""",
        [tf.month, tf.sha256, loaded_at],
    )


def _write_logs(con: duckdb.DuckDBPyConnection, plan: _Plan, loaded_at: datetime, run_id: str | None) -> None:
    """raw.quarantine (with the value-free reason as its message), raw.load_log, raw.extracts and
    raw.extract_features for the month."""
    month = plan.month
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.quarantine SELECT ?, {', '.join(QUARANTINE_COLUMNS)} FROM {_FAILURES} "
        "ORDER BY table_name, row_number, rule, column_name",
        [month],
    )
    for tf in plan.files.values():
        stg = staging(tf.table.name)
        con.execute(
            f"""
            INSERT INTO {RAW_SCHEMA}.load_log ({LOAD_LOG_COLUMNS})
            SELECT ?, ?, ?, ?, s.rows_read, v.rows_loaded, q.rows_quarantined, s.duplicates_dropped, ?, ?, ?
            FROM (SELECT count(*) AS rows_read, count(*) FILTER (WHERE _dropped) AS duplicates_dropped
                  FROM {stg}) AS s,
                 (SELECT count(*) AS rows_loaded FROM {RAW_SCHEMA}.{tf.table.name}
                  WHERE _extract_month = ? AND _is_valid) AS v,
                 (SELECT count(DISTINCT row_number) AS rows_quarantined FROM {_FAILURES}
                  WHERE table_name = ? AND NOT dropped) AS q""",
            [
                month,
                tf.table.name,
                tf.file_name,
                tf.sha256,
                loaded_at,
                run_id,
                plan.manifest.verified(tf.file_name),
                month,
                tf.table.name,
            ],
        )
    m = plan.manifest
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.extracts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            month,
            m.la_code,
            m.period_end,
            m.recorded_extract_date,
            m.ssd_version,
            m.source_system,
            m.has_manifest,
            loaded_at,
            run_id,
        ],
    )
    for feature, available in plan.features.items():
        con.execute(
            f"INSERT INTO {RAW_SCHEMA}.extract_features VALUES (?, ?, ?)", [month, feature, available]
        )


def _reconcile(con: duckdb.DuckDBPyConnection, plan: _Plan) -> dict[str, TableLoad]:
    """The month's load-log rows as TableLoad records."""
    rows = con.execute(
        f"SELECT table_name, rows_read, rows_loaded, rows_quarantined, duplicates_dropped "
        f"FROM {RAW_SCHEMA}.load_log WHERE extract_month = ?",
        [plan.month],
    ).fetchall()
    counts = {r[0]: r[1:] for r in rows}
    out: dict[str, TableLoad] = {}
    for name, tf in plan.files.items():
        read, loaded, quarantined, dropped = counts[name]
        out[name] = TableLoad(
            table=name,
            file_name=tf.file_name,
            sha256=tf.sha256,
            rows_read=read,
            rows_loaded=loaded,
            rows_quarantined=quarantined,
            duplicates_dropped=dropped,
            manifest_verified=plan.manifest.verified(tf.file_name),
            extra_columns=tf.extra_columns,
            missing_optional_columns=tf.missing_optional_columns,
        )
    return out


def _quarantine_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    rows = con.execute(
        f"SELECT table_name, rule, count(*) FROM {_FAILURES} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {(table, rule): n for table, rule, n in rows}


def _drop_staging(con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    for name in plan.files:
        con.execute(f"DROP TABLE IF EXISTS {staging(name)}")
    con.execute(f"DROP TABLE IF EXISTS {_FAILURES}")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
