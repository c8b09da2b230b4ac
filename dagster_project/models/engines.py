"""Where dbt builds the models: the working warehouse itself (DuckDB, the default), PostgreSQL or
Spark, chosen by ``$CSC_ENGINE`` (docs/scaling.md, "The pipeline on another engine").

The ingest, the checks and the publication read and write the working warehouse (DuckDB) whatever
the engine: only the dbt build moves. On PostgreSQL or Spark a month's build is three steps:

1. **ship** (:func:`ship_raw`): the raw layer (every table of schema ``raw``, as the ingest wrote
   it) and the pseudonymisation key (table ``private.pseudonym_key``, which the models read on
   those engines) go to the engine. PostgreSQL: DuckDB writes each table as CSV and Postgres
   ``COPY ... FROM STDIN`` reads it. Spark: each table becomes a folder of Parquet under
   ``$CSC_SPARK_DIR/raw`` and the project's ``register_parquet_tables`` makes it a table there;
2. **build**: the same ``dbt build`` on the engine's target of dbt/profiles.yml (models/dbt.py);
3. **bring back** (:func:`bring_back_marts`): every table of the marts layer, which the checks read
   and the publication copies, replaces its namesake in the working warehouse's schema ``main``,
   with the models' descriptions as comments (what dbt's persist_docs writes on DuckDB), in one
   transaction. The column types are the ones DuckDB's own build gives (the models cast where the
   engines would differ), and a type this module does not know stops the run naming it.

The key reaches Postgres as a table of the target database and Spark as a Parquet file under
``$CSC_SPARK_DIR`` (by default in the home's private zone): both must be readable by the service
account only (docs/scaling.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.pseudonym import Key
from dagster_project.settings import POSTGRES, SPARK, HomePaths
from dagster_project.warehouse_sql import transaction

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = REPO_ROOT / "dbt"
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the pipeline's dbt (dbt-duckdb, dbt-postgres)
# dbt-spark lives in an environment of its own (make spark-env): Great Expectations, in the
# pipeline's, imports pyspark wherever it is installed
SPARK_DBT_EXECUTABLE = REPO_ROOT / ".venv-spark" / "bin" / "dbt"
SPARK_DIR_ENV = "CSC_SPARK_DIR"  # Spark's tables, catalog and the shipped raw layer (dbt/profiles.yml)
# libpq's variables that dbt/profiles.yml's postgres target and this module's connection both read;
# required, so that the two cannot fall back to different defaults
POSTGRES_REQUIRED_ENV = ("PGHOST", "PGUSER", "PGDATABASE")
SHIPPED_SCHEMAS = ("raw", "private")  # what the models read: the raw layer and the key table
MARTS_SCHEMA = "main"  # where the marts are in the working warehouse (publish copies this schema)
KEY_TABLE = ("private", "pseudonym_key")

# DuckDB's type of a raw column -> Postgres's (the others are spelled the same in both)
DUCKDB_TO_POSTGRES = {"VARCHAR": "text", "DOUBLE": "double precision", "JSON": "json"}
# Postgres's type of a mart column -> DuckDB's: every type the marts have there
POSTGRES_TO_DUCKDB = {"text": "VARCHAR", "character varying": "VARCHAR", "bigint": "BIGINT",
                      "integer": "INTEGER", "double precision": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}


class EngineError(Exception):
    """The engine cannot be used as configured (a missing setting or environment), or a mart came
    back in a shape the working warehouse cannot take."""


def dbt_target(engine: str) -> str:
    """The target of dbt/profiles.yml that builds on ``engine`` (each engine's target has its name)."""
    return engine


def dbt_executable(engine: str) -> str:
    """The dbt that builds on ``engine``: the pipeline's own, or dbt-spark's environment's."""
    if engine != SPARK:
        return DBT_EXECUTABLE
    if not SPARK_DBT_EXECUTABLE.exists():
        raise EngineError(f"$CSC_ENGINE=spark needs dbt-spark's environment, {SPARK_DBT_EXECUTABLE}: "
                          "run `make spark-env`")
    return str(SPARK_DBT_EXECUTABLE)


def spark_dir(paths: HomePaths) -> Path:
    """Spark's folder: ``$CSC_SPARK_DIR``, else ``spark`` in the home's private zone."""
    return Path(os.environ.get(SPARK_DIR_ENV) or paths.private_dir / "spark").resolve()


def engine_env(engine: str, paths: HomePaths) -> dict[str, str]:
    """The environment variables of a build on ``engine`` (beside the month and the warehouse file)."""
    env = {"DBT_TARGET": dbt_target(engine)}
    if engine == POSTGRES:
        missing = [name for name in POSTGRES_REQUIRED_ENV if not os.environ.get(name)]
        if missing:
            raise EngineError(f"$CSC_ENGINE=postgres: set {', '.join('$' + m for m in missing)} (libpq's variables, "
                              "with PGPORT and PGPASSWORD or ~/.pgpass) to the database the models build in")
    if engine == SPARK:
        env[SPARK_DIR_ENV] = str(spark_dir(paths))
    return env


def shipped_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """schema -> the tables of the raw layer to ship (the key table is added by the shipping)."""
    return {"raw": [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'raw' order by 1").fetchall()]}


def ship_raw(engine: str, con: duckdb.DuckDBPyConnection, key: Key, paths: HomePaths, scratch: Path) -> dict[str, int]:
    """The raw layer and the key to ``engine`` (before its build): table -> rows shipped."""
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        if engine == POSTGRES:
            return _ship_postgres(con, key, scratch)
        if engine == SPARK:
            return _ship_spark(con, key, paths)
        raise EngineError(f"nothing to ship to {engine!r}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def mart_relations(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """The marts a build made on its engine, from its manifest: model name -> (schema, alias) of every
    enabled model of the project's marts layer materialised as a table (what publish copies)."""
    return {n["name"]: (n["schema"], n["alias"]) for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "csc_warehouse"
            and n["fqn"][1] == "marts" and n["config"].get("materialized") == "table"
            and n["config"].get("enabled", True)}


def bring_back_marts(engine: str, con: duckdb.DuckDBPyConnection, manifest_path: Path, paths: HomePaths,
                     scratch: Path) -> dict[str, int]:
    """Every mart of the engine's build into the working warehouse's schema ``main`` (one
    transaction), with its documentation: table -> rows."""
    manifest = json.loads(manifest_path.read_text())
    marts = mart_relations(manifest)
    if not marts:
        raise EngineError(f"the build's manifest {manifest_path} has no marts")
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with transaction(con):
            if engine == POSTGRES:
                rows = _bring_back_postgres(con, marts, scratch)
            elif engine == SPARK:
                rows = _bring_back_spark(con, marts, spark_dir(paths))
            else:
                raise EngineError(f"nothing to bring back from {engine!r}")
            _comment_marts(con, manifest, marts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def _comment_marts(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], marts: dict[str, tuple]) -> None:
    """The models' descriptions as the tables' and columns' comments, as dbt's persist_docs writes
    them on DuckDB (a table's when it has one; every documented column the table has)."""
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["name"] not in marts:
            continue
        table = f'{MARTS_SCHEMA}."{marts[node["name"]][1]}"'
        if node.get("description"):
            con.execute(f"comment on table {table} is {_literal(node['description'])}")
        existing = {r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ?", [MARTS_SCHEMA, marts[node["name"]][1]]).fetchall()}
        for name, column in node["columns"].items():
            if name in existing:
                con.execute(f'comment on column {table}."{name}" is {_literal(column.get("description") or "")}')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# PostgreSQL


@contextmanager
def postgres_connection() -> Iterator[Any]:
    """A connection to the database dbt's postgres target builds in (libpq's environment variables)."""
    import psycopg2  # dbt-postgres's driver, installed with it

    con = psycopg2.connect("")
    try:
        con.autocommit = True
        yield con
    finally:
        con.close()


def copy_schema_to_postgres(duck: duckdb.DuckDBPyConnection, pg, schema: str, tables: list[str],
                            scratch: Path) -> dict[str, int]:
    """Tables of a DuckDB schema into the same schema of Postgres, same columns and types: table ->
    rows there. Each replaces its namesake, and the views on it (the staging models, which every
    build makes again)."""
    copied = {}
    with pg.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        for table in tables:
            columns = duck.execute(
                "select column_name, data_type from duckdb_columns() where database_name = current_database() "
                "and schema_name = ? and table_name = ? order by column_index", [schema, table]).fetchall()
            ddl = ", ".join(f'"{name}" {DUCKDB_TO_POSTGRES.get(kind, kind.lower())}' for name, kind in columns)
            cur.execute(f'drop table if exists {schema}."{table}" cascade')
            cur.execute(f'create table {schema}."{table}" ({ddl})')
            csv = scratch / f"{schema}.{table}.csv"
            duck.execute(f"copy {schema}.\"{table}\" to '{csv}' (format csv, header false)")
            with csv.open() as f:
                cur.copy_expert(f'copy {schema}."{table}" from stdin with (format csv)', f)
            csv.unlink()
            cur.execute(f'select count(*) from {schema}."{table}"')
            copied[table] = cur.fetchone()[0]
            cur.execute(f'analyze {schema}."{table}"')
    return copied


def _ship_postgres(con: duckdb.DuckDBPyConnection, key: Key, scratch: Path) -> dict[str, int]:
    with postgres_connection() as pg:
        shipped = copy_schema_to_postgres(con, pg, "raw", shipped_tables(con)["raw"], scratch)
        schema, table = KEY_TABLE
        with pg.cursor() as cur:
            cur.execute(f"create schema if not exists {schema}")
            cur.execute(f"revoke all on schema {schema} from public")
            cur.execute(f"drop table if exists {schema}.{table}")
            cur.execute(f"create table {schema}.{table} (key text not null)")
            cur.execute(f"insert into {schema}.{table} values (%s)", [key.value])
    return shipped


def _bring_back_postgres(con: duckdb.DuckDBPyConnection, marts: dict[str, tuple[str, str]],
                         scratch: Path) -> dict[str, int]:
    rows = {}
    with postgres_connection() as pg, pg.cursor() as cur:
        for schema, alias in marts.values():
            cur.execute("select column_name, data_type from information_schema.columns where table_schema = %s "
                        "and table_name = %s order by ordinal_position", [schema, alias])
            columns = cur.fetchall()
            if not columns:
                raise EngineError(f"postgres: the mart {schema}.{alias} is missing after the build")
            unknown = [(name, kind) for name, kind in columns if kind not in POSTGRES_TO_DUCKDB]
            if unknown:
                raise EngineError(f"postgres: {schema}.{alias} has columns of types the working warehouse does "
                                  f"not map: {unknown}")
            csv = scratch / f"{alias}.csv"
            with csv.open("w") as f:
                cur.copy_expert(f'copy (select * from "{schema}"."{alias}") to stdout with (format csv)', f)
            types = ", ".join(f"'{name}': '{POSTGRES_TO_DUCKDB[kind]}'" for name, kind in columns)
            con.execute(f'create or replace table {MARTS_SCHEMA}."{alias}" as select * from read_csv('
                        f"'{csv}', columns = {{{types}}}, header = false, auto_detect = false, "
                        "allow_quoted_nulls = false, quote = '\"', escape = '\"', delim = ',')")
            csv.unlink()
            rows[alias] = con.execute(f'select count(*) from {MARTS_SCHEMA}."{alias}"').fetchone()[0]
    return rows


# --------------------------------------------------------------------------------------------
# Spark


def export_parquet(con: duckdb.DuckDBPyConnection, root: Path, tables: Mapping[str, list[str]]) -> dict[str, int]:
    """Each table of ``tables`` (schema -> names) as a folder of Parquet, <root>/<schema>/<table>/,
    the layout ``register_parquet_tables`` reads: table -> rows."""
    rows = {}
    for schema, names in tables.items():
        for table in names:
            folder = root / schema / table
            folder.mkdir(parents=True)
            con.execute(f"copy {schema}.\"{table}\" to '{folder / 'part-0.parquet'}' (format parquet)")
            rows[table] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    return rows


def _ship_spark(con: duckdb.DuckDBPyConnection, key: Key, paths: HomePaths) -> dict[str, int]:
    """Each raw table and the key as a Parquet folder <spark dir>/raw/<schema>/<table>/, registered
    as a table of Spark's catalog (``dbt run-operation register_parquet_tables``)."""
    root = spark_dir(paths) / "raw"
    shutil.rmtree(root, ignore_errors=True)
    tables = shipped_tables(con)
    shipped = export_parquet(con, root, tables)
    schema, table = KEY_TABLE
    folder = root / schema / table
    folder.mkdir(parents=True)
    with duckdb.connect() as scratch:  # the key is a bound parameter, never in SQL text or the warehouse
        scratch.execute("create table pseudonym_key as select cast(? as varchar) as key", [key.value])
        scratch.execute(f"copy pseudonym_key to '{folder / 'part-0.parquet'}' (format parquet)")
    tables[schema] = [table]
    args = json.dumps({"root": str(root), "schemas": tables})
    result = subprocess.run(
        [dbt_executable(SPARK), "run-operation", "register_parquet_tables", "--args", args,
         "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(spark_dir(paths) / "dbt-target"), "--log-path", str(spark_dir(paths) / "logs")],
        cwd=DBT_DIR, env={**os.environ, **engine_env(SPARK, paths)}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EngineError(f"spark: registering the raw layer failed (dbt run-operation register_parquet_tables, "
                          f"exit {result.returncode}); its log is in {spark_dir(paths) / 'logs'}")
    return shipped


def _bring_back_spark(con: duckdb.DuckDBPyConnection, marts: dict[str, tuple[str, str]],
                      folder: Path) -> dict[str, int]:
    rows = {}
    for schema, alias in marts.values():
        stored = folder / "warehouse" / f"{schema}.db" / alias
        if not any(stored.glob("*.parquet")):
            raise EngineError(f"spark: the mart {schema}.{alias} has no Parquet files in {stored} after the build")
        con.execute(f'create or replace table {MARTS_SCHEMA}."{alias}" as '
                    f"select * from read_parquet('{stored / '*.parquet'}')")
        rows[alias] = con.execute(f'select count(*) from {MARTS_SCHEMA}."{alias}"').fetchone()[0]
    return rows
