"""Write-audit-publish: the only code that touches ``<home>/published``.

Runs build and check the *working* warehouse. Publishing a month then
1. writes the month's files into a private staging folder in the working area (same filesystem
   as ``published/``, so nothing half-written ever appears under ``published/``),
2. copies the marts and dimensions (never raw, staging or quarantine tables) into a new DuckDB
   file there, with their table and column comments,
3. swaps both into place: the warehouse file with ``os.replace``, each folder by an atomic
   exchange with the folder it replaces (Linux ``renameat2``; two renames elsewhere).
The month's files are the scorecard CSV, workbook and page (and, with the ``public`` setting, the
suppressed variant under ``public/``: ``dagster_project.publish.outputs``); the dbt docs site of the
published copy is staged and swapped beside the warehouse (``published/docs/``).
A run that fails or is killed before step 3 leaves every published file as it was; analysts
reading ``published/warehouse.duckdb`` keep their open snapshot and see the new one on reconnect.
No run ever opens the published warehouse.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from dagster_project.settings import MONTH_FMT, HomePaths
from dagster_project.warehouse_sql import transaction

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
    """The working warehouse's table and column comments onto the copies, in one transaction (one
    commit to the new file instead of one per comment)."""
    db = con.execute("select current_database()").fetchone()[0]
    statements = [
        f'comment on table {alias}.main."{table}" is {_sql_literal(comment)}'
        for table, comment in con.execute(
            "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = ? "
            "and comment is not null", [db, PUBLISHED_SCHEMA]).fetchall()
        if table in tables
    ] + [
        f'comment on column {alias}.main."{table}"."{column}" is {_sql_literal(comment)}'
        for table, column, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() where database_name = ? "
            "and schema_name = ? and comment is not null", [db, PUBLISHED_SCHEMA]).fetchall()
        if table in tables
    ]
    with transaction(con):
        for statement in statements:
            con.execute(statement)


def build_published_copy(con: duckdb.DuckDBPyConnection, target: Path, publishing: tuple | None = None) -> list[str]:
    """Copy every mart and dimension, and the audit trail, of the working warehouse into a fresh file."""
    from dagster_project.publish.audit import copy_audit_tables

    target.unlink(missing_ok=True)
    tables = published_tables(con)
    con.execute(f"attach {_sql_literal(str(target))} as pub")
    try:
        for table in tables:
            con.execute(f'create table pub.main."{table}" as select * from {PUBLISHED_SCHEMA}."{table}"')
        _copy_comments(con, "pub", tables)
        tables += copy_audit_tables(con, "pub", publishing)
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


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the C library or the file system has no such call; raises OSError for
    any other failure."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _swap_dir(staged: Path, final: Path, trash: Path) -> None:
    """Put ``staged`` at ``final`` and remove the folder it replaces.

    An existing ``final`` is exchanged with ``staged`` in one atomic step, so readers see the old
    folder or the new one and never neither. Where the file system cannot exchange, the old
    folder is moved aside (to ``trash``) and the new one renamed in: a kill between the two
    renames leaves ``final`` absent (never half-written) until the next run."""
    if final.exists() and exchange_paths(staged, final):
        shutil.rmtree(staged, ignore_errors=True)  # now the old folder
        return
    old = trash / f"old-{final.name}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    shutil.rmtree(old, ignore_errors=True)


def publish_month(con: duckdb.DuckDBPyConnection, paths: HomePaths, month: date, run_id: str,
                  *, public: bool = False) -> Published:
    """Publish ``month`` from the working warehouse ``con`` (which the caller holds open).

    ``public``: also write the suppressed public variant under ``<YYYY-MM>/public/``.
    """
    from dagster_project.checks.report import dbt_run_results_path, write_quality_report
    from dagster_project.publish.audit import (
        PUBLICATION_MARKER,
        confirm_publication,
        publication_marker,
        record_published_figures,
        settle_publications,
    )
    from dagster_project.publish.outputs import PublicationSettings, write_outputs
    from dagster_project.publish.outputs.docs_site import write_docs_site

    paths.published_dir.mkdir(parents=True, exist_ok=True)
    settle_publications(con, paths.published_dir)  # a run killed around its swap, before this one
    staging_root = paths.private_dir / "publish-staging"
    shutil.rmtree(staging_root, ignore_errors=True)  # leftovers of an interrupted run
    staging = staging_root / month.strftime(MONTH_FMT)
    staging.mkdir(parents=True)
    published_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    # audit: the figures this run publishes (confirmed after the swap, settled if it never happens)
    record_published_figures(con, month, run_id, published_at)
    write_scorecard_csv(con, staging / "scorecard.csv")
    dbt_results = dbt_run_results_path(paths, run_id)
    write_outputs(con, staging, month, run_id, PublicationSettings(public=public), dbt_run_results=dbt_results)
    write_quality_report(con, month, run_id, staging, dbt_run_results=dbt_results, outcome="published")
    (staging / PUBLICATION_MARKER).write_text(
        json.dumps(publication_marker(month, run_id, published_at), indent=2) + "\n", encoding="utf-8")

    key = month.strftime(MONTH_FMT)
    latest = latest_published_month(paths)
    replace_warehouse = latest is None or key >= latest
    tables: list[str] = []
    tmp_db = staging_root / "warehouse.duckdb"
    if replace_warehouse:
        tables = build_published_copy(con, tmp_db, (month, run_id, published_at))
        write_docs_site(tmp_db, dbt_results.parent, staging_root / "docs")

    failpoint("before_publish_swap")
    # the publish instant: each swap is atomic
    _swap_dir(staging, paths.published_month_dir(month), staging_root)
    if replace_warehouse:
        os.replace(tmp_db, paths.published_db)
        _swap_dir(staging_root / "docs", paths.published_dir / "docs", staging_root)
    confirm_publication(con, month, run_id, published_at)
    return Published(month, paths.published_month_dir(month),
                     paths.published_db if replace_warehouse else None, tuple(tables))
