"""DDL of the raw layer, derived from the contract (docs/architecture.md, "The raw layer")."""

from __future__ import annotations

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
)

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
    for name, ddl in LOG_TABLES_DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{name} {ddl}")
    for name, columns in LOG_TABLES_ADDED_COLUMNS.items():
        for column, typ in columns:
            con.execute(f"ALTER TABLE {RAW_SCHEMA}.{name} ADD COLUMN IF NOT EXISTS {column} {typ}")
