"""``published/marts/<table>.parquet``: every mart and dimension of the analysts' warehouse as Parquet.

The same tables as the analysts' warehouse (:func:`dagster_project.publish.wap.published_tables`:
the marts and dimensions, never raw, staging or quarantine), as built from the newest month's
extract, for analysts who read files rather than DuckDB (pandas, polars, R's arrow, Power BI).
Written beside the warehouse, with it, once per publication (not into every month's folder: each
is a full six-year snapshot, about 19 MB at Bradford's size, 1.3 GB at England's). It reads the
working warehouse. Internal only: the public variant never gets the marts.

Each file is written by DuckDB (``COPY ... (FORMAT parquet)``) with its rows sorted on the table's
key, so the same tables give the same bytes whatever order the build left them in. The key is the
one the model's ``column_rules`` test declares (read from the build's manifest, :func:`mart_keys`),
which the build has just asserted, so it orders every row; a table without one is sorted on every
column (at scale 10 the keys took 8.5-9.4 s of CPU for every table, every column 10.3-11.1 s;
2026-12-07). Zstandard at level 1 (any reader of zstd reads it): at scale 10 it took 22% less CPU
than the default level 3 for files 1.4% larger (measured for issue 17). The publish step runs it
beside the copy of the analysts' warehouse, on a cursor of its own
(:func:`dagster_project.publish.wap.publish_month`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from dagster_project.publish.wap import PUBLISHED_SCHEMA, published_tables
from dagster_project.warehouse_sql import sql_literal

MARTS_DIR = "marts"


def mart_keys(manifest: Path) -> dict[str, list[str]]:
    """Each model's key (by its table's name) as its ``column_rules`` test declares it, from the
    dbt manifest ``manifest``."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"]
    keys = {}
    for node in nodes.values():
        test = node.get("test_metadata") or {}
        key = test.get("kwargs", {}).get("key") if test.get("name") == "column_rules" else None
        if key and node.get("attached_node") in nodes:
            keys[nodes[node["attached_node"]]["alias"]] = list(key)
    return keys


def write_marts(con: duckdb.DuckDBPyConnection, folder: Path, keys: Mapping[str, Sequence[str]]) -> list[Path]:
    """One Parquet file per published table of the working warehouse ``con`` into ``folder``, its
    rows in the order of its key in ``keys`` (:func:`mart_keys`; every column when it has none)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in published_tables(con):
        path = folder / f"{table}.parquet"
        order = ", ".join(f'"{column}"' for column in keys[table]) if keys.get(table) else "ALL"
        con.execute(f'COPY (SELECT * FROM {PUBLISHED_SCHEMA}."{table}" ORDER BY {order}) TO {sql_literal(str(path))} '
                    "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")
        written.append(path)
    return written
