"""Write-audit-publish: the only code that touches ``<home>/published``.

Runs build and check the *working* warehouse. Publishing a month then
1. writes the month's files into a private staging folder in the working area (same filesystem
   as ``published/``, so nothing half-written ever appears under ``published/``),
2. copies the marts and dimensions (never raw, staging or quarantine tables) into a new DuckDB
   file there, with their table and column comments,
3. swaps both into place with ``os.replace`` (atomic on one filesystem).
A run that fails or is killed before step 3 leaves every published file as it was; analysts
reading ``published/warehouse.duckdb`` keep their open snapshot and see the new one on reconnect.
No run ever opens the published warehouse.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.settings import MONTH_FMT, HomePaths

PUBLISHED_SCHEMA = "main"  # where dbt builds the marts and dimensions


@dataclass(frozen=True)
class Published:
    month: date
    month_dir: Path
    warehouse: Path | None  # None when an older month was re-published (the warehouse stays newest)
    tables: tuple[str, ...]


def published_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and not temporary order by table_name",
        [PUBLISHED_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _sql_literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _copy_comments(con: duckdb.DuckDBPyConnection, alias: str, tables: list[str]) -> None:
    db = con.execute("select current_database()").fetchone()[0]
    for table, comment in con.execute(
        "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = ? "
        "and comment is not null", [db, PUBLISHED_SCHEMA]).fetchall():
        if table in tables:
            con.execute(f'comment on table {alias}.main."{table}" is {_sql_literal(comment)}')
    for table, column, comment in con.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and comment is not null", [db, PUBLISHED_SCHEMA]).fetchall():
        if table in tables:
            con.execute(f'comment on column {alias}.main."{table}"."{column}" is {_sql_literal(comment)}')


def build_published_copy(con: duckdb.DuckDBPyConnection, target: Path) -> list[str]:
    """Copy every mart and dimension of the working warehouse into a fresh DuckDB file."""
    target.unlink(missing_ok=True)
    tables = published_tables(con)
    con.execute(f"attach {_sql_literal(str(target))} as pub")
    try:
        for table in tables:
            con.execute(f'create table pub.main."{table}" as select * from {PUBLISHED_SCHEMA}."{table}"')
        _copy_comments(con, "pub", tables)
    finally:
        con.execute("detach pub")
    return tables


def write_scorecard_csv(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """scorecard.csv: one row per measure and month; empty cells for no data / not available."""
    con.execute(
        f"""
        copy (
            select
                s.measure_id,
                strftime(s.month, '%Y-%m') as month,
                case
                    when s.value is null then null
                    when m.unit = 'count' then cast(cast(s.value as bigint) as varchar)
                    else printf('%.1f', s.value)
                end as value,
                s.numerator,
                s.denominator,
                s.availability,
                m.measure_name,
                m.section,
                m.polarity,
                m.unit,
                strftime(s.extract_month, '%Y-%m') as extract_month
            from main.fct_scorecard as s
            inner join main.dim_measure as m on s.measure_id = m.measure_id
            order by m.sort_order, s.month
        ) to {_sql_literal(str(path))} (header, delimiter ',')
        """
    )


def latest_published_month(paths: HomePaths) -> str | None:
    if not paths.published_dir.exists():
        return None
    months = [p.name for p in paths.published_dir.iterdir() if p.is_dir() and len(p.name) == 7 and p.name[4] == "-"]
    return max(months, default=None)


def failpoint(name: str) -> None:
    """Pause here when ``$CSC_FAILPOINT`` names this point: lets tests kill a run at a known instant."""
    if os.environ.get("CSC_FAILPOINT") == name:
        print(f"failpoint {name}: pausing", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("CSC_FAILPOINT_SECONDS", "60")))


def _swap_dir(staged: Path, final: Path, trash: Path) -> None:
    """Put ``staged`` at ``final``; the old folder is moved aside (to ``trash``) first, then removed."""
    old = trash / f"old-{final.name}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    shutil.rmtree(old, ignore_errors=True)


def publish_month(con: duckdb.DuckDBPyConnection, paths: HomePaths, month: date, run_id: str) -> Published:
    """Publish ``month`` from the working warehouse ``con`` (which the caller holds open)."""
    paths.published_dir.mkdir(parents=True, exist_ok=True)
    staging_root = paths.work_dir / "publish-staging"
    shutil.rmtree(staging_root, ignore_errors=True)  # leftovers of an interrupted run
    staging = staging_root / month.strftime(MONTH_FMT)
    staging.mkdir(parents=True)
    write_scorecard_csv(con, staging / "scorecard.csv")

    key = month.strftime(MONTH_FMT)
    latest = latest_published_month(paths)
    replace_warehouse = latest is None or key >= latest
    tables: list[str] = []
    tmp_db = staging_root / "warehouse.duckdb"
    if replace_warehouse:
        tables = build_published_copy(con, tmp_db)

    failpoint("before_publish_swap")
    # the publish instant: both renames are atomic
    _swap_dir(staging, paths.published_month_dir(month), staging_root)
    if replace_warehouse:
        os.replace(tmp_db, paths.published_db)
    return Published(month, paths.published_month_dir(month),
                     paths.published_db if replace_warehouse else None, tuple(tables))
