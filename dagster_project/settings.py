"""Where a warehouse lives and which months exist: the settings every stage shares.

A *home* directory holds everything one warehouse needs (docs/architecture.md, "Home directory").
It comes from ``$CSC_WAREHOUSE_HOME`` (the CLI sets it from ``--home``), default ``./warehouse``;
the extracts root comes from ``$CSC_EXTRACTS_DIR`` (CLI ``--extracts``).
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HOME_ENV = "CSC_WAREHOUSE_HOME"
EXTRACTS_ENV = "CSC_EXTRACTS_DIR"
FIRST_MONTH_ENV = "CSC_FIRST_MONTH"
LA_CODE_ENV = "CSC_LA_CODE"  # the council a run's extracts belong to (docs/decisions.md, "A region's councils")
MONTH_FMT = "%Y-%m"
# DuckDB spills to disk beyond this (its default is 80% of the machine's memory): the ingest's
# staging tables, the checks and the dbt build (dbt/profiles.yml reads the same variable) stay
# within the memory budget whatever the extract's size (docs/scaling.md).
DUCKDB_MEMORY_LIMIT_ENV = "CSC_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"


PUBLISHED_GROUP_ENV = "CSC_PUBLISHED_GROUP"
PUBLIC_VARIANT_ENV = "CSC_PUBLIC_VARIANT"  # "1": every run publishes the public variant unless told otherwise
# the Dagster pool of every step that writes the working warehouse: one at a time (DuckDB has one writer)
WRITER_POOL = "warehouse_writer"
PRIVATE_UMASK = 0o077  # files 0600, folders 0700 unless opened to readers on purpose
# where dbt builds the models (dagster_project/models/engines/; docs/scaling.md, "The pipeline on another engine")
ENGINE_ENV = "CSC_ENGINE"
DUCKDB, POSTGRES, SPARK = "duckdb", "postgres", "spark"
ENGINES = (DUCKDB, POSTGRES, SPARK)
SPARK_DIR_ENV = "CSC_SPARK_DIR"  # Spark's tables, catalog and shipped raw layer (dbt/profiles.yml), else the home's


def restrict_umask() -> None:
    """Everything a run creates is readable by the service account only (the private zone); the
    publish step opens the published zone to its group explicitly (docs/architecture.md, "Zones")."""
    os.umask(PRIVATE_UMASK)


# Python's cyclic garbage collector runs its young generation every 700 new objects by default. A
# run's process holds millions of long-lived objects (the modules of Dagster, dbt, Great Expectations
# and pandas, dbt's manifest) and makes millions more, and at that pace it spent more than a tenth of
# a small month's CPU collecting. Every 10,000 instead: the figures and what it risks are in
# docs/decisions.md ("Python's garbage collector"). Garbage without cycles is freed at once whatever
# this says; cycles wait longer, long enough to outlive a month, so a backfill collects fully
# between months (cli._run_months).
GC_THRESHOLD = (10_000, 10, 10)


def collect_garbage_less_often() -> None:
    """The process's garbage collector thresholds for a run (:data:`GC_THRESHOLD`)."""
    gc.set_threshold(*GC_THRESHOLD)


def public_variant_by_default() -> bool:
    """Whether a run publishes the public variant when its run config does not say
    (``$CSC_PUBLIC_VARIANT``: "1" yes, "0" or unset no). A council of a region run by Dagster's
    sensor or schedule sets it, since the regional benchmark pools only public variants."""
    value = os.environ.get(PUBLIC_VARIANT_ENV, "0")
    if value not in ("0", "1"):
        raise ValueError(f"${PUBLIC_VARIANT_ENV}={value!r}: set it to 1 (publish the public variant) or 0")
    return value == "1"


def published_group() -> int | None:
    """The group that may read the published zone (``$CSC_PUBLISHED_GROUP``, a name or a number);
    None: the service account's own group."""
    name = os.environ.get(PUBLISHED_GROUP_ENV)
    if not name:
        return None
    if name.isdigit():
        return int(name)
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ValueError(f"${PUBLISHED_GROUP_ENV}={name!r} is not a group on this machine") from None


def engine_from_env() -> str:
    """The engine dbt builds on: ``$CSC_ENGINE`` (duckdb, postgres or spark), default duckdb."""
    value = os.environ.get(ENGINE_ENV) or DUCKDB
    if value not in ENGINES:
        raise ValueError(f"${ENGINE_ENV}={value!r}: set it to one of {', '.join(ENGINES)} (or leave it unset: duckdb)")
    return value


def duckdb_memory_limit() -> str:
    return os.environ.get(DUCKDB_MEMORY_LIMIT_ENV) or DEFAULT_DUCKDB_MEMORY_LIMIT


@dataclass(frozen=True)
class HomePaths:
    """The layout of a warehouse home directory."""

    home: Path

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def private_dir(self) -> Path:
        """The private zone: readable by the service account only (docs/architecture.md, "Zones")."""
        return self.home / "private"

    @property
    def run_lock(self) -> Path:
        """Held by a run (and a sign-off or key rotation): runs on one home never overlap."""
        return self.private_dir / ".run.lock"

    @property
    def key_file(self) -> Path:
        """The pseudonymisation key made on first use when none is configured (0600)."""
        return self.private_dir / "pseudonym.key"

    def worklist(self, month: date) -> Path:
        """The data-quality worklist of an extract month: every quarantined row with its raw values."""
        return self.private_dir / "worklists" / f"{month.strftime(MONTH_FMT)}.csv"

    @property
    def work_db(self) -> Path:
        return self.private_dir / "warehouse.duckdb"

    @property
    def dbt_target(self) -> Path:
        return self.private_dir / "dbt-target"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "warehouse.duckdb"

    def published_month_dir(self, month: date) -> Path:
        return self.published_dir / month.strftime(MONTH_FMT)

    def work_month_dir(self, month: date) -> Path:
        """Working outputs of a month's latest run (kept for blocked runs too)."""
        return self.private_dir / "runs" / month.strftime(MONTH_FMT)


def home_from_env() -> Path:
    return Path(os.environ.get(HOME_ENV, "warehouse")).resolve()


def extracts_from_env() -> Path:
    return Path(os.environ.get(EXTRACTS_ENV, "extracts")).resolve()


MONTH_FOLDER_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")  # an extract month folder: YYYY-MM


def extract_months(extracts: Path) -> list[str]:
    """The YYYY-MM extract folders under ``extracts``, oldest first ([] when it does not exist)."""
    if not extracts.is_dir():
        return []
    return sorted(p.name for p in extracts.iterdir() if p.is_dir() and MONTH_FOLDER_RE.match(p.name))


COUNCIL_FOLDER_RE = re.compile(r"^\d{3}$")  # a council's folder in a region's root: its DfE LA code


def council_folders(root: Path) -> list[str]:
    """The three-digit LA-code folders of a region's extracts root (``<root>/<la_code>/<YYYY-MM>/``),
    in code order ([] when ``root`` is one council's root or does not exist)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and COUNCIL_FOLDER_RE.match(p.name))


def council_of(extract_dir: Path) -> str | None:
    """The LA code of the council whose month folder ``extract_dir`` is: ``$CSC_LA_CODE`` (set for
    each council by ``run --all-councils``, so a council folder that is a symbolic link is checked
    too), else the name of its parent folder in a region's layout; None in one council's layout."""
    if os.environ.get(LA_CODE_ENV):
        return os.environ[LA_CODE_ENV]
    name = Path(os.path.abspath(extract_dir)).parent.name
    return name if COUNCIL_FOLDER_RE.match(name) else None


def first_month(today: date | None = None) -> str:
    """The first monthly partition: ``$CSC_FIRST_MONTH`` (YYYY-MM) when set, else the council's
    earliest extract folder, else twelve months before this one (no extract has landed yet)."""
    if os.environ.get(FIRST_MONTH_ENV):
        return os.environ[FIRST_MONTH_ENV]
    found = extract_months(extracts_from_env())
    if found:
        return found[0]
    today = today or date.today()
    return f"{today.year - 1:04d}-{today.month:02d}"
