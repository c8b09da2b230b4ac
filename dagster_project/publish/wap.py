"""Write-audit-publish: the only code that touches ``<home>/published``.

Runs build and check the *working* warehouse (the private zone). Publishing a month writes a new
**version** of the whole published zone and makes it current in one step:

```
published/current -> versions/000042      the commit point: one atomic rename of a symbolic link
published/versions/000042/                every file of this publication
    warehouse.duckdb  docs/  2023-03/  2023-04/ ...
published/warehouse.duckdb -> current/warehouse.duckdb    the stable paths readers use
published/docs -> current/docs
published/<YYYY-MM> -> current/<YYYY-MM>
```

1. the month's files (scorecard CSV, Parquet, workbook, page, quality report, the marts as Parquet,
   ``publication.json``; with the ``public`` setting the suppressed variant under ``public/``) are
   written into the new version; the other months' files are hard links to the current version's
   (published files never change, so sharing them is safe and costs no space);
2. the analysts' warehouse is a *new file* (the marts and dimensions copied from the working
   warehouse, never raw, staging or quarantine) with its docs site, or a hard link to the current
   one when an older month is re-published;
3. the version is made readable by the published zone's group (:func:`open_to_readers`), the
   stable links are made, and ``current`` is switched to it by renaming a new link over it.

Before step 3 nothing a reader can see has changed; after it, everything has. A run killed at any
step leaves the published zone at the old version or the new one, never a mix (``CSC_FAILPOINT``
names the steps; tests/test_publish_wap.py kills a run at each). The next publication removes
versions older than the previous one: on Linux a reader that still has an old file open keeps
reading it. Because each publication's warehouse is a new file, a process that reconnects (to the
resolved path: docs/analysts.md) sees the new month even if it still holds a connection to the old
one. No run ever opens the published warehouse for writing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import duckdb

from dagster_project.settings import MONTH_FMT, HomePaths, published_group
from dagster_project.warehouse_sql import sql_literal, transaction

PUBLISHED_SCHEMA = "main"  # where dbt builds the marts and dimensions


class PublishedZoneError(RuntimeError):
    """The published zone is not as publication leaves it (e.g. copied without its links)."""


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


def _copy_comments(con: duckdb.DuckDBPyConnection, alias: str, tables: list[str]) -> None:
    """The working warehouse's table and column comments onto the copies, in one transaction (one
    commit to the new file instead of one per comment)."""
    db = con.execute("select current_database()").fetchone()[0]
    statements = [
        f'comment on table {alias}.main."{table}" is {sql_literal(comment)}'
        for table, comment in con.execute(
            "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = ? "
            "and comment is not null", [db, PUBLISHED_SCHEMA]).fetchall()
        if table in tables
    ] + [
        f'comment on column {alias}.main."{table}"."{column}" is {sql_literal(comment)}'
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
    con.execute(f"attach {sql_literal(str(target))} as pub")
    try:
        for table in tables:
            con.execute(f'create table pub.main."{table}" as select * from {PUBLISHED_SCHEMA}."{table}"')
        _copy_comments(con, "pub", tables)
        tables += copy_audit_tables(con, "pub", publishing)
    finally:
        con.execute("detach pub")
    return tables


CURRENT = "current"
VERSIONS = "versions"
WAREHOUSE = "warehouse.duckdb"
DOCS = "docs"
FAILPOINTS = ("month_files_written", "other_months_linked", "warehouse_built", "version_complete",
              "links_made", "before_commit", "committed")


def failpoint(name: str) -> None:
    """Fault injection for tests: when ``$CSC_FAILPOINT`` names this point, the process pauses
    (``$CSC_FAILPOINT_SECONDS``, default 60) or, with ``$CSC_FAILPOINT_ACTION=kill``, kills itself
    with SIGKILL here (no clean-up of any kind runs, as with a power cut or the OOM killer)."""
    if os.environ.get("CSC_FAILPOINT") != name:
        return
    print(f"failpoint {name}: {os.environ.get('CSC_FAILPOINT_ACTION', 'pausing')}", file=sys.stderr, flush=True)
    if os.environ.get("CSC_FAILPOINT_ACTION") == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(os.environ.get("CSC_FAILPOINT_SECONDS", "60")))


def current_version(paths: HomePaths) -> Path | None:
    """The version folder readers see now (None before the first publication)."""
    link = paths.published_dir / CURRENT
    return link.resolve() if link.is_symlink() else None


def published_months(paths: HomePaths) -> list[str]:
    """The months of the current publication, oldest first."""
    version = current_version(paths)
    if version is None:
        return []
    return sorted(p.name for p in version.iterdir() if p.is_dir() and len(p.name) == 7 and p.name[4] == "-")


def latest_published_month(paths: HomePaths) -> str | None:
    return max(published_months(paths), default=None)


def next_version(versions: Path) -> Path:
    numbers = [int(p.name) for p in versions.iterdir() if p.name.isdigit()] if versions.exists() else []
    return versions / f"{max(numbers, default=0) + 1:06d}"


def _link_tree(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` made of hard links (published files never change)."""
    shutil.copytree(source, target, copy_function=os.link)


def switch_link(target: str, link: Path) -> None:
    """Make ``link`` point at ``target`` (relative), replacing any link there in one rename."""
    tmp = link.with_name(f".{link.name}.new")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def grant(path: Path | str, mode: int, gid: int | None) -> None:
    os.chmod(path, mode)
    if gid is not None:
        os.chown(path, -1, gid)


def open_to_readers(root: Path) -> None:
    """Folders 0750 and files 0640 from ``root`` down, group-owned by the published zone's group
    (``$CSC_PUBLISHED_GROUP``; default: the service account's own group): readable by that group,
    by nobody else."""
    gid = published_group()
    grant(root, 0o750, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            grant(os.path.join(folder, name), 0o750, gid)
        for name in files:
            grant(os.path.join(folder, name), 0o640, gid)


def _adopt_unversioned(paths: HomePaths) -> None:
    """A home published before versions existed (month folders, warehouse and docs directly under
    ``published/``) becomes version 000000, made current; the stable paths stay the same."""
    published = paths.published_dir
    if (published / CURRENT).exists() and not (published / CURRENT).is_symlink():
        raise PublishedZoneError(
            f"{published / CURRENT} is a folder, not a link: the published zone was copied without its links "
            "(copy it with cp -a, or shutil.copytree(..., symlinks=True)). Restore it, or move "
            f"{published} aside to publish afresh.")
    legacy = [p for p in published.iterdir() if not p.is_symlink() and p.name not in (CURRENT, VERSIONS)
              and (p.name in (WAREHOUSE, DOCS) or (len(p.name) == 7 and p.name[4] == "-"))]
    if not legacy or (published / CURRENT).is_symlink():
        return
    version = published / VERSIONS / "000000"
    version.mkdir(parents=True, exist_ok=True)
    for path in legacy:
        os.replace(path, version / path.name)
    switch_link(f"{VERSIONS}/{version.name}", published / CURRENT)
    for path in legacy:
        switch_link(f"{CURRENT}/{path.name}", published / path.name)


def remove_old_versions(paths: HomePaths, keep_previous: bool = True) -> list[str]:
    """Delete versions that are neither current nor (with ``keep_previous``) the one before it,
    and any unfinished version a killed run left. Returns the names removed."""
    versions = paths.published_dir / VERSIONS
    current = current_version(paths)
    if current is None or not versions.exists():
        return []
    numbered = sorted((p for p in versions.iterdir() if p.name.isdigit()), key=lambda p: p.name)
    keep = {current.name}
    older = [p.name for p in numbered if p.name < current.name]
    if keep_previous and older:
        keep.add(older[-1])
    removed = [p.name for p in numbered if p.name not in keep]
    for name in removed:
        shutil.rmtree(versions / name)
    return removed


@contextmanager
def _beside(work: Callable[[duckdb.DuckDBPyConnection, Path], object], con: duckdb.DuckDBPyConnection,
            folder: Path) -> Iterator[None]:
    """Run ``work(cursor, folder)`` in a thread, on a cursor of ``con`` (same database, its own
    connection), while the block runs; the block ends when both have, and raises what either
    raised (the block's error first)."""
    cursor = con.cursor()
    with ThreadPoolExecutor(1, thread_name_prefix="publish") as pool:
        done = pool.submit(work, cursor, folder)
        try:
            yield
        finally:
            futures.wait([done])
            cursor.close()
        done.result()


def publish_month(con: duckdb.DuckDBPyConnection, paths: HomePaths, month: date, run_id: str,
                  *, public: bool = False) -> Published:
    """Publish ``month`` from the working warehouse ``con`` (which the caller holds open) as a new
    version of the published zone, made current in one atomic step (module docstring).

    ``public``: also write the suppressed public variant under ``<YYYY-MM>/public/``.
    """
    from dagster_project.checks.report import dbt_run_results_path
    from dagster_project.pseudonym import home_key
    from dagster_project.publish.audit import record_published_figures
    from dagster_project.publish.outputs import PublicationSettings, write_outputs
    from dagster_project.publish.outputs.docs_site import build_manifest, write_docs_site
    from dagster_project.publish.outputs.marts import MARTS_DIR, mart_keys, write_marts
    from dagster_project.published_figures import (
        PUBLICATION_MARKER,
        confirm_publication,
        publication_marker,
        settle_publications,
    )

    published = paths.published_dir
    (published / VERSIONS).mkdir(parents=True, exist_ok=True)
    for folder in (published, published / VERSIONS):
        grant(folder, 0o750, published_group())
    _adopt_unversioned(paths)
    settle_publications(con, published)  # a run killed around its commit, before this one
    remove_old_versions(paths)  # and the unfinished version it left
    current = current_version(paths)
    version = next_version(published / VERSIONS)
    version.mkdir(parents=True)
    key = month.strftime(MONTH_FMT)
    month_dir = version / key

    month_dir.mkdir()
    published_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    # audit: the figures this run publishes (confirmed after the commit, settled if it never happens)
    record_published_figures(con, month, run_id, published_at)
    dbt_results = dbt_run_results_path(paths, run_id)
    # every file of the month from one read of the publication (publish/outputs), and the marts
    write_outputs(con, month_dir, month, run_id, PublicationSettings(public=public), dbt_run_results=dbt_results)
    (month_dir / PUBLICATION_MARKER).write_text(
        json.dumps(publication_marker(month, run_id, published_at), indent=2) + "\n", encoding="utf-8")
    failpoint("month_files_written")

    if current is not None:
        for other in current.iterdir():
            if other.is_dir() and other.name not in (key, DOCS, MARTS_DIR):
                _link_tree(other, version / other.name)
    failpoint("other_months_linked")

    latest = latest_published_month(paths)
    replace_warehouse = latest is None or key >= latest
    tables: list[str] = []
    if replace_warehouse:
        # the marts' Parquet on a cursor of its own while the copy and its docs are made: DuckDB
        # releases the GIL, so the two overlap instead of running one after the other
        keys = mart_keys(build_manifest(dbt_results.parent))  # the keys the build's tests asserted
        with _beside(partial(write_marts, keys=keys), con, version / MARTS_DIR):
            tables = build_published_copy(con, version / WAREHOUSE, (month, run_id, published_at))
            write_docs_site(version / WAREHOUSE, dbt_results.parent, version / DOCS, home_key(paths).value)
    else:  # an older month re-published: the analysts' warehouse stays the newest month's
        os.link(current / WAREHOUSE, version / WAREHOUSE)
        for folder in (DOCS, MARTS_DIR):
            if (current / folder).exists():  # a version from before the marts were published has none
                _link_tree(current / folder, version / folder)
    failpoint("warehouse_built")

    open_to_readers(version)
    fsync_dir(version)
    failpoint("version_complete")

    for name in (WAREHOUSE, DOCS, MARTS_DIR, key):  # stable paths; dangling (as if absent) until the commit
        link = published / name
        if not link.is_symlink():
            switch_link(f"{CURRENT}/{name}", link)
    failpoint("links_made")

    failpoint("before_commit")
    switch_link(f"{VERSIONS}/{version.name}", published / CURRENT)  # the commit point
    fsync_dir(published)
    failpoint("committed")
    confirm_publication(con, month, run_id, published_at)
    remove_old_versions(paths)
    return Published(month, paths.published_month_dir(month), paths.published_db if replace_warehouse else None,
                     tuple(tables))
