"""Choosing the engine dbt builds on ($CSC_ENGINE), and bringing the marts back, without a server.

The whole pipeline on PostgreSQL and on Spark is tested end to end in test_postgres.py and
test_spark.py; here: the settings, the refusals, which marts come back, what the bring-back
checks, and the Spark bring-back and lock on Parquet folders laid out as Spark stores them.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.models.dbt import dbt_project, dbt_resource
from dagster_project.models.engines import (
    EngineError,
    bring_back,
    dbt_executable,
    engine_env,
    mart_relations,
)
from dagster_project.models.engines import spark as spark_engine
from dagster_project.models.engines.common import DBT_DIR, DBT_EXECUTABLE
from dagster_project.models.engines.postgres import REQUIRED_ENV
from dagster_project.settings import ENGINE_ENV, SPARK_DIR_ENV, HomePaths, engine_from_env

JULY = date(2023, 7, 1)


@pytest.fixture
def paths(tmp_path) -> HomePaths:
    return HomePaths(tmp_path / "home")


def test_the_engine_is_duckdb_unless_configured(monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert engine_from_env() == "duckdb"
    monkeypatch.setenv(ENGINE_ENV, "spark")
    assert engine_from_env() == "spark"


def test_an_unknown_engine_is_refused_naming_the_choices(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "bigquery")
    with pytest.raises(ValueError, match=r"\$CSC_ENGINE='bigquery'.*duckdb, postgres, spark"):
        engine_from_env()


def test_postgres_needs_its_connection_settings(monkeypatch, paths):
    for name in (*REQUIRED_ENV, "PGSSLMODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    with pytest.raises(EngineError, match=r"set \$PGUSER, \$PGDATABASE"):
        engine_env("postgres", paths)
    monkeypatch.setenv("PGUSER", "csc")
    monkeypatch.setenv("PGDATABASE", "csc_warehouse")
    assert engine_env("postgres", paths) == {}


def test_postgres_on_another_machine_must_be_encrypted(monkeypatch, paths):
    """The raw layer holds children's records: never sent in clear to another machine."""
    monkeypatch.setenv("PGUSER", "csc")
    monkeypatch.setenv("PGDATABASE", "csc_warehouse")
    monkeypatch.setenv("PGHOST", "db.example.internal")
    monkeypatch.delenv("PGSSLMODE", raising=False)
    with pytest.raises(EngineError, match=r"another machine: set \$PGSSLMODE to one of require"):
        engine_env("postgres", paths)
    monkeypatch.setenv("PGSSLMODE", "prefer")  # libpq's default: may fall back to clear text
    with pytest.raises(EngineError, match="PGSSLMODE"):
        engine_env("postgres", paths)
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    assert engine_env("postgres", paths) == {}
    monkeypatch.setenv("PGHOST", "/var/run/postgresql")  # a socket of this machine
    monkeypatch.delenv("PGSSLMODE")
    assert engine_env("postgres", paths) == {}


def test_spark_keeps_its_folder_in_the_private_zone_unless_told(monkeypatch, paths, tmp_path):
    monkeypatch.delenv(SPARK_DIR_ENV, raising=False)
    assert engine_env("spark", paths) == {SPARK_DIR_ENV: str(paths.private_dir / "spark")}
    monkeypatch.setenv(SPARK_DIR_ENV, str(tmp_path / "cluster-share"))
    assert engine_env("spark", paths)[SPARK_DIR_ENV] == str(tmp_path / "cluster-share")


def test_spark_without_its_environment_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(spark_engine, "SPARK_DBT_EXECUTABLE", tmp_path / "no-venv" / "bin" / "dbt")
    with pytest.raises(EngineError, match="make spark-env"):
        dbt_executable("spark")
    assert dbt_executable("postgres") == DBT_EXECUTABLE


def test_the_dbt_resource_builds_on_the_engines_target():
    assert dbt_resource("postgres").target == "postgres"
    assert dbt_resource().target == "duckdb"


def test_the_marts_brought_back_are_the_marts_layers_tables():
    """Every model under models/marts (what publish copies), none of staging or intermediate, and
    not the region's benchmark (disabled in a council's build)."""
    marts = mart_relations(json.loads(Path(dbt_project.manifest_path).read_text()))
    in_folder = {p.stem for p in (DBT_DIR / "models" / "marts").rglob("*.sql")}
    assert set(marts) == in_folder and len(marts) >= 20
    assert {schema for schema, _ in marts.values()} == {"main"}
    assert "fct_scorecard_benchmark" not in marts


# --------------------------------------------------------------------------------------------
# bringing back: a build's artefacts as dbt writes them, its marts as Spark stores them


def mart_node(name: str, columns: dict[str, str], description: str = "") -> dict:
    return {"resource_type": "model", "package_name": "csc_warehouse", "name": name,
            "fqn": ["csc_warehouse", "marts", "area", name], "schema": "main", "alias": name,
            "config": {"materialized": "table", "enabled": True}, "description": description,
            "columns": {c: {"name": c, "description": text} for c, text in columns.items()}}


def write_build(target: Path, nodes: list[dict], built: list[str]) -> Path:
    """A build's manifest and run_results: ``built`` the models that ran and passed."""
    target.mkdir(parents=True)
    (target / "manifest.json").write_text(json.dumps({"nodes": {f"model.csc_warehouse.{n['name']}": n
                                                                for n in nodes}}))
    (target / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": f"model.csc_warehouse.{n['name']}", "status": "success" if n["name"] in built else "error"}
        for n in nodes]}))
    return target


def store(folder: Path, table: str, sql: str) -> None:
    """A table as local Spark stores it: <folder>/warehouse/main.db/<table>/part-*.parquet."""
    stored = folder / "warehouse" / "main.db" / table
    stored.mkdir(parents=True)
    duckdb.sql(f"copy ({sql}) to '{stored / 'part-00000.parquet'}' (format parquet)")


@pytest.fixture
def spark(monkeypatch, paths):
    """A Spark build's bring-back on the home's Spark folder (no Spark needed to read Parquet)."""
    monkeypatch.delenv(SPARK_DIR_ENV, raising=False)
    monkeypatch.setattr(spark_engine, "SPARK_DBT_EXECUTABLE", Path(sys.executable))
    return spark_engine.SparkBuild(paths)


@pytest.fixture
def working(tmp_path):
    """A working warehouse whose marts hold an older build's rows."""
    with duckdb.connect(str(tmp_path / "work.duckdb")) as con:
        con.execute("create table main.fct_scorecard as "
                    "select 'old' as measure_id, date '2023-06-01' as extract_month")
        con.execute("create table main.dim_measure as select 'old' as measure_id")
        yield con


SCORECARD = mart_node("fct_scorecard", {"measure_id": "The measure.", "extract_month": "", "gone": "x"},
                      "One row per measure and month (it's the scorecard).")


def test_the_marts_come_back_with_their_rows_and_documentation(spark, working, tmp_path):
    store(spark.folder, "fct_scorecard", "select * from (values ('CF1', date '2023-07-01'), ('CF2', date "
                                         "'2023-07-01')) as t(measure_id, extract_month)")
    target = write_build(tmp_path / "target", [SCORECARD], ["fct_scorecard"])
    assert bring_back(spark, working, target, JULY) == {"fct_scorecard": 2}
    assert working.execute("select measure_id from main.fct_scorecard order by 1").fetchall() == [("CF1",), ("CF2",)]
    assert working.execute("select comment from duckdb_tables() where table_name = 'fct_scorecard'"
                           ).fetchone()[0] == "One row per measure and month (it's the scorecard)."
    comments = working.execute("select column_name, comment from duckdb_columns() where table_name = 'fct_scorecard' "
                               "order by column_index").fetchall()
    assert comments == [("measure_id", "The measure."), ("extract_month", "")]


def test_only_the_marts_this_build_made_come_back(spark, working, tmp_path):
    """A mart the build left out or failed keeps the working warehouse's rows: never the engine's
    copy from an earlier build."""
    store(spark.folder, "fct_scorecard", "select 'CF1' as measure_id, date '2023-07-01' as extract_month")
    store(spark.folder, "dim_measure", "select 'stale' as measure_id")
    target = write_build(tmp_path / "target", [SCORECARD, mart_node("dim_measure", {})], ["fct_scorecard"])
    assert bring_back(spark, working, target, JULY) == {"fct_scorecard": 1}
    assert working.execute("from main.dim_measure").fetchall() == [("old",)]


@pytest.mark.parametrize("stored, message", [
    ({"fct_scorecard": "select 'CF1' as measure_id, date '2023-06-01' as extract_month",
      "dim_measure": "select 'CF1' as measure_id"},
     "of extract month 2023-06-01, not 2023-07-01: not the build of this month"),
    ({"fct_scorecard": "select 'CF1' as measure_id, date '2023-07-01' as extract_month",
      "dim_measure": "select 'CF1' as measure_id, timestamp '2023-07-01 10:00' as loaded"},
     r"types the working warehouse does not take: \[\('dim_measure', 'loaded', 'TIMESTAMP'\)\]"),
    ({"fct_scorecard": "select 'CF1' as measure_id, date '2023-07-01' as extract_month"},
     r"main\.dim_measure has no Parquet files"),
])
def test_a_wrong_bring_back_changes_nothing(spark, working, tmp_path, stored, message):
    """Another month's scorecard (another build's), a type DuckDB's build would not give, or a mart
    missing after the build: the run stops naming it, and every mart is as it was."""
    for table, sql in stored.items():
        store(spark.folder, table, sql)
    target = write_build(tmp_path / "target", [SCORECARD, mart_node("dim_measure", {})],
                         ["fct_scorecard", "dim_measure"])
    with pytest.raises(EngineError, match=message):
        bring_back(spark, working, target, JULY)
    assert working.execute("select measure_id from main.fct_scorecard").fetchall() == [("old",)]
    assert working.execute("from main.dim_measure").fetchall() == [("old",)]


def test_a_second_spark_build_in_the_same_folder_is_refused(spark, paths):
    """Spark's local catalog takes one process at a time: a second build says why it cannot start;
    the shipped raw layer is removed when a build ends."""
    with spark:
        (spark.folder / "raw" / "raw" / "ssd_person").mkdir(parents=True)
        with pytest.raises(EngineError, match=f"another build holds {spark.folder}"):
            spark_engine.SparkBuild(paths).__enter__()
    assert not (spark.folder / "raw").exists()
    with spark:  # free again
        pass
