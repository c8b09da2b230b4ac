"""Small helpers for the DuckDB warehouse from Python: reading it (checks, audit, published outputs)
and writing it in one transaction (ingest, pseudonym key, publish)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = ()) -> list[dict[str, Any]]:
    """The query's rows as dicts keyed by column name."""
    cur = con.execute(sql, list(params or ()))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def sql_literal(text: str | None) -> str:
    """``text`` as a SQL string literal (quotes doubled), or NULL: for the places a value cannot be a
    bound parameter (a file path in COPY or ATTACH, a comment)."""
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.name`` is a table or a view of the current database."""
    schema, name = qualified.split(".")
    return con.execute(
        "select (select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = $1 and table_name = $2) + (select count(*) from duckdb_views() "
        "where database_name = current_database() and schema_name = $1 and view_name = $2)",
        [schema, name],
    ).fetchone()[0] > 0


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back if anything escapes
    it (an interrupt included), so the database is as before or has all of the block."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
