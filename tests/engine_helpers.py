"""What the engine tests (test_postgres.py, test_spark.py) share: the DuckDB build every other engine
is compared with, the dbt command line, and how a build's figures are read and compared.

The reference build: extracts generated for ``months`` (one council, one scale), loaded with the real
ingest (``load_extract``) into a DuckDB warehouse, the pseudonymisation key written as the table
``private.pseudonym_key`` (on DuckDB dbt's connection holds the key in memory; on the other engines
it is a table of the target database, copied there with the raw layer), then ``dbt build`` on the
``duckdb`` target of dbt/profiles.yml.

The pipeline's comparison (``pipeline_homes``, ``assert_same_publication``): the same extracts run
through ``csc-warehouse run`` with the default engine and with ``$CSC_ENGINE`` set, and what the two
homes published compared: every month's files, the marts as Parquet, the analysts' warehouse (not the
docs site, whose manifest is the engine's build's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.extracts.generator import generate
from dagster_project.ingest.load import LoadResult, load_extract
from dagster_project.models.engines.common import DBT_DIR, DBT_EXECUTABLE, SPARK_DBT_EXECUTABLE
from dagster_project.published_figures import PUBLICATION_MARKER
from dagster_project.settings import HomePaths
from tests.pipeline_helpers import TEST_KEY, files_of
from tests.pipeline_helpers import generate as pipeline_generate
from tests.pipeline_helpers import run as pipeline_run

DBT = DBT_EXECUTABLE
DBT_SPARK = str(SPARK_DBT_EXECUTABLE)
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


def dbt_arguments(args: list[str], work: Path, extract_month: date) -> list[str]:
    """The arguments of ``dbt <args>`` on the project (from any folder) with its own target and log
    folders under ``work``."""
    return [*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps({"extract_month": extract_month.isoformat()})]


def dbt_command(args: list[str], work: Path, extract_month: date, dbt: str = DBT) -> list[str]:
    """``dbt <args>`` (dbt_arguments) with the dbt executable ``dbt``."""
    return [dbt, *dbt_arguments(args, work, extract_month)]


def run_dbt(args: list[str], work: Path, env: dict[str, str], extract_month: date) -> subprocess.CompletedProcess:
    """``dbt <args>`` (dbt_command) run in the project's folder; must succeed."""
    result = subprocess.run(dbt_command(args, work, extract_month), cwd=DBT_DIR, env={**os.environ, **env},
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


# --------------------------------------------------------------------------------------------
# the whole pipeline on another engine ($CSC_ENGINE): what it publishes must be what DuckDB's publishes

PIPELINE_KEY = "engine-test-key-0123456789abcdef-0123"  # the same in both homes, so child_keys agree


def pipeline_homes(root: Path, engine: str, engine_env: dict[str, str], months: Sequence[str], *,
                   council: str) -> tuple[HomePaths, HomePaths]:
    """The same extracts (``months``, YYYY-MM, of ``council`` at scale 0.05) run through the CLI as one
    backfill twice, with the same key: in home ``duckdb`` (the default engine) and in home ``engine``
    with ``$CSC_ENGINE`` and ``engine_env``. Both must publish every month."""
    extracts = root / "extracts"
    pipeline_generate(extracts, months[0], months[-1], scale=0.05, seed=11, council=council)
    homes = []
    for name, env in (("duckdb", {}), (engine, {"CSC_ENGINE": engine, **engine_env})):
        result = pipeline_run(extracts, root / name, "--from", months[0], "--to", months[-1],
                              env={"CSC_PSEUDONYM_KEY": PIPELINE_KEY, **env})
        assert result.returncode == 0, (name, result.stdout[-3000:] + result.stderr[-5000:])
        homes.append(HomePaths(root / name))
        for month in months:
            assert (homes[-1].published_dir / month / PUBLICATION_MARKER).exists(), (name, month)
    return homes[0], homes[1]


def published_warehouse(db: Path) -> dict[str, tuple]:
    """The analysts' warehouse's marts: table -> (comment, [(column, type, comment)], sorted rows)."""
    with duckdb.connect(str(db), read_only=True) as con:
        out = {}
        for table, comment in con.execute("select table_name, comment from duckdb_tables() "
                                          "where schema_name = 'main' order by 1").fetchall():
            columns = con.execute("select column_name, data_type, comment from duckdb_columns() where "
                                  "schema_name = 'main' and table_name = ? order by column_index", [table]).fetchall()
            out[table] = (comment, columns, con.execute(f'from main."{table}" order by all').fetchall())
        return out


def assert_same_publication(reference: HomePaths, other: HomePaths, months: Sequence[str], engine: str) -> None:
    """Every published file of every month (but publication.json, which names the run), the marts as
    Parquet, and every table of the analysts' warehouse with its types and documentation are the
    reference's, byte for byte and row for row."""
    for month in months:
        a = files_of(reference.published_dir / month)
        b = files_of(other.published_dir / month)
        assert set(a) == set(b) and len(a) >= 6, (month, sorted(a), sorted(b))
        different = sorted(name for name in a if a[name] != b[name] and name != PUBLICATION_MARKER)
        assert different == [], f"{month}: published files that differ on {engine}: {different}"
    a, b = files_of(reference.published_dir / "marts"), files_of(other.published_dir / "marts")
    assert set(a) == set(b) and len(a) >= 20, sorted(a)
    assert sorted(name for name in a if a[name] != b[name]) == [], f"marts' Parquet that differ on {engine}"
    ours, theirs = published_warehouse(reference.published_db), published_warehouse(other.published_db)
    assert ours.keys() == theirs.keys()
    for table in ours:
        assert ours[table][:2] == theirs[table][:2], f"{table}: comment, columns or types differ on {engine}"
        assert ours[table][2] == theirs[table][2], f"{table}: rows differ on {engine}"
    assert len(ours["fct_scorecard"][2]) >= 29 * 12


def built_by_engine(home: HomePaths) -> dict[str, int]:
    """What dbt built in a home's working warehouse, by schema: the marts only (brought back) when
    another engine built them; staging views and intermediate tables too when DuckDB did."""
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        return dict(con.execute(
            "select schema_name, count(*) from (select schema_name from duckdb_tables() union all "
            "select schema_name from duckdb_views() where not internal) "
            "where schema_name in ('main', 'staging', 'intermediate', 'reference') group by 1").fetchall())
