"""What the engine tests (test_postgres.py, test_spark.py) share: the DuckDB build every other engine
is compared with, the dbt command line, and how a build's figures are read and compared.

The reference build: extracts generated for ``months`` (one council, one scale), loaded with the real
ingest (``load_extract``) into a DuckDB warehouse, the pseudonymisation key written as the table
``private.pseudonym_key`` (on DuckDB dbt's connection holds the key in memory; on the other engines
it is a table of the target database, copied there with the raw layer), then ``dbt build`` on the
``duckdb`` target of dbt/profiles.yml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.extracts.generator import generate
from dagster_project.ingest.load import LoadResult, load_extract
from tests.pipeline_helpers import TEST_KEY

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = REPO_ROOT / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")
# dbt-spark lives in an environment of its own (make spark-env): Great Expectations, in the pipeline's,
# imports pyspark wherever it is installed
DBT_SPARK = str(REPO_ROOT / ".venv-spark" / "bin" / "dbt")
# the extract months every engine test builds (the second is built; the first is history)
MONTHS = (date(2023, 11, 1), date(2023, 12, 1))
LATEST = MONTHS[-1]
# every published figure of a measure and month
SCORECARD_SQL = ("select measure_id, month, value, numerator, denominator, availability "
                 "from main.fct_scorecard order by measure_id, month")


@dataclass(frozen=True)
class Build:
    """What one engine's build gave: every scorecard figure, the rows of every model, the child keys."""

    scorecard: dict[tuple[str, str], tuple]
    counts: dict[str, int]
    children: set[str]


def dbt_command(args: list[str], work: Path, extract_month: date, dbt: str = DBT) -> list[str]:
    """``dbt <args>`` on the project (from any folder) with its own target and log folders under ``work``."""
    return [dbt, *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps({"extract_month": extract_month.isoformat()})]


def run_dbt(args: list[str], work: Path, env: dict[str, str], extract_month: date,
            dbt: str = DBT) -> subprocess.CompletedProcess:
    """``dbt <args>`` (dbt_command) run in the project's folder; must succeed."""
    result = subprocess.run(dbt_command(args, work, extract_month, dbt), cwd=DBT_DIR, env={**os.environ, **env},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
    return result


def model_relations(work: Path) -> dict[str, tuple[str, str]]:
    """name -> (schema, alias) of every model of the project, from a build's manifest."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {n["name"]: (n["schema"], n["alias"]) for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "csc_warehouse"}


def scorecard(rows: Sequence[Sequence]) -> dict[tuple[str, str], tuple]:
    """(measure, month) -> (value as published, to one decimal; numerator; denominator; availability)."""
    out = {}
    for measure_id, month, value, numerator, denominator, availability in rows:
        figure = None if value is None else f"{float(value):.1f}"
        out[(measure_id, str(month))] = (figure, _count(numerator), _count(denominator), availability)
    return out


def _count(n) -> int | None:
    """A count as an int, whether the engine returned an int, a Decimal or a float (never a fraction)."""
    if n is None:
        return None
    assert n == int(n), f"a count that is not a whole number: {n!r}"
    return int(n)


def write_pseudonym_key(duck: duckdb.DuckDBPyConnection) -> None:
    """The key table other engines' builds read at run time (dbt/macros/pseudonymise.sql), written here
    to be copied there with the raw layer."""
    duck.execute("create schema if not exists private")
    duck.execute("create or replace table private.pseudonym_key (key varchar not null)")
    duck.execute("insert into private.pseudonym_key values (?)", [TEST_KEY])


def raw_layer(work: Path, months: Sequence[date], *, scale: float, council: str) -> tuple[Path, Path, LoadResult]:
    """The council's extracts generated for ``months`` in ``work/extracts`` and loaded with the real
    ingest into ``work/warehouse.duckdb`` (with the key table): (extracts, warehouse, the last month's load)."""
    extracts = work / "extracts"
    generate(extracts, months[0], months[-1], seed=42, scale=scale, council=council)
    db = work / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        for month in months:
            loaded = load_extract(con, extracts / f"{month:%Y-%m}", month)
        write_pseudonym_key(con)
    return extracts, db, loaded


def duckdb_reference(work: Path, months: Sequence[date], *, scale: float, council: str) -> tuple[Path, Build]:
    """The reference build in ``work``: its warehouse file (raw layer and key table included) and figures."""
    extracts, db, _ = raw_layer(work, months, scale=scale, council=council)
    shutil.rmtree(extracts)
    env = {"DBT_TARGET": "duckdb", "CSC_WAREHOUSE_DB": str(db), "CSC_PSEUDONYM_KEY": TEST_KEY}
    run_dbt(["build", "--exclude-resource-type", "unit_test"], work / "duckdb", env, months[-1])
    with duckdb.connect(str(db), read_only=True) as duck:
        build = Build(
            scorecard=scorecard(duck.execute(SCORECARD_SQL).fetchall()),
            counts={name: duck.execute(f'select count(*) from "{schema}"."{alias}"').fetchone()[0]
                    for name, (schema, alias) in model_relations(work / "duckdb").items()},
            children={r[0] for r in duck.execute("select child_key from main.dim_child").fetchall()},
        )
    return db, build


def schema_tables(duck: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables of a schema of a DuckDB warehouse, by name."""
    return [r[0] for r in duck.execute(
        "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]).fetchall()]


def assert_build_passed(log: str, results: list[dict], unit_tests: bool = True) -> dict[str, int]:
    """A build on another engine passed every node (dbt's summary line and each node's status) and
    ran the whole project: models, data tests and (unless ``unit_tests`` is false) unit tests. Its
    nodes by kind."""
    summary = [line for line in log.splitlines() if "Done. PASS=" in line][-1]
    assert " WARN=0 ERROR=0 SKIP=0 " in summary, summary
    kinds: dict[str, int] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        assert result["status"] in ("success", "pass"), (result["unique_id"], result["status"], result["message"])
    assert kinds.get("model", 0) >= 30, kinds
    assert kinds.get("test", 0) >= 40, kinds
    if unit_tests:
        assert kinds.get("unit_test", 0) >= 10, kinds
    return kinds


def assert_same_scorecard(reference: Build, other: Build, engine: str) -> None:
    """Every figure of every measure and month is the reference's (and there are figures, not only
    'no data')."""
    assert len(reference.scorecard) >= 29 * 12
    assert reference.scorecard.keys() == other.scorecard.keys()
    different = {key: (reference.scorecard[key], other.scorecard[key]) for key in reference.scorecard
                 if reference.scorecard[key] != other.scorecard[key]}
    assert not different, f"{len(different)} figures differ (duckdb, {engine}): {different}"
    assert sum(1 for v in reference.scorecard.values() if v[0] is not None) > 200
