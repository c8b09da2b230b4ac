"""Small helpers for reading the DuckDB warehouse from Python (checks, audit, published outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = ()) -> list[dict[str, Any]]:
    """The query's rows as dicts keyed by column name."""
    cur = con.execute(sql, list(params or ()))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.name`` is a table or a view of the current database."""
    schema, name = qualified.split(".")
    return con.execute(
        "select (select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = $1 and table_name = $2) + (select count(*) from duckdb_views() "
        "where database_name = current_database() and schema_name = $1 and view_name = $2)",
        [schema, name],
    ).fetchone()[0] > 0
