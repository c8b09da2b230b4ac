"""The dbt project on Spark: the same models and tests on the scale-out engine, the same figures.

dbt-spark's session method runs Spark in local mode inside the dbt process (pyspark in its own
environment, ``.venv-spark``, made by ``make spark-env``, which ``make test`` runs first; Java 17;
Debian's ``openjdk-17-jre-headless`` is installed with apt-get when ``java`` is missing and the test
runs as root, as CI does on a fresh machine). Spark keeps its tables as Parquet under
``$CSC_SPARK_DIR/warehouse`` and its catalog in a Hive metastore (Derby) beside them, so each dbt
command (a new process) sees what the previous one built. Then:

1. the DuckDB reference build (tests/engine_helpers.py): two months of ``midvale``, a council whose
   extracts have neither optional feature (so 'not_available' figures are compared too), at scale
   0.1; the Postgres test covers Bradford at full size;
2. the raw layer and the key table are written as Parquet by DuckDB and registered as Spark tables
   by the project's own ``register_parquet_tables`` operation (``dbt run-operation``);
3. ``dbt build`` on target ``spark`` (every model, data test and unit test);
4. every figure of ``fct_scorecard`` (value, numerator, denominator, availability of every measure
   and month), the row count of every model and every child_key must be DuckDB's, read back with
   ``dbt show``; and every row of every table Spark stored (seeds, intermediate tables, marts), read
   from its Parquet by DuckDB, must be a row of DuckDB's table, and the other way.

docs/scaling.md says how a region runs the models on a Spark cluster or Databricks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.engine_helpers import (
    DBT_DIR,
    DBT_SPARK,
    LATEST,
    MONTHS,
    SCORECARD_SQL,
    Build,
    assert_build_passed,
    assert_same_scorecard,
    duckdb_reference,
    model_relations,
    run_dbt,
    schema_tables,
    scorecard,
)

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.e2e]

COUNCIL = "midvale"
SCALE = 0.1
SCHEMAS = ("raw", "private")


def java_version() -> int | None:
    """The major version of the `java` on the PATH (None when there is none)."""
    if not shutil.which("java"):
        return None
    out = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    assert match, f"unreadable java -version: {out}"
    return int(match.group(1))


def ensure_java() -> None:
    """Spark 4 needs Java 17 or later: Debian's, installed when missing (as root, as in CI)."""
    found = java_version()
    if found is not None:
        assert found >= 17, f"Spark 4 needs Java 17 or later, the PATH has Java {found}"
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Java is not installed (as root: apt-get install -y openjdk-17-jre-headless)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "openjdk-17-jre-headless"], check=True, env=env,
                   capture_output=True)


def export_parquet(db: Path, root: Path) -> dict[str, list[str]]:
    """Every table of the raw and private schemas as a folder of Parquet, <root>/<schema>/<table>/."""
    tables = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for schema in SCHEMAS:
            tables[schema] = schema_tables(con, schema)
            for table in tables[schema]:
                folder = root / schema / table
                folder.mkdir(parents=True)
                con.execute(f"copy {schema}.\"{table}\" to '{folder / 'part-0.parquet'}' (format parquet)")
    return tables


def spark_dbt(args: list[str], work: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """dbt of the Spark environment (``make spark-env``, which ``make test`` runs first)."""
    assert Path(DBT_SPARK).exists(), f"{DBT_SPARK} is missing: run `make spark-env` (make test does)"
    return run_dbt(args, work, env, LATEST, dbt=DBT_SPARK)


def show(sql: str, work: Path, env: dict[str, str]) -> list[dict]:
    """The rows of a query on the Spark build (``dbt show``, every row)."""
    result = spark_dbt(["show", "--inline", sql, "--limit", "-1", "--output", "json", "--quiet"], work, env)
    return json.loads(result.stdout)["show"]


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Iterator[dict]:
    ensure_java()
    work = tmp_path_factory.mktemp("spark")
    started_at = time.time()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    db, duck = duckdb_reference(work, MONTHS, scale=SCALE, council=COUNCIL)
    timings["generate + ingest + dbt build duckdb"] = time.perf_counter() - started

    t = time.perf_counter()
    env = {"DBT_TARGET": "spark", "CSC_SPARK_DIR": str(work / "spark")}
    parquet = work / "parquet"
    tables = export_parquet(db, parquet)
    args = {"root": str(parquet), "schemas": tables}
    spark_dbt(["run-operation", "register_parquet_tables", "--args", json.dumps(args)], work / "spark-load", env)
    timings["raw layer to spark"] = time.perf_counter() - t

    t = time.perf_counter()
    build = spark_dbt(["build"], work / "spark-build", env)
    timings["dbt build spark"] = time.perf_counter() - t

    t = time.perf_counter()
    relations = model_relations(work / "spark-build")
    counts_sql = " union all ".join(f"select '{name}' as model, count(*) as n from {schema}.{alias}"
                                    for name, (schema, alias) in sorted(relations.items()))
    spark = Build(
        scorecard=scorecard([tuple(row.values()) for row in show(SCORECARD_SQL, work / "spark-show", env)]),
        counts={row["model"]: row["n"] for row in show(counts_sql, work / "spark-show", env)},
        children={row["child_key"] for row in show("select child_key from main.dim_child", work / "spark-show",
                                                   env)},
    )
    timings["read back"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    print("spark portability timings (s):", {k: round(v, 1) for k, v in timings.items()})
    yield {
        "duck": duck,
        "spark": spark,
        "spark_dir": work / "spark",
        "db": db,
        "manifest": json.loads((work / "spark-build" / "target" / "manifest.json").read_text()),
        "started": started_at,
        "build_log": build.stdout,
        "results": json.loads((work / "spark-build" / "target" / "run_results.json").read_text())["results"],
    }


def test_spark_build_passes_every_test(builds):
    kinds = assert_build_passed(builds["build_log"], builds["results"])
    assert kinds.get("seed", 0) >= 5, kinds


def test_spark_keeps_its_state_in_its_folder(builds):
    """Tables, catalog and Derby's log under $CSC_SPARK_DIR; nothing written into the dbt project."""
    spark_dir = builds["spark_dir"]
    assert (spark_dir / "metastore_db").is_dir()
    assert (spark_dir / "derby.log").is_file()
    assert (spark_dir / "warehouse" / "main.db" / "fct_scorecard").is_dir()
    for stray in ("metastore_db", "derby.log", "spark-warehouse"):
        path = DBT_DIR / stray
        assert not path.exists() or path.stat().st_mtime < builds["started"], f"Spark wrote {path}"


def test_every_scorecard_figure_is_the_same(builds):
    assert_same_scorecard(builds["duck"], builds["spark"], "spark")
    # midvale has neither optional feature: the figures that need one are 'not_available' on both
    assert any(v[3] == "not_available" for v in builds["duck"].scorecard.values())


def test_every_model_has_the_same_rows(builds):
    assert builds["duck"].counts == builds["spark"].counts
    assert builds["duck"].counts["fct_contacts"] > 5_000


def test_every_stored_table_has_duckdbs_rows(builds):
    """Every row of every table Spark stored (seeds, intermediate tables, marts), as Spark wrote it
    (its Parquet, read by DuckDB), is a row of DuckDB's table, as many times, and the other way:
    every column of every fact, not only the figures."""
    stored = [(n["schema"], n["alias"]) for n in builds["manifest"]["nodes"].values()
              if n["package_name"] == "csc_warehouse"
              and (n["resource_type"] == "seed" or n["config"].get("materialized") == "table")]
    assert len(stored) >= 30, stored
    different = {}
    with duckdb.connect(str(builds["db"]), read_only=True) as con:
        for schema, table in stored:
            files = builds["spark_dir"] / "warehouse" / f"{schema}.db" / table / "*.parquet"
            ours, spark = f'"{schema}"."{table}"', f"read_parquet('{files}')"
            only_duckdb = con.execute(f"select count(*) from (from {ours} except all from {spark})").fetchone()[0]
            only_spark = con.execute(f"select count(*) from (from {spark} except all from {ours})").fetchone()[0]
            if only_duckdb or only_spark:
                different[f"{schema}.{table}"] = (only_duckdb, only_spark)
    assert not different, f"rows only in DuckDB's, only in Spark's table: {different}"


def test_children_are_pseudonymised_the_same_way(builds):
    """The same child_key on both engines: a region moving to Spark keeps every join and history."""
    assert len(builds["duck"].children) > 5_000
    assert builds["duck"].children == builds["spark"].children
