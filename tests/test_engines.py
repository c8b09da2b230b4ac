"""Choosing the engine dbt builds on ($CSC_ENGINE), and bringing the marts back, without a server.

The whole pipeline on PostgreSQL and on Spark is tested end to end in test_postgres.py and
test_spark.py; here: the settings, the refusals, which relations come back, and the Spark
bring-back from Parquet folders laid out as Spark stores them.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dagster_project.models import engines
from dagster_project.models.dbt import dbt_project, dbt_resource
from dagster_project.models.engines import EngineError, bring_back_marts, engine_env, mart_relations
from dagster_project.settings import ENGINE_ENV, HomePaths, engine_from_env


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
    for name in engines.POSTGRES_REQUIRED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGHOST", "db.example.internal")
    with pytest.raises(EngineError, match=r"set \$PGUSER, \$PGDATABASE"):
        engine_env("postgres", paths)
    monkeypatch.setenv("PGUSER", "csc")
    monkeypatch.setenv("PGDATABASE", "csc_warehouse")
    assert engine_env("postgres", paths) == {"DBT_TARGET": "postgres"}


def test_spark_keeps_its_folder_in_the_private_zone_unless_told(monkeypatch, paths, tmp_path):
    monkeypatch.delenv(engines.SPARK_DIR_ENV, raising=False)
    assert engine_env("spark", paths) == {"DBT_TARGET": "spark", "CSC_SPARK_DIR": str(paths.private_dir / "spark")}
    monkeypatch.setenv(engines.SPARK_DIR_ENV, str(tmp_path / "cluster-share"))
    assert engine_env("spark", paths)["CSC_SPARK_DIR"] == str(tmp_path / "cluster-share")


def test_spark_without_its_environment_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(engines, "SPARK_DBT_EXECUTABLE", tmp_path / "no-venv" / "bin" / "dbt")
    with pytest.raises(EngineError, match="make spark-env"):
        engines.dbt_executable("spark")
    assert engines.dbt_executable("postgres") == engines.DBT_EXECUTABLE


def test_the_dbt_resource_builds_on_the_engines_target():
    assert dbt_resource("postgres").target == "postgres"
    assert dbt_resource().target == "duckdb"


def project_manifest() -> dict:
    return json.loads(Path(dbt_project.manifest_path).read_text())


def test_the_marts_brought_back_are_the_marts_layers_tables():
    """Every model under models/marts (what publish copies), none of staging or intermediate, and
    not the region's benchmark (disabled in a council's build)."""
    marts = mart_relations(project_manifest())
    in_folder = {p.stem for p in (engines.DBT_DIR / "models" / "marts").rglob("*.sql")}
    assert set(marts) == in_folder and len(marts) >= 20
    assert {schema for schema, _ in marts.values()} == {"main"}
    assert "fct_scorecard_benchmark" not in marts


def spark_manifest(columns: dict[str, str]) -> dict:
    """A manifest of one mart, fct_scorecard, documented as dbt writes it."""
    node = {"resource_type": "model", "package_name": "csc_warehouse", "name": "fct_scorecard",
            "fqn": ["csc_warehouse", "marts", "scorecard", "fct_scorecard"], "schema": "main",
            "alias": "fct_scorecard", "config": {"materialized": "table", "enabled": True},
            "description": "One row per measure and month (it's the scorecard).",
            "columns": {name: {"name": name, "description": text} for name, text in columns.items()}}
    return {"nodes": {"model.csc_warehouse.fct_scorecard": node}}


def test_spark_marts_come_back_with_their_rows_and_documentation(paths, tmp_path, monkeypatch):
    monkeypatch.delenv(engines.SPARK_DIR_ENV, raising=False)
    stored = paths.private_dir / "spark" / "warehouse" / "main.db" / "fct_scorecard"
    stored.mkdir(parents=True)
    duckdb.sql(f"copy (select * from (values ('CF1', 41.5), ('CF2', null)) as t(measure_id, value)) "
               f"to '{stored / 'part-00000.parquet'}' (format parquet)")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(spark_manifest({"measure_id": "The measure.", "value": "", "gone": "x"})))
    with duckdb.connect(str(tmp_path / "work.duckdb")) as con:
        con.execute("create table main.fct_scorecard as select 'old' as measure_id")  # replaced
        assert bring_back_marts("spark", con, manifest, paths, tmp_path / "scratch") == {"fct_scorecard": 2}
        assert con.execute("from main.fct_scorecard order by all").fetchall() == [("CF1", 41.5), ("CF2", None)]
        assert con.execute("select comment from duckdb_tables() where table_name = 'fct_scorecard'"
                           ).fetchone()[0] == "One row per measure and month (it's the scorecard)."
        assert con.execute("select column_name, comment from duckdb_columns() where table_name = 'fct_scorecard' "
                           "order by column_index").fetchall() == [("measure_id", "The measure."), ("value", "")]


def test_a_mart_missing_from_spark_stops_the_run_naming_it(paths, tmp_path, monkeypatch):
    monkeypatch.delenv(engines.SPARK_DIR_ENV, raising=False)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(spark_manifest({})))
    with duckdb.connect(str(tmp_path / "work.duckdb")) as con:
        con.execute("create table main.fct_scorecard as select 'kept' as measure_id")
        with pytest.raises(EngineError, match=r"main\.fct_scorecard has no Parquet files"):
            bring_back_marts("spark", con, manifest, paths, tmp_path / "scratch")
        assert con.execute("from main.fct_scorecard").fetchall() == [("kept",)]  # as it was
