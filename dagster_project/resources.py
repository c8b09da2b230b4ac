"""Dagster resources: the warehouse home and a safe DuckDB connection to the working warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.settings import (
    DUCKDB,
    HomePaths,
    duckdb_memory_limit,
    engine_from_env,
    extracts_from_env,
    home_from_env,
)


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one warehouse: its home directory and the extracts it reads.

    Only runs open the working warehouse, and runs that write it never overlap (the
    ``warehouse_writer`` pool, limit 1). The connection is always closed, even on error, so a
    failed step never leaves a lock behind in the process.
    """

    home: str
    extracts_dir: str
    engine: str = DUCKDB  # where dbt builds the models (models/engines/); the rest is always DuckDB

    @classmethod
    def from_env(cls) -> WarehouseResource:
        return cls(home=str(home_from_env()), extracts_dir=str(extracts_from_env()), engine=engine_from_env())

    @property
    def paths(self) -> HomePaths:
        return HomePaths(Path(self.home))

    def extract_folder(self, partition_key: str) -> Path:
        return Path(self.extracts_dir) / partition_key[:7]

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        db = self.paths.work_db
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), read_only=read_only, config={"memory_limit": duckdb_memory_limit()})
        try:
            yield con
        finally:
            con.close()
