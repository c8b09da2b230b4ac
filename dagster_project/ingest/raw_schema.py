"""DDL of the raw layer, derived from the contract (docs/architecture.md, "The raw layer")."""

from __future__ import annotations

from datetime import date

import duckdb

from dagster_project.contract import DATE_KINDS, FLAG, NUMBER, TABLES, Table

RAW_SCHEMA = "raw"

METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_extract_month", "DATE NOT NULL"),
    ("_row_number", "BIGINT NOT NULL"),
    ("_extra_columns", "JSON"),
    ("_file_sha256", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
    ("_is_valid", "BOOLEAN NOT NULL"),
    # the line of the file the record starts on (header = line 1; a quoted field may span lines);
    # added after the first release, so last: NULL on rows loaded before it existed
    ("_line_number", "BIGINT"),
)
# Metadata columns added to the raw tables after their first release, in the order they were added
# (each is also the last of METADATA_COLUMNS): ``create_raw_schema`` adds them to older warehouses.
RAW_TABLES_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("_line_number", "BIGINT"),)

LOG_TABLES_DDL = {
    "quarantine": """(
        extract_month DATE NOT NULL, table_name VARCHAR NOT NULL, row_number BIGINT,
        record_key VARCHAR, rule VARCHAR NOT NULL, column_name VARCHAR, value VARCHAR, message VARCHAR)""",
    "load_log": """(
        extract_month DATE NOT NULL, table_name VARCHAR NOT NULL, file_name VARCHAR, file_sha256 VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, duplicates_dropped BIGINT,
        loaded_at TIMESTAMP, run_id VARCHAR, manifest_verified VARCHAR)""",
    "extracts": """(
        extract_month DATE NOT NULL, la_code VARCHAR, period_end DATE, extract_date DATE,
        ssd_version VARCHAR, source_system VARCHAR, has_manifest BOOLEAN, loaded_at TIMESTAMP, run_id VARCHAR)""",
    "extract_features": """(
        extract_month DATE NOT NULL, feature VARCHAR NOT NULL, available BOOLEAN NOT NULL)""",
}


# Columns added to a log table after its first release, in the order they were added. Each is also
# the last column(s) of the table's DDL above, so that a warehouse created by an earlier version
# and migrated by ``create_raw_schema`` has the same columns in the same order as a new one.
LOG_TABLES_ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    # what the manifest verified of the file (dagster_project.extracts.manifest.Manifest.verified):
    # 'rows and checksum', 'rows', 'checksum', 'nothing (listed without rows or checksum)',
    # 'nothing (not listed)' or 'no manifest'; NULL on rows loaded before the column existed
    "load_log": (("manifest_verified", "VARCHAR"),),
}


def sql_type(kind: str) -> str:
    if kind in DATE_KINDS:
        return "DATE"
    if kind == FLAG:
        return "BOOLEAN"
    if kind == NUMBER:
        return "DOUBLE"
    return "VARCHAR"


def raw_table_ddl(table: Table) -> str:
    cols = [f"{c.name} {sql_type(c.kind)}" for c in table.columns]
    cols += [f"{name} {typ}" for name, typ in METADATA_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{table.name} ({', '.join(cols)})"


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every raw table if they do not exist yet, and add the log tables'
    later columns to a warehouse created by an earlier version (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table in TABLES:
        con.execute(raw_table_ddl(table))
        for column, typ in RAW_TABLES_ADDED_COLUMNS:
            con.execute(f"ALTER TABLE {RAW_SCHEMA}.{table.name} ADD COLUMN IF NOT EXISTS {column} {typ}")
    for name, ddl in LOG_TABLES_DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{name} {ddl}")
    for name, columns in LOG_TABLES_ADDED_COLUMNS.items():
        for column, typ in columns:
            con.execute(f"ALTER TABLE {RAW_SCHEMA}.{name} ADD COLUMN IF NOT EXISTS {column} {typ}")


def quarantine_lines_sql(con: duckdb.DuckDBPyConnection, month: date) -> str:
    """A query of the rows of ``raw.quarantine`` for extract ``month`` with ``line_number``: the
    line of the file the failing record starts on (``raw.<table>._line_number``; NULL for rows
    loaded before lines were recorded). The line, not the record's key, is how reports point at
    a failing record: a key can identify a child, a line number cannot."""
    have_lines = {
        table
        for (table,) in con.execute(
            f"SELECT table_name FROM duckdb_columns() WHERE schema_name = '{RAW_SCHEMA}' "
            "AND column_name = '_line_number'"
        ).fetchall()
    }
    m = f"DATE '{month.isoformat()}'"
    lines = " UNION ALL ".join(
        f"SELECT '{t.name}' AS table_name, _row_number, _line_number FROM {RAW_SCHEMA}.{t.name} "
        f"WHERE _extract_month = {m}"
        for t in TABLES
        if t.name in have_lines
    )
    if not lines:
        return f"SELECT *, CAST(NULL AS BIGINT) AS line_number FROM {RAW_SCHEMA}.quarantine WHERE extract_month = {m}"
    return (
        f"SELECT q.*, l._line_number AS line_number FROM {RAW_SCHEMA}.quarantine AS q LEFT JOIN ({lines}) AS l "
        f"ON l.table_name = q.table_name AND l._row_number = q.row_number WHERE q.extract_month = {m}"
    )
