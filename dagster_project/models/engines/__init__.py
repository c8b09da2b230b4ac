"""Where dbt builds the models: the working warehouse itself (DuckDB, the default), PostgreSQL or
Spark, chosen by ``$CSC_ENGINE`` (docs/scaling.md, "The pipeline on another engine").

The ingest, the checks and the publication read and write the working warehouse (DuckDB) whatever
the engine: only the dbt build moves. On PostgreSQL or Spark a month's build (models/dbt.py) is,
with the engine's lock held throughout (:func:`engine_build`):

1. **ship** the raw layer (every table of schema ``raw``, as the ingest wrote it) and the
   pseudonymisation key (table ``private.pseudonym_key``, which the models read on those engines);
2. **build**: the same ``dbt build`` on the engine's target of dbt/profiles.yml (its name is the
   engine's);
3. **bring back** (:func:`bring_back`) the marts this build made, which the checks read and the
   publication copies: each replaces its namesake in the working warehouse's schema ``main``, with
   the models' descriptions as comments (what dbt's persist_docs writes on DuckDB), in one
   transaction that also checks what came back: DuckDB's types (the models cast where the engines
   would differ) and the month built;
4. **clean**: the raw layer and the key leave the engine again, whether the build passed or not.

How each engine does it: engines/postgres.py and engines/spark.py.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.models.engines.common import (
    DBT_DIR,
    DBT_EXECUTABLE,
    MART_TYPES,
    MARTS_SCHEMA,
    REPO_ROOT,
    EngineError,
    schema_tables,
)
from dagster_project.models.engines.postgres import PostgresBuild, check_settings
from dagster_project.models.engines.spark import SparkBuild, spark_dbt, spark_dir
from dagster_project.settings import POSTGRES, SPARK, SPARK_DIR_ENV, HomePaths
from dagster_project.warehouse_sql import sql_literal, transaction

__all__ = ["DBT_DIR", "DBT_EXECUTABLE", "REPO_ROOT", "EngineError", "bring_back", "dbt_executable",
           "engine_build", "engine_env", "mart_relations", "schema_tables"]

SCORECARD = "fct_scorecard"  # its extract_month says which month a build was


def dbt_executable(engine: str) -> str:
    """The dbt that builds on ``engine``: the pipeline's own, or dbt-spark's environment's."""
    return spark_dbt() if engine == SPARK else DBT_EXECUTABLE


def engine_env(engine: str, paths: HomePaths) -> dict[str, str]:
    """The environment variables of a build on ``engine`` (beside the month and the warehouse file);
    EngineError when its settings are missing."""
    if engine == POSTGRES:
        check_settings(os.environ)
    if engine == SPARK:
        return {SPARK_DIR_ENV: str(spark_dir(paths))}
    return {}


@contextmanager
def engine_build(engine: str, paths: HomePaths) -> Iterator[PostgresBuild | SparkBuild]:
    """A build on ``engine``, locked from entry to exit; its shipped raw layer and key removed at the
    exit whatever happened."""
    scratch = paths.private_dir / "engine-scratch"
    build = PostgresBuild(scratch) if engine == POSTGRES else SparkBuild(paths) if engine == SPARK else None
    if build is None:
        raise EngineError(f"no build of another engine on {engine!r}")
    try:
        with build:
            yield build
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def mart_relations(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Every mart of a build's manifest: model name -> (schema, alias) of every enabled model of the
    project's marts layer materialised as a table (what publish copies)."""
    return {n["name"]: (n["schema"], n["alias"]) for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "csc_warehouse"
            and n["fqn"][1] == "marts" and n["config"].get("materialized") == "table"
            and n["config"].get("enabled", True)}


def built_marts(target: Path) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The manifest of the build whose artefacts are in ``target``, and the marts it built (those
    its run_results show built: a mart left out of the build, or that failed, is not brought back)."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    built = {r["unique_id"] for r in results if r["status"] == "success"}
    return manifest, {name: relation for name, relation in mart_relations(manifest).items()
                      if f"model.csc_warehouse.{name}" in built}


def bring_back(build: PostgresBuild | SparkBuild, con: duckdb.DuckDBPyConnection, target: Path,
               month: date) -> dict[str, int]:
    """The marts the build in ``target`` made, into the working warehouse's schema ``main`` (one
    transaction, with their documentation): table -> rows. Nothing changes when any mart comes back
    with a type DuckDB's build would not give, or the scorecard is not of ``month``."""
    manifest, marts = built_marts(target)
    with transaction(con):
        rows = build.copy_back(con, marts)
        _check(con, marts, month)
        _comment(con, manifest, marts)
    return rows


def _check(con: duckdb.DuckDBPyConnection, marts: dict[str, tuple[str, str]], month: date) -> None:
    tables = [alias for _, alias in marts.values()]
    if not tables:
        return
    odd = con.execute(
        "select table_name, column_name, data_type from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and list_contains(?, table_name) and not list_contains(?, data_type) order by all",
        [MARTS_SCHEMA, tables, sorted(MART_TYPES)]).fetchall()
    if odd:
        raise EngineError(f"marts came back with types the working warehouse does not take: {odd}")
    if SCORECARD in marts:
        months = con.execute(f"select distinct extract_month from {MARTS_SCHEMA}.{SCORECARD}").fetchall()
        if [m for (m,) in months] != [month]:
            found = ", ".join(str(m) for m in sorted(m for (m,) in months)) or "none"
            raise EngineError(f"the scorecard that came back is of extract month {found}, not {month}: "
                              "not the build of this month")


def _comment(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], marts: dict[str, tuple]) -> None:
    """The models' descriptions as the tables' and columns' comments, as dbt's persist_docs writes
    them on DuckDB (a table's when it has one; every documented column the table has)."""
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["name"] not in marts:
            continue
        alias = marts[node["name"]][1]
        table = f'{MARTS_SCHEMA}."{alias}"'
        if node.get("description"):
            con.execute(f"comment on table {table} is {sql_literal(node['description'])}")
        existing = {r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ?", [MARTS_SCHEMA, alias]).fetchall()}
        for name, column in node["columns"].items():
            if name in existing:
                con.execute(f'comment on column {table}."{name}" is {sql_literal(column.get("description") or "")}')
