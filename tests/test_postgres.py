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
   into Postgres (DuckDB writes CSV, Postgres ``COPY`` reads it: the loader lives here, not in
   the models);
4. the same dbt project is built on Postgres (target ``postgres`` of dbt/profiles.yml, unchanged
   models, every data test and unit test);
5. every figure of ``fct_scorecard`` (value, numerator, denominator, availability of every
   measure and month), the row count of every model and every child_key must be the same on
   both engines.

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

from tests.engine_helpers import (
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

pytestmark = [pytest.mark.xdist_group("postgres"), pytest.mark.e2e]

DATABASE = "csc_warehouse"
PG_TYPES = {"VARCHAR": "text", "DOUBLE": "double precision", "JSON": "json"}


# --------------------------------------------------------------------------------------------
# a throw-away PostgreSQL server


def postgres_bin() -> Path:
    """The directory of PostgreSQL's server programs, installing Debian's package if needed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("PostgreSQL is not installed (as root: apt-get install -y postgresql)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env,
                       capture_output=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


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
# the raw layer, DuckDB -> Postgres


def copy_schema(duck: duckdb.DuckDBPyConnection, pg, schema: str, scratch: Path) -> dict[str, int]:
    """Every table of a DuckDB schema into the same schema of Postgres, same columns and types."""
    tables = schema_tables(duck, schema)
    copied = {}
    with pg.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        for table in tables:
            columns = duck.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = ? "
                "and table_name = ? order by column_index", [schema, table]).fetchall()
            ddl = ", ".join(f'"{name}" {PG_TYPES.get(kind, kind.lower())}' for name, kind in columns)
            cur.execute(f'drop table if exists {schema}."{table}"')
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


# --------------------------------------------------------------------------------------------
# building both


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("postgres")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    server = PostgresServer(postgres_bin())
    server.start()
    try:
        timings["postgres start"] = time.perf_counter() - started
        t = time.perf_counter()
        db, duck = duckdb_reference(work, MONTHS, scale=1.0, council="bradford")
        timings["generate + ingest + dbt build duckdb"] = time.perf_counter() - t

        t = time.perf_counter()
        admin = server.connect()
        admin.cursor().execute(f"create database {DATABASE}")
        admin.close()
        pg = server.connect(DATABASE)
        with duckdb.connect(str(db), read_only=True) as con:
            copied = copy_schema(con, pg, "raw", work)
            copy_schema(con, pg, "private", work)
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
        yield {
            "copied": copied,
            "duck": duck,
            "pg": Build(scorecard=pg_scorecard, counts=pg_counts, children=pg_children),
            "pg_build_log": pg_result.stdout,
            "pg_results": json.loads((work / "postgres" / "target" / "run_results.json").read_text())[
                "results"],
        }
    finally:
        server.stop()


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
