"""The dbt project on PostgreSQL: the same models and tests, a second engine, the same figures.

A real PostgreSQL server (Debian's ``postgresql`` package; installed here with apt-get when it is
missing and the test runs as root, as CI does on a fresh machine) is started on a free loopback
port in a private data directory and stopped at the end. Then:

1. extracts are generated with the demo's settings (seed 42, scale 1: Bradford) for two months and
   loaded with the real ingest (``load_extract``) into a DuckDB warehouse;
2. the dbt project is built there (target ``duckdb``) for the latest month;
3. the raw layer (every table of schema ``raw``) and the pseudonymisation key table
   (``private.pseudonym_key``: on Postgres the key is a table of the target database; on DuckDB
   dbt's connection holds it in memory, from ``$CSC_PSEUDONYM_KEY``) are copied as they are
   into Postgres (DuckDB writes CSV, Postgres ``COPY`` reads it: the pipeline's own
   ``copy_schema_to_postgres``);
4. the same dbt project is built on Postgres (target ``postgres`` of dbt/profiles.yml, unchanged
   models, every data test and unit test);
5. every figure of ``fct_scorecard`` (value, numerator, denominator, availability of every
   measure and month), the row count of every model and every child_key must be the same on
   both engines.

And the whole pipeline with ``CSC_ENGINE=postgres`` (models/engines/): two months of a council run
through ``csc-warehouse run`` on DuckDB and, from the same extracts and key, on Postgres (a database of
its own on the same server) must publish the same files, marts and analysts' warehouse.

docs/scaling.md says how a region runs the warehouse on Postgres.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dagster_project.models.engines.common import EngineError, schema_tables
from dagster_project.models.engines.postgres import PostgresBuild, copy_schema_to_postgres
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
    duckdb_reference,
    model_relations,
    pipeline_homes,
    run_dbt,
    scorecard,
)

pytestmark = [pytest.mark.xdist_group("postgres"), pytest.mark.e2e]

DATABASE = "csc_warehouse"


# --------------------------------------------------------------------------------------------
# a throw-away PostgreSQL server


def postgres_bin() -> Path:
    """The directory of PostgreSQL's server programs, installing Debian's package if needed."""
    def find() -> Path | None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        return Path(found[-1]).parent if found else None

    found = ensure_installed(find, "postgresql")
    if found is None:
        pytest.skip("PostgreSQL is not installed (as root: apt-get install -y postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl in a private directory (as user postgres when run as root: initdb refuses root)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="csc-postgres-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o755)

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale", "C")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=20 "
                   "-c shared_buffers=256MB -c work_mem=64MB")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, dbname: str = "postgres"):
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname)
        con.autocommit = True
        return con

    def env(self) -> dict[str, str]:
        """libpq's variables, which dbt/profiles.yml's postgres target reads."""
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres", "PGPASSWORD": "",
                "PGDATABASE": DATABASE}


# --------------------------------------------------------------------------------------------
# building both


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """One server for the module: each test's work has a database of its own."""
    running = PostgresServer(postgres_bin())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def create_database(server: PostgresServer, name: str) -> None:
    admin = server.connect()
    admin.cursor().execute(f"create database {name}")
    admin.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory, server) -> dict:
    work = tmp_path_factory.mktemp("postgres")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    db, duck = duckdb_reference(work, MONTHS, scale=1.0, council="bradford")
    timings["generate + ingest + dbt build duckdb"] = time.perf_counter() - started

    t = time.perf_counter()
    create_database(server, DATABASE)
    pg = server.connect(DATABASE)
    with duckdb.connect(str(db), read_only=True) as con:
        copied = copy_schema_to_postgres(con, pg, "raw", schema_tables(con, "raw"), work)
        copy_schema_to_postgres(con, pg, "private", schema_tables(con, "private"), work)
    timings["copy raw to postgres"] = time.perf_counter() - t

    t = time.perf_counter()
    pg_result = run_dbt(["build"], work / "postgres", {"DBT_TARGET": "postgres", **server.env()}, LATEST)
    timings["dbt build postgres"] = time.perf_counter() - t

    with pg.cursor() as cur:
        cur.execute(SCORECARD_SQL)
        pg_scorecard = scorecard(cur.fetchall())
        pg_counts = {}
        for name, (schema, alias) in model_relations(work / "postgres").items():
            cur.execute(f'select count(*) from "{schema}"."{alias}"')
            pg_counts[name] = cur.fetchone()[0]
        cur.execute("select child_key from main.dim_child")
        pg_children = {r[0] for r in cur.fetchall()}
    pg.close()
    timings["total"] = time.perf_counter() - started
    print("postgres portability timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {
        "copied": copied,
        "duck": duck,
        "pg": Build(scorecard=pg_scorecard, counts=pg_counts, children=pg_children),
        "pg_build_log": pg_result.stdout,
        "pg_results": json.loads((work / "postgres" / "target" / "run_results.json").read_text())["results"],
    }


def test_raw_layer_copied(builds):
    assert builds["copied"]["ssd_contacts"] > 100_000
    assert builds["copied"]["extracts"] == len(MONTHS)


def test_postgres_build_passes_every_test(builds):
    assert_build_passed(builds["pg_build_log"], builds["pg_results"])


def test_every_scorecard_figure_is_the_same(builds):
    assert_same_scorecard(builds["duck"], builds["pg"], "postgres")


def test_every_model_has_the_same_rows(builds):
    assert builds["duck"].counts == builds["pg"].counts
    assert builds["duck"].counts["fct_contacts"] > 100_000


def test_children_are_pseudonymised_the_same_way(builds):
    """The same child_key on both engines: a region moving engine keeps every join and history."""
    assert len(builds["duck"].children) > 50_000
    assert builds["duck"].children == builds["pg"].children


# --------------------------------------------------------------------------------------------
# the whole pipeline with CSC_ENGINE=postgres

PIPELINE_MONTHS = ("2023-06", "2023-07")
PIPELINE_DATABASE = "csc_pipeline"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, server) -> tuple[HomePaths, HomePaths, dict]:
    """Two months of eastborough through ``run`` on DuckDB and, from the same extracts and key, with
    ``CSC_ENGINE=postgres`` (a database of its own); then what the models left in Postgres."""
    create_database(server, PIPELINE_DATABASE)
    env = {**server.env(), "PGDATABASE": PIPELINE_DATABASE}
    duck, pg_home = pipeline_homes(tmp_path_factory.mktemp("pipeline"), "postgres", env, PIPELINE_MONTHS,
                                   council="eastborough")
    pg = server.connect(PIPELINE_DATABASE)
    try:
        with pg.cursor() as cur:
            cur.execute("select table_schema, count(*) from information_schema.tables "
                        "where table_schema not in ('pg_catalog', 'information_schema') group by 1")
            in_postgres = dict(cur.fetchall())
            cur.execute("select max(extract_month) from main.fct_scorecard")
            in_postgres["latest"] = str(cur.fetchone()[0])
    finally:
        pg.close()
    return duck, pg_home, in_postgres


def test_the_pipeline_on_postgres_publishes_what_duckdb_publishes(pipeline):
    """Every published file, the marts as Parquet and the analysts' warehouse (rows, types and
    documentation) of both months are DuckDB's."""
    duck, pg_home, _ = pipeline
    assert_same_publication(duck, pg_home, PIPELINE_MONTHS, "postgres")


def test_the_models_were_built_in_postgres_which_keeps_no_raw_record_or_key(pipeline):
    """Postgres holds every layer of the models the builds made (the latest month's), and neither the
    raw layer nor the key: both leave it after each build (with the staging views on the raw layer).
    The working warehouse holds only the marts brought back (no staging view or intermediate table
    was built there)."""
    duck, pg_home, in_postgres = pipeline
    assert in_postgres["latest"] == f"{PIPELINE_MONTHS[-1]}-01"
    assert in_postgres["intermediate"] >= 10 and in_postgres["main"] >= 20 and in_postgres["reference"] >= 5
    assert "raw" not in in_postgres and "staging" not in in_postgres and "private" not in in_postgres
    assert built_by_engine(pg_home) == {"main": built_by_engine(duck)["main"]}
    assert built_by_engine(duck)["staging"] >= 10


def test_a_second_build_in_the_same_database_is_refused(server, tmp_path, monkeypatch):
    """Two warehouses configured with one database would overwrite each other's raw layer and marts:
    while one build holds the database, another stops, naming it."""
    create_database(server, "csc_lock")
    for name, value in {**server.env(), "PGDATABASE": "csc_lock"}.items():
        monkeypatch.setenv(name, value)
    with PostgresBuild(tmp_path / "one"), pytest.raises(EngineError, match="another build holds database csc_lock"):
        PostgresBuild(tmp_path / "two").__enter__()
    with PostgresBuild(tmp_path / "three"):  # released at the end of the first
        pass
