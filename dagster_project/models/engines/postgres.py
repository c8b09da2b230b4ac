"""A month's build on PostgreSQL: the database of libpq's environment (``PGHOST``, ``PGUSER``,
``PGDATABASE`` required; ``PGPORT``, ``PGPASSWORD`` or ``~/.pgpass``, ``PGSSLMODE``), the one
dbt/profiles.yml's ``postgres`` target builds in.

* **lock**: a session advisory lock of the database, held from shipping to cleaning, so two
  warehouses configured with the same database cannot interleave (the second stops, saying so);
* **ship**: each raw table as DuckDB's CSV, read by ``COPY ... FROM STDIN``, and the key by the same
  COPY (never in a statement's text, so never in ``pg_stat_activity`` or the server's log), in one
  transaction: a failed ship leaves the database as it was;
* **copy back**: each mart by ``COPY (SELECT ...) TO STDOUT``, read by DuckDB with each column's
  type mapped (a type the mapping does not know stops the run);
* **clean**: the raw layer and the key are dropped again (the staging views on them go with them;
  the next build makes them again), so between builds the database holds only the models' tables,
  whose children are pseudonymised.

A connection to a host other than this machine must be encrypted (``PGSSLMODE`` require or
verify-*): the raw layer holds children's records. Errors name the table, never a value: the
server's messages for a failed COPY quote the row, so they are not passed on.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb

from dagster_project.models.engines.common import KEY_TABLE, MARTS_SCHEMA, RAW_SCHEMA, EngineError, schema_tables
from dagster_project.pseudonym import Key
from dagster_project.warehouse_sql import sql_literal

# libpq's variables that dbt/profiles.yml's postgres target and this module's connection both read;
# required, so that the two cannot fall back to different defaults
REQUIRED_ENV = ("PGHOST", "PGUSER", "PGDATABASE")
ENCRYPTED = ("require", "verify-ca", "verify-full")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
LOCK_ID = 0x637363_7761726568  # "cscwareh": the advisory lock of a build in the database
# DuckDB's type of a raw column -> Postgres's (the others are spelled the same in both)
DUCKDB_TO_POSTGRES = {"VARCHAR": "text", "DOUBLE": "double precision", "JSON": "json"}
# Postgres's type of a mart column -> DuckDB's: every type the marts have there
POSTGRES_TO_DUCKDB = {"text": "VARCHAR", "character varying": "VARCHAR", "bigint": "BIGINT",
                      "integer": "INTEGER", "double precision": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}


def check_settings(environ: dict[str, str] | os._Environ) -> None:
    """The connection settings a build needs, and encryption to any other machine (EngineError)."""
    missing = [name for name in REQUIRED_ENV if not environ.get(name)]
    if missing:
        raise EngineError(f"$CSC_ENGINE=postgres: set {', '.join('$' + m for m in missing)} (libpq's variables, "
                          "with PGPORT and PGPASSWORD or ~/.pgpass) to the database the models build in")
    host = environ["PGHOST"]
    if not (host in LOCAL_HOSTS or host.startswith("/")) and environ.get("PGSSLMODE") not in ENCRYPTED:
        raise EngineError(f"$PGHOST={host} is another machine: set $PGSSLMODE to one of {', '.join(ENCRYPTED)} "
                          "(the raw layer holds children's records)")


def connect():
    """A connection to the build's database (libpq's environment), dates and text as DuckDB reads them."""
    import psycopg2  # dbt-postgres's driver, installed with it

    return psycopg2.connect("", options="-c datestyle=ISO,YMD -c client_encoding=UTF8")


def copy_schema_to_postgres(duck: duckdb.DuckDBPyConnection, pg, schema: str, tables: list[str],
                            scratch: Path) -> dict[str, int]:
    """Tables of a DuckDB schema into the same schema of Postgres, same columns and types, in the
    caller's transaction: table -> rows there. Each replaces its namesake, and the views on it (the
    staging models, which every build makes again)."""
    import psycopg2

    copied = {}
    with pg.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        for table in tables:
            columns = duck.execute(
                "select column_name, data_type from duckdb_columns() where database_name = current_database() "
                "and schema_name = ? and table_name = ? order by column_index", [schema, table]).fetchall()
            ddl = ", ".join(f'"{name}" {DUCKDB_TO_POSTGRES.get(kind, kind.lower())}' for name, kind in columns)
            csv_file = scratch / f"{schema}.{table}.csv"
            duck.execute(f'copy {schema}."{table}" to {sql_literal(str(csv_file))} (format csv, header false)')
            try:
                cur.execute(f'drop table if exists {schema}."{table}" cascade')
                cur.execute(f'create table {schema}."{table}" ({ddl})')
                with csv_file.open("rb") as f:
                    cur.copy_expert(f'copy {schema}."{table}" from stdin with (format csv)', f)
            except psycopg2.Error as e:  # its message quotes the row that failed: not passed on
                raise EngineError(f"postgres: copying {schema}.{table} there failed ({type(e).__name__}, "
                                  f"SQLSTATE {e.pgcode}); the server's log has the detail") from None
            finally:
                csv_file.unlink(missing_ok=True)
            cur.execute(f'select count(*) from {schema}."{table}"')
            copied[table] = cur.fetchone()[0]
            cur.execute(f'analyze {schema}."{table}"')
    return copied


class PostgresBuild:
    """One month's build in the database: lock held from ``with`` to its end, cleaned at the end."""

    def __init__(self, scratch: Path) -> None:
        check_settings(os.environ)
        self.scratch = scratch
        self.lock = None

    def __enter__(self) -> PostgresBuild:
        self.lock = connect()
        self.lock.autocommit = True
        with self.lock.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", [LOCK_ID])
            if not cur.fetchone()[0]:
                self.lock.close()
                raise EngineError(f"postgres: another build holds database {os.environ['PGDATABASE']} (another "
                                  "warehouse configured with the same $PGDATABASE?): give each its own")
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.clean()
        finally:
            self.lock.close()  # releases the advisory lock

    def ship(self, duck: duckdb.DuckDBPyConnection, key: Key) -> dict[str, int]:
        """The raw layer and the key into the database, in one transaction: table -> rows."""
        schema, table = KEY_TABLE.split(".")
        pg = connect()
        try:
            with pg:  # one transaction, committed at the end or rolled back
                shipped = copy_schema_to_postgres(duck, pg, RAW_SCHEMA, schema_tables(duck, RAW_SCHEMA), self.scratch)
                with pg.cursor() as cur:
                    cur.execute(f"create schema if not exists {schema}")
                    cur.execute(f"revoke all on schema {schema} from public")
                    cur.execute(f"drop table if exists {KEY_TABLE}")
                    cur.execute(f"create table {KEY_TABLE} (key text not null)")
                    row = io.StringIO()
                    csv.writer(row).writerow([key.value])
                    data = io.BytesIO(row.getvalue().encode())
                    cur.copy_expert(f"copy {KEY_TABLE} from stdin with (format csv)", data)
        finally:
            pg.close()
        return shipped

    def copy_back(self, duck: duckdb.DuckDBPyConnection, marts: dict[str, tuple[str, str]]) -> dict[str, int]:
        """Each mart (name -> its schema and table there) into ``main`` of the working warehouse."""
        pg = connect()
        try:
            with pg.cursor() as cur:
                return {alias: self._copy_back(cur, duck, schema, alias) for schema, alias in marts.values()}
        finally:
            pg.close()

    def _copy_back(self, cur, duck: duckdb.DuckDBPyConnection, schema: str, alias: str) -> int:
        import psycopg2

        cur.execute("select column_name, data_type from information_schema.columns where table_schema = %s "
                    "and table_name = %s order by ordinal_position", [schema, alias])
        columns = cur.fetchall()
        if not columns:
            raise EngineError(f"postgres: the mart {schema}.{alias} is missing after the build")
        unknown = [(name, kind) for name, kind in columns if kind not in POSTGRES_TO_DUCKDB]
        if unknown:
            raise EngineError(f"postgres: {schema}.{alias} has columns of types the working warehouse does not "
                              f"take: {unknown}")
        types = ", ".join(f"{sql_literal(name)}: {sql_literal(POSTGRES_TO_DUCKDB[kind])}" for name, kind in columns)
        csv_file = self.scratch / f"{alias}.csv"
        try:
            with csv_file.open("wb") as f:
                cur.copy_expert(f'copy (select * from "{schema}"."{alias}") to stdout with (format csv)', f)
            duck.execute(f'create or replace table {MARTS_SCHEMA}."{alias}" as select * from read_csv('
                         f"{sql_literal(str(csv_file))}, columns = {{{types}}}, header = false, auto_detect = false, "
                         "allow_quoted_nulls = false, quote = '\"', escape = '\"', delim = ',')")
        except (psycopg2.Error, duckdb.Error) as e:  # their messages can quote a row: not passed on
            raise EngineError(f"postgres: bringing back {schema}.{alias} failed ({type(e).__name__})") from None
        finally:
            csv_file.unlink(missing_ok=True)
        return duck.execute(f'select count(*) from {MARTS_SCHEMA}."{alias}"').fetchone()[0]

    def clean(self) -> None:
        """The raw layer (and the staging views on it) and the key out of the database."""
        pg = connect()
        try:
            with pg, pg.cursor() as cur:
                cur.execute(f"drop schema if exists {RAW_SCHEMA} cascade")
                cur.execute(f"drop table if exists {KEY_TABLE}")
        finally:
            pg.close()
