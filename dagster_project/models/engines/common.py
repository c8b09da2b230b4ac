"""What the engines share: where dbt is, the error they raise, and the shape of what is shipped
and brought back (dagster_project/models/engines/__init__.py says how a build on another engine goes)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[3]
DBT_DIR = REPO_ROOT / "dbt"
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the pipeline's dbt (dbt-duckdb, dbt-postgres)
# dbt-spark lives in an environment of its own (make spark-env): Great Expectations, in the
# pipeline's, imports pyspark wherever it is installed
SPARK_DBT_EXECUTABLE = REPO_ROOT / ".venv-spark" / "bin" / "dbt"
RAW_SCHEMA = "raw"  # the raw layer, shipped whole
KEY_TABLE = "private.pseudonym_key"  # where the models read the key on an engine other than DuckDB
MARTS_SCHEMA = "main"  # where the marts are in the working warehouse (publish copies this schema)
# the working warehouse's types of the marts' columns (DuckDB's own build gives no other): a mart
# that comes back with another type stops the run
MART_TYPES = frozenset({"VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "DATE", "BOOLEAN"})


class EngineError(Exception):
    """The engine cannot be used as configured, or what came back cannot go into the working
    warehouse. Its message names tables, columns and settings, never a value of the data."""


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables of a schema of a DuckDB database, by name."""
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ? "
        "order by 1", [schema]).fetchall()]
