"""A month's build on Spark: dbt/profiles.yml's ``spark`` target (dbt-spark's session method, from
``.venv-spark``), whose tables, catalog and shipped raw layer live in one folder, ``$CSC_SPARK_DIR``,
by default ``<home>/private/spark`` (the home's private zone: the service account's only).

* **lock**: a file lock in that folder, held from shipping to cleaning (Spark's local catalog,
  Derby, takes one process at a time anyway; this says why);
* **ship**: each raw table, and the key, as a folder of Parquet, ``<folder>/raw/<schema>/<table>/``,
  made a table of Spark's catalog by the project's ``register_parquet_tables`` operation;
* **copy back**: each mart read from the Parquet files Spark stored,
  ``<folder>/warehouse/<schema>.db/<table>/``;
* **clean**: the shipped folder (raw layer and key) is removed again; the catalog's tables over it
  are replaced by the next ship.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from dagster_project.models.engines.common import (
    DBT_DIR,
    KEY_TABLE,
    MARTS_SCHEMA,
    RAW_SCHEMA,
    SPARK_DBT_EXECUTABLE,
    EngineError,
    schema_tables,
)
from dagster_project.pseudonym import Key
from dagster_project.settings import SPARK_DIR_ENV, HomePaths
from dagster_project.warehouse_sql import sql_literal

SHIPPED = "raw"  # the shipped tables' folder in Spark's


def spark_dir(paths: HomePaths) -> Path:
    """Spark's folder: ``$CSC_SPARK_DIR``, else ``spark`` in the home's private zone."""
    return Path(os.environ.get(SPARK_DIR_ENV) or paths.private_dir / "spark").resolve()


def spark_dbt() -> str:
    """dbt-spark's dbt (``make spark-env``)."""
    if not SPARK_DBT_EXECUTABLE.exists():
        raise EngineError(f"$CSC_ENGINE=spark needs dbt-spark's environment, {SPARK_DBT_EXECUTABLE}: "
                          "run `make spark-env`")
    return str(SPARK_DBT_EXECUTABLE)


def export_parquet(con: duckdb.DuckDBPyConnection, root: Path, tables: Mapping[str, list[str]]) -> dict[str, int]:
    """Each table of ``tables`` (schema -> names) as a folder of Parquet, <root>/<schema>/<table>/,
    the layout ``register_parquet_tables`` reads: table -> rows."""
    rows = {}
    for schema, names in tables.items():
        for table in names:
            folder = root / schema / table
            folder.mkdir(parents=True)
            con.execute(f'copy {schema}."{table}" to {sql_literal(str(folder / "part-0.parquet"))} (format parquet)')
            rows[table] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    return rows


class SparkBuild:
    """One month's build in Spark's folder: lock held from ``with`` to its end, cleaned at the end."""

    def __init__(self, paths: HomePaths) -> None:
        self.folder = spark_dir(paths)
        self.dbt = spark_dbt()
        self.lock = FileLock(str(self.folder / ".build.lock"))

    def __enter__(self) -> SparkBuild:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise EngineError(f"spark: another build holds {self.folder} (another warehouse configured with the "
                              "same $CSC_SPARK_DIR?): give each its own") from None
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.clean()
        finally:
            self.lock.release()

    def ship(self, duck: duckdb.DuckDBPyConnection, key: Key) -> dict[str, int]:
        """The raw layer and the key as Parquet, registered as Spark's tables: table -> rows."""
        root = self.folder / SHIPPED
        shutil.rmtree(root, ignore_errors=True)
        tables = {RAW_SCHEMA: schema_tables(duck, RAW_SCHEMA)}
        shipped = export_parquet(duck, root, tables)
        schema, table = KEY_TABLE.split(".")
        (root / schema / table).mkdir(parents=True)
        with duckdb.connect() as scratch:  # the key is a bound parameter, never in SQL text or the warehouse
            scratch.execute("create table pseudonym_key as select cast(? as varchar) as key", [key.value])
            scratch.execute(f"copy pseudonym_key to {sql_literal(str(root / schema / table / 'part-0.parquet'))} "
                            "(format parquet)")
        tables[schema] = [table]
        result = subprocess.run(
            [self.dbt, "run-operation", "register_parquet_tables", "--args",
             json.dumps({"root": str(root), "schemas": tables}), "--project-dir", str(DBT_DIR),
             "--profiles-dir", str(DBT_DIR), "--target", "spark", "--target-path", str(self.folder / "dbt-target"),
             "--log-path", str(self.folder / "logs")],
            cwd=DBT_DIR, env={**os.environ, SPARK_DIR_ENV: str(self.folder)}, capture_output=True, text=True,
            check=False)
        if result.returncode != 0:
            raise EngineError(f"spark: registering the raw layer failed (dbt run-operation register_parquet_tables, "
                              f"exit {result.returncode}); its log is in {self.folder / 'logs'}")
        return shipped

    def copy_back(self, duck: duckdb.DuckDBPyConnection, marts: dict[str, tuple[str, str]]) -> dict[str, int]:
        """Each mart (name -> its schema and table there) into ``main`` of the working warehouse."""
        rows = {}
        for schema, alias in marts.values():
            stored = self.folder / "warehouse" / f"{schema}.db" / alias
            if not any(stored.glob("*.parquet")):
                raise EngineError(f"spark: the mart {schema}.{alias} has no Parquet files in {stored} after the build")
            duck.execute(f'create or replace table {MARTS_SCHEMA}."{alias}" as '
                         f"select * from read_parquet({sql_literal(str(stored / '*.parquet'))})")
            rows[alias] = duck.execute(f'select count(*) from {MARTS_SCHEMA}."{alias}"').fetchone()[0]
        return rows

    def clean(self) -> None:
        """The shipped raw layer and key out of Spark's folder."""
        shutil.rmtree(self.folder / SHIPPED, ignore_errors=True)
