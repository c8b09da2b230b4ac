"""The pseudonymisation key, kept out of every compiled SQL file.

dbt's ``pseudonymise`` macro (dbt/macros/pseudonymise.sql) reads the key at run time from the
one-row table ``private.pseudonym_key`` of the working warehouse instead of writing it into the
SQL it compiles. :func:`ensure_pseudonym_key` writes that table from ``$CSC_PSEUDONYM_KEY`` (the
demo uses the published demo key) and must run before dbt builds a month. The ``private`` schema
is never copied into the analysts' warehouse (only ``main`` is).
"""

from __future__ import annotations

import os

import duckdb

from dagster_project.warehouse_sql import transaction

KEY_ENV = "CSC_PSEUDONYM_KEY"
DEMO_KEY = "csc-warehouse-demo-key"
KEY_SCHEMA = "private"
KEY_TABLE = f"{KEY_SCHEMA}.pseudonym_key"


def pseudonym_key() -> str:
    """The key from the environment (the published demo key when unset or empty)."""
    return os.environ.get(KEY_ENV) or DEMO_KEY


def ensure_pseudonym_key(con: duckdb.DuckDBPyConnection, key: str | None = None) -> None:
    """Write ``private.pseudonym_key`` (one row) with the current key; idempotent.

    The key is passed as a bound parameter, so it appears in no SQL text or log.
    """
    key = key if key is not None else pseudonym_key()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {KEY_SCHEMA}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} (key VARCHAR NOT NULL)")
    current = con.execute(f"SELECT list(key) FROM {KEY_TABLE}").fetchone()[0] or []
    if current != [key]:
        with transaction(con):
            con.execute(f"DELETE FROM {KEY_TABLE}")
            con.execute(f"INSERT INTO {KEY_TABLE} VALUES (?)", [key])
