"""The dbt project on Spark: the same models and tests on the scale-out engine, the same figures.

dbt-spark's session method runs Spark in local mode inside the dbt process (pyspark in its own
environment, ``.venv-spark``, made by ``make spark-env``, which ``make test`` runs first; Java 17;
Debian's ``openjdk-17-jre-headless`` is installed with apt-get when ``java`` is missing and the test
runs as root, as CI does on a fresh machine). Spark keeps its tables as Parquet under
``$CSC_SPARK_DIR/warehouse`` and its catalog in a Hive metastore (Derby) beside them, so a process
sees what an earlier one built (the pipeline's runs below are processes of their own).

For each of three councils unlike each other (``midvale`` sends neither optional feature of the
contract, ``eastborough`` no ``ssd_cp_reviews``, ``kingsbay-on-sea`` both; their volumes, mixes and
file styles differ), in turn, in one Spark catalog:

1. the DuckDB reference build (tests/engine_helpers.py): two months of the council at scale 0.1
   (the Postgres test covers Bradford at full size);
2. the raw layer and the key table are written as Parquet by DuckDB and registered as Spark tables
   by the project's own ``register_parquet_tables`` operation (``dbt run-operation``), replacing
   the previous council's;
3. ``dbt build`` on target ``spark``: for the first council every model, seed, data test and unit
   test; for the others every model and data test (seeds and unit tests do not read a council's
   data);
4. every figure of ``fct_scorecard`` (value, numerator, denominator, availability of every measure
   and month), the row count of every model and every child_key, read through Spark's SQL (``dbt
   show``), must be DuckDB's; and every row of every table Spark stored (seeds, intermediate
   tables, marts), read from its Parquet by DuckDB, must be a row of DuckDB's table, and the other
   way (read before the next council's build replaces them).

Every Spark dbt command of the councils' builds runs in one process (tests/spark_dbt_session.py), so
Spark's JVM starts once for them all, not once per command.

And the whole pipeline with ``CSC_ENGINE=spark`` (models/engines/): a month of a council run through
``csc-warehouse run`` on DuckDB and, from the same extract and key, on Spark must publish the same
files, marts and analysts' warehouse.

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
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from dagster_project.models.engines.common import DBT_DIR, SPARK_DBT_EXECUTABLE, schema_tables
from dagster_project.models.engines.spark import export_parquet
from dagster_project.settings import HomePaths
from tests.apt_helpers import ensure_installed
from tests.engine_helpers import (
    LATEST,
    MONTHS,
    SCORECARD_SQL,
    Build,
    assert_build_passed,
    assert_same_publication,
    assert_same_scorecard,
    built_by_engine,
    dbt_arguments,
    duckdb_reference,
    model_relations,
    pipeline_homes,
    scorecard,
)

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.e2e]

# three councils unlike each other: midvale sends neither optional feature of the contract,
# eastborough no ssd_cp_reviews, kingsbay-on-sea both (so every 'not_available' path is compared)
COUNCILS = ("midvale", "eastborough", "kingsbay-on-sea")
SCALE = 0.1
SCHEMAS = ("raw", "private")
SPARK_PYTHON = SPARK_DBT_EXECUTABLE.parent / "python"
SESSION_SCRIPT = Path(__file__).with_name("spark_dbt_session.py")


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
    found = ensure_installed(java_version, "openjdk-17-jre-headless")
    if found is None:
        pytest.skip("Java is not installed (as root: apt-get install -y openjdk-17-jre-headless)")
    assert found >= 17, f"Spark 4 needs Java 17 or later, the PATH has Java {found}"


class SparkDbt:
    """dbt of the Spark environment (``make spark-env``, which ``make test`` runs first), every command
    in one process (tests/spark_dbt_session.py): Spark's JVM starts at the first and serves the rest.
    A context manager: the session ends with the ``with`` block (killed if the block failed)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        for needed in (SPARK_PYTHON, SPARK_DBT_EXECUTABLE):
            assert needed.exists(), f"{needed} is missing: run `make spark-env` (make test does)"
        self.log = log  # the session's own output and Spark's JVM's
        self.process = subprocess.Popen([str(SPARK_PYTHON), str(SESSION_SCRIPT), str(log)], cwd=DBT_DIR,
                                        env={**os.environ, **env}, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> SparkDbt:
        return self

    def __exit__(self, failed: type[BaseException] | None, *_) -> None:
        self.process.stdin.close()
        if failed:
            self.process.kill()
        try:
            code = self.process.wait(timeout=300)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.stdout.close()
        assert failed or code == 0, f"the Spark dbt session exited {code}: {tail(self.log)}"

    def __call__(self, args: list[str], work: Path) -> str:
        """``dbt <args>`` with its target and log folders under ``work`` (dbt_arguments); must succeed.
        What it printed."""
        work.mkdir(parents=True, exist_ok=True)
        output, errors = work / "console.log", work / "console.stderr"
        request = {"args": dbt_arguments(args, work, LATEST), "output": str(output), "errors": str(errors)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=60)
            raise AssertionError(f"the Spark dbt session ended (exit {code}) during dbt {args[0]}: {tail(self.log)}")
        answer = json.loads(line)
        assert answer["success"], (f"dbt {args[0]} failed ({answer['exception']}): {tail(output, 8000)}"
                                   f"{tail(errors)} Spark: {tail(self.log)}")
        return output.read_text()


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file (nothing when there is none)."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def show(spark: SparkDbt, sql: str, work: Path) -> list[dict]:
    """The rows of a query on the Spark build (``dbt show``, every row)."""
    return json.loads(spark(["show", "--inline", sql, "--limit", "-1", "--output", "json", "--quiet"], work))["show"]


@dataclass(frozen=True)
class CouncilBuilds:
    """One council's DuckDB reference build and Spark build."""

    duck: Build
    spark: Build
    db: Path  # the DuckDB warehouse (raw layer, key table, every model)
    stored: list[tuple[str, str]]  # (schema, table) of every table Spark stored (seeds, tables)
    stored_differences: dict[str, tuple[int, int]]  # stored_rows_differ, read before the next council
    build_log: str
    results: list[dict]  # the Spark build's run_results


def build_council(council: str, work: Path, spark: SparkDbt, spark_dir: Path, first: bool) -> CouncilBuilds:
    """Build one council on DuckDB, then on Spark (its raw layer registered over the previous
    council's), and read the Spark build back before the next council replaces it.

    The first council's build is every node of the project (models, seeds, data tests, unit tests).
    Seeds and unit tests do not depend on a council's data, so each later council's build is its
    models and data tests. Every council's row counts, figures and child keys are read through
    Spark's SQL (``dbt show``); every row of the tables Spark stored is compared with DuckDB's
    (stored_rows_differ).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    db, duck = duckdb_reference(work, MONTHS, scale=SCALE, council=council)
    timings["generate + ingest + dbt build duckdb"] = time.perf_counter() - started

    t = time.perf_counter()
    parquet = work / "parquet"
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {schema: schema_tables(con, schema) for schema in SCHEMAS}
        export_parquet(con, parquet, tables)
    args = {"root": str(parquet), "schemas": tables}
    spark(["run-operation", "register_parquet_tables", "--args", json.dumps(args)], work / "spark-load")
    timings["raw layer to spark"] = time.perf_counter() - t

    t = time.perf_counter()
    build_args = ["build"] if first else ["build", "--exclude-resource-type", "unit_test",
                                          "--exclude-resource-type", "seed"]
    build_log = spark(build_args, work / "spark-build")
    timings[" ".join(["dbt", *build_args, "spark"])] = time.perf_counter() - t

    t = time.perf_counter()
    relations = model_relations(work / "spark-build")
    counts_sql = " union all ".join(f"select '{name}' as model, count(*) as n from {schema}.{alias}"
                                    for name, (schema, alias) in sorted(relations.items()))
    counts = {row["model"]: row["n"] for row in show(spark, counts_sql, work / "spark-show")}
    figures = [tuple(row.values()) for row in show(spark, SCORECARD_SQL, work / "spark-show")]
    children = {row["child_key"] for row in show(spark, "select child_key from main.dim_child", work / "spark-show")}
    built = Build(scorecard=scorecard(figures), counts=counts, children=children)
    timings["read back"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    print(f"spark portability timings, {council} (s):", {k: round(v, 1) for k, v in timings.items()})
    manifest = json.loads((work / "spark-build" / "target" / "manifest.json").read_text())
    stored_tables = [(n["schema"], n["alias"]) for n in manifest["nodes"].values()
                     if n["package_name"] == "csc_warehouse"
                     and (n["resource_type"] == "seed" or n["config"].get("materialized") == "table")]
    return CouncilBuilds(
        duck=duck, spark=built, db=db, stored=stored_tables, build_log=build_log,
        stored_differences=stored_rows_differ(db, stored_tables, spark_dir),
        results=json.loads((work / "spark-build" / "target" / "run_results.json").read_text())["results"],
    )


@pytest.fixture(scope="module")
def spark_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark-state")


@pytest.fixture(scope="module")
def started() -> float:
    return time.time()


@pytest.fixture(scope="module")
def builds(tmp_path_factory, spark_dir, started) -> Iterator[dict[str, CouncilBuilds]]:
    """Each council built in turn in one Spark catalog (build_council)."""
    ensure_java()
    out = {}
    with SparkDbt({"DBT_TARGET": "spark", "CSC_SPARK_DIR": str(spark_dir)}, spark_dir / "session.log") as spark:
        for council in COUNCILS:
            out[council] = build_council(council, tmp_path_factory.mktemp(council), spark, spark_dir,
                                         first=not out)
    yield out


def stored_rows_differ(db: Path, stored: list[tuple[str, str]], spark_dir: Path) -> dict[str, tuple[int, int]]:
    """The tables Spark stored whose rows are not DuckDB's: (rows only in DuckDB's, only in Spark's),
    each compared with EXCEPT ALL both ways (every column; duplicates counted)."""
    different = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, table in stored:
            files = spark_dir / "warehouse" / f"{schema}.db" / table / "*.parquet"
            ours, spark = f'"{schema}"."{table}"', f"read_parquet('{files}')"
            only_duckdb = con.execute(f"select count(*) from (from {ours} except all from {spark})").fetchone()[0]
            only_spark = con.execute(f"select count(*) from (from {spark} except all from {ours})").fetchone()[0]
            if only_duckdb or only_spark:
                different[f"{schema}.{table}"] = (only_duckdb, only_spark)
    return different


def test_spark_build_passes_every_test(builds):
    first, *others = COUNCILS
    kinds = assert_build_passed(builds[first].build_log, builds[first].results)
    assert kinds.get("seed", 0) >= 5, kinds
    for council in others:  # models and data tests
        kinds = assert_build_passed(builds[council].build_log, builds[council].results, unit_tests=False)
        assert set(kinds) == {"model", "test"}, (council, kinds)


def test_spark_keeps_its_state_in_its_folder(builds, spark_dir, started):
    """Tables, catalog and Derby's log under $CSC_SPARK_DIR; nothing written into the dbt project."""
    assert (spark_dir / "metastore_db").is_dir()
    assert (spark_dir / "derby.log").is_file()
    assert (spark_dir / "warehouse" / "main.db" / "fct_scorecard").is_dir()
    for stray in ("metastore_db", "derby.log", "spark-warehouse"):
        path = DBT_DIR / stray
        assert not path.exists() or path.stat().st_mtime < started, f"Spark wrote {path}"


@pytest.mark.parametrize("council", COUNCILS)
def test_every_scorecard_figure_is_the_same(builds, council):
    built = builds[council]
    assert_same_scorecard(built.duck, built.spark, f"spark, {council}")
    # a council without an optional feature: the figures that need it are 'not_available' on both
    if council != "kingsbay-on-sea":
        assert any(v[3] == "not_available" for v in built.duck.scorecard.values())


def test_the_councils_differ(builds):
    """Three councils, three sets of figures and sizes (a test of one council thrice would pass)."""
    scorecards = [frozenset(builds[c].duck.scorecard.items()) for c in COUNCILS]
    assert len(set(scorecards)) == len(COUNCILS)
    assert len({builds[c].duck.counts["fct_contacts"] for c in COUNCILS}) == len(COUNCILS)
    features = {c: {v[3] for v in builds[c].duck.scorecard.values()} for c in COUNCILS}
    assert "not_available" not in features["kingsbay-on-sea"], features


@pytest.mark.parametrize("council", COUNCILS)
def test_every_model_has_the_same_rows(builds, council):
    assert builds[council].duck.counts == builds[council].spark.counts
    assert builds[council].duck.counts["fct_contacts"] > 2_000


@pytest.mark.parametrize("council", COUNCILS)
def test_every_stored_table_has_duckdbs_rows(builds, council):
    """Every row of every table Spark stored (seeds, intermediate tables, marts), as Spark wrote it
    (its Parquet, read by DuckDB), is a row of DuckDB's table, as many times, and the other way:
    every column of every fact, not only the figures."""
    assert len(builds[council].stored) >= 30, builds[council].stored
    assert not builds[council].stored_differences, (
        f"rows only in DuckDB's, only in Spark's table: {builds[council].stored_differences}")


@pytest.mark.parametrize("council", COUNCILS)
def test_children_are_pseudonymised_the_same_way(builds, council):
    """The same child_key on both engines: a region moving to Spark keeps every join and history."""
    assert len(builds[council].duck.children) > 1_000
    assert builds[council].duck.children == builds[council].spark.children


# --------------------------------------------------------------------------------------------
# the whole pipeline with CSC_ENGINE=spark

PIPELINE_MONTHS = ("2023-07",)  # one month: each Spark build is about two minutes here


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> tuple[HomePaths, HomePaths]:
    """A month of kingsbay-on-sea through ``run`` on DuckDB and, from the same extract and key, with
    ``CSC_ENGINE=spark`` (Spark's folder in the home's private zone, the default)."""
    ensure_java()
    return pipeline_homes(tmp_path_factory.mktemp("pipeline"), "spark", {}, PIPELINE_MONTHS,
                          council="kingsbay-on-sea")


def test_the_pipeline_on_spark_publishes_what_duckdb_publishes(pipeline):
    """Every published file, the marts as Parquet and the analysts' warehouse (rows, types and
    documentation) are DuckDB's."""
    duck, spark_home = pipeline
    assert_same_publication(duck, spark_home, PIPELINE_MONTHS, "spark")


def test_the_models_were_built_in_spark_which_keeps_no_raw_record_or_key(pipeline):
    """Spark's folder (in the home's private zone) holds every layer's tables, and neither the raw
    layer nor the key once the build is over; the working warehouse only the marts brought back."""
    duck, spark_home = pipeline
    folder = spark_home.private_dir / "spark"
    for schema in ("main", "intermediate", "reference"):
        assert len(list((folder / "warehouse" / f"{schema}.db").iterdir())) >= 5, schema
    assert not (folder / "raw").exists()
    assert (folder / "metastore_db").is_dir()
    assert built_by_engine(spark_home) == {"main": built_by_engine(duck)["main"]}
