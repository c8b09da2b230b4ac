"""A region's publication: its councils' published figures pooled, benchmarked and published.

After ``run --all-councils`` has run every council in its own home, :func:`publish_region` pools
what each council has *published* (never a working warehouse, never a child-level record) into
the region's own warehouse and builds ``fct_scorecard_benchmark`` there with dbt:

```
<home>/region/published/current -> versions/000007      the commit point (one rename of a link)
<home>/region/published/versions/000007/
    benchmark.duckdb        region.council_figures, region.councils (the pool), the measure
                            catalogue (main.dim_measure) and main.fct_scorecard_benchmark
    benchmark.csv, benchmark.parquet    fct_scorecard_benchmark
    benchmark.xlsx          the workbook: a sheet per measure (publish/region_workbook.py)
    index.html, <la_code>.html          the benchmark pages (publish/region_page.py)
<home>/region/published/benchmark.duckdb -> current/benchmark.duckdb   (and every other file)
<home>/region/private/      dbt's target folder and logs of the region's builds
```

The pool is each council's *public* figures (``<YYYY-MM>/public/scorecard.parquet``: counts of 1
to 5 children, and what would reveal them, already suppressed by the council's own publication),
so small numbers are suppressed before pooling; ``run --all-councils`` publishes every council's
public variant for this. A council's month is in the pool once it is published, with the figure
its own scorecard of that month headlines (the row whose month is the extract month). A month a
council published without the public variant is left out, and reported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
from filelock import FileLock

from dagster_project.councils import Council
from dagster_project.models.dbt import DBT_DIR, DBT_EXECUTABLE, WAREHOUSE_DB_ENV
from dagster_project.pseudonym import KEY_ENV, KEY_FILE_ENV
from dagster_project.publish.outputs import PUBLIC_DIR
from dagster_project.publish.region_page import write_pages
from dagster_project.publish.region_workbook import write_workbook
from dagster_project.publish.wap import (
    CURRENT,
    VERSIONS,
    current_version,
    fsync_dir,
    grant,
    next_version,
    open_to_readers,
    published_months,
    remove_old_versions,
    switch_link,
)
from dagster_project.settings import LA_CODE_ENV, HomePaths, published_group
from dagster_project.warehouse_sql import sql_literal

REGION_FOLDER = "region"
REGION_BUILD_ENV = "CSC_REGION_BUILD"  # dbt/dbt_project.yml enables models/region with it
BENCHMARK_DB = "benchmark.duckdb"
BENCHMARK_TABLE = "main.fct_scorecard_benchmark"
STABLE_FILES = (BENCHMARK_DB, "benchmark.csv", "benchmark.parquet", "benchmark.xlsx", "index.html")


class RegionBuildFailed(RuntimeError):
    """The region's dbt build failed; the published benchmark is unchanged."""


@dataclass(frozen=True)
class RegionPublication:
    version: Path
    councils: int  # councils in the pool (with a published month)
    months: int  # distinct months in the pool
    left_out: tuple[str, ...]  # '<la_code> <YYYY-MM>': published without the public variant


def region_paths(home: Path) -> HomePaths:
    return HomePaths(home / REGION_FOLDER)


def region_private_dir(home: Path) -> Path:
    """The region's private folder (its build's working files and logs, its lock, the councils' run
    logs), made 0700 whoever made it first."""
    private = region_paths(home).private_dir
    private.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    return private


def pooled_files(home: Path, councils: Sequence[Council]) -> tuple[list[tuple[str, str]], list[str]]:
    """(la_code, public scorecard.parquet path) of every month each council has published, and the
    months published without a public variant."""
    files, left_out = [], []
    for council in councils:
        paths = HomePaths(home / council.la_code)
        version = current_version(paths)
        for month in published_months(paths):
            parquet = version / month / PUBLIC_DIR / "scorecard.parquet"
            if parquet.is_file():
                files.append((council.la_code, str(parquet)))
            else:
                left_out.append(f"{council.la_code} {month}")
    return files, left_out


def write_pool(db: Path, councils: Sequence[Council], files: list[tuple[str, str]]) -> None:
    """The pool (source ``region``) in a new region warehouse: one query over every file."""
    con = duckdb.connect(str(db))
    try:
        con.execute("create schema region")
        con.execute("create table region.councils (la_code varchar primary key, la_name varchar not null, "
                    "region_name varchar not null)")
        con.executemany("insert into region.councils values (?, ?, ?)",
                        [(c.la_code, c.name, c.region) for c in councils])
        con.execute("create table region.council_figures (la_code varchar, measure_id varchar, month date, "
                    "value double, availability varchar)")
        if files:
            con.execute("create temp table pooled_file (la_code varchar, filename varchar)")
            con.executemany("insert into pooled_file values (?, ?)", files)
            paths = ", ".join(sql_literal(name) for _, name in files)
            con.execute(f"""
                insert into region.council_figures
                select f.la_code, p.measure_id, p.month, p.value, p.availability
                from read_parquet([{paths}], filename = true) as p
                inner join pooled_file as f on f.filename = p.filename
                where p.month = p.extract_month
                order by f.la_code, p.measure_id, p.month""")
    finally:
        con.close()


def build_benchmark(db: Path, private: Path, *, unit_tests: bool = False) -> None:
    """dbt builds fct_scorecard_benchmark (with the measure catalogue it reads, and their tests) in
    ``db``; its unit tests only when asked (the test suite: they check the model, not the data).
    No key reaches this build: nothing in it pseudonymises, and a council's key is not the region's."""
    env = {name: value for name, value in os.environ.items() if name not in (KEY_ENV, KEY_FILE_ENV, LA_CODE_ENV)}
    env |= {REGION_BUILD_ENV: "1", WAREHOUSE_DB_ENV: str(db), "DBT_TARGET": "duckdb"}
    # cautious: only the tests of what is built (not the council models' tests that also read the catalogue)
    command = [DBT_EXECUTABLE, "--no-use-colors", "build", "--select", "+fct_scorecard_benchmark",
               "--indirect-selection", "cautious", *([] if unit_tests else ["--exclude-resource-type", "unit_test"]),
               "--profiles-dir", str(DBT_DIR), "--target-path", str(private / "dbt-target"),
               "--log-path", str(private / "logs")]
    done = subprocess.run(command, cwd=DBT_DIR, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        failures = [line.split(" ", 1)[-1].strip() for line in done.stdout.splitlines()
                    if " ERROR " in line or " FAIL " in line] or done.stdout.strip().splitlines()[-3:]
        raise RegionBuildFailed("the region's dbt build failed: " + "; ".join(failures[:5]) +
                                f" (dbt's log: {private / 'logs'})")


def benchmark_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every row of the benchmark with its measure's name, unit and order, in the scorecard's order."""
    cursor = con.execute(f"""select b.*, m.measure_name, m.unit, m.sort_order from {BENCHMARK_TABLE} as b
                             inner join main.dim_measure as m using (measure_id)
                             order by m.sort_order, b.measure_id, b.month, b.la_code""")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _write_version(version: Path, councils: Sequence[Council], files: list[tuple[str, str]],
                   private: Path) -> tuple[int, int]:
    """Every file of a new version; returns the number of councils and of months in the pool."""
    db = version / BENCHMARK_DB
    write_pool(db, councils, files)
    build_benchmark(db, private)
    con = duckdb.connect(str(db))
    try:
        # months as the councils' scorecard.csv writes them (YYYY-MM); the Parquet keeps its DATE
        for name, columns, options in (
                ("benchmark.csv", "* replace (strftime(month, '%Y-%m') as month)", "format csv, header true"),
                ("benchmark.parquet", "*", "format parquet, compression zstd")):
            con.execute(f"copy (select {columns} from {BENCHMARK_TABLE} order by measure_id, month, la_code) "
                        f"to '{version / name}' ({options})")
        rows = benchmark_rows(con)  # read once, for the pages and the workbook
        write_pages(rows, version)
        write_workbook(rows, version / "benchmark.xlsx")
        return con.execute("select count(distinct la_code), count(distinct month) "
                           "from region.council_figures").fetchone()
    finally:
        con.close()


def publish_region(home: Path, councils: Sequence[Council]) -> RegionPublication | None:
    """Pool, build and publish the region's benchmark as a new version, made current in one step;
    None (nothing changes) while no council has published a month with its public variant."""
    files, left_out = pooled_files(home, councils)
    if not files:
        return None
    paths = region_paths(home)
    versions = paths.published_dir / VERSIONS
    for folder in (paths.home, paths.published_dir, versions):
        folder.mkdir(parents=True, exist_ok=True)
        grant(folder, 0o750, published_group())
    private = region_private_dir(home)
    with FileLock(str(private / ".region.lock")):  # two region runs publish one after the other
        remove_old_versions(paths)  # and what a killed run left, before numbering the new one
        version = next_version(versions)
        version.mkdir()
        try:
            councils_pooled, months = _write_version(version, councils, files, private)
        except BaseException:
            shutil.rmtree(version)  # nothing of a failed build is published
            raise
        open_to_readers(version)
        pages = sorted(p.name for p in version.glob("*.html"))
        for name in (*STABLE_FILES, *pages):
            link = paths.published_dir / name
            if not link.is_symlink():
                switch_link(f"{CURRENT}/{name}", link)
        switch_link(f"{VERSIONS}/{version.name}", paths.published_dir / CURRENT)  # the commit point
        fsync_dir(paths.published_dir)
        for link in paths.published_dir.glob("*.html"):
            if link.is_symlink() and link.name not in pages:  # a council no longer in the region
                link.unlink()
    return RegionPublication(version, councils_pooled, months, tuple(left_out))
