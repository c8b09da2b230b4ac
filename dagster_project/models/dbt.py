"""The dbt project as Dagster assets: one ``dbt build`` per extract month.

``dbt build`` (not run + test) so that a failing test stops the models downstream of it; every
dbt test becomes a Dagster asset check, blocking when its severity is ``error``. The argument
builder is a pure function, unit-tested.
"""


import importlib.metadata
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from filelock import FileLock
from packaging import version

from dagster_project.models.dbt_in_process import build_in_process
from dagster_project.models.engines import (
    DBT_DIR,
    DBT_EXECUTABLE,
    REPO_ROOT,
    EngineError,
    bring_back,
    dbt_executable,
    engine_build,
    engine_env,
)
from dagster_project.partitions import monthly_partitions
from dagster_project.pseudonym import configured_key, key_env
from dagster_project.resources import WarehouseResource
from dagster_project.settings import DUCKDB, WRITER_POOL

SEEDS_DIR = REPO_ROOT / "seeds"
WAREHOUSE_DB_ENV = "CSC_WAREHOUSE_DB"
EXTRACT_MONTH_ENV = "CSC_EXTRACT_MONTH"
PARTIAL_PARSE = "partial_parse.msgpack"


def month_start(partition_key: str) -> str:
    """'2023-07' (a partition key) -> '2023-07-01', the value of dbt's ``extract_month`` var."""
    return f"{partition_key[:7]}-01"


def dbt_build_args() -> list[str]:
    """The dbt command of every month's build.

    The month is not a ``--vars`` argument but the environment variable ``CSC_EXTRACT_MONTH``
    (:func:`dbt_build_env`; macro ``extract_month``, which reads it only when dbt executes): dbt
    re-parses the whole project when its vars change (7-9 s), and nothing when the month changes.
    dbt unit tests check the models' logic, not the month's data: they run in the test
    suite (tests/test_dbt_project.py), not in every production build.
    """
    return ["build", "--exclude-resource-type", "unit_test"]


def dbt_build_env(partition_key: str, warehouse_db: Path) -> dict[str, str]:
    """The environment variables of one extract month's build."""
    return {WAREHOUSE_DB_ENV: str(warehouse_db), EXTRACT_MONTH_ENV: month_start(partition_key)}


def carry_partial_parse(saved: Path, target: Path) -> None:
    """Seed a run's target folder with the partial-parse state the previous build saved in ``saved``.

    dbt keeps its parsed project in ``partial_parse.msgpack`` in the target folder; each run has
    its own target folder, and the project's own (from ``dbt parse`` on the ``lint`` target) does
    not match the warehouse profile, so without this every build parses from scratch.
    """
    source = saved / PARTIAL_PARSE
    if source.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / PARTIAL_PARSE)


def keep_partial_parse(target: Path, saved: Path) -> None:
    """Save a build's partial-parse state for the next build (atomically: a reader never sees half)."""
    produced = target / PARTIAL_PARSE
    if produced.exists():
        tmp = saved / f".{PARTIAL_PARSE}.tmp"
        shutil.copyfile(produced, tmp)
        os.replace(tmp, saved / PARTIAL_PARSE)


def _newest_source_mtime(project_dir: Path, seeds_dir: Path) -> float:
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for sub in ("models", "macros", "tests"):
        files += [p for p in (project_dir / sub).rglob("*") if p.is_file()]
    files += [p for p in seeds_dir.rglob("*") if p.is_file()]
    return max((p.stat().st_mtime for p in files if p.exists()), default=0.0)


def manifest_is_stale(manifest: Path, project_dir: Path = DBT_DIR, seeds_dir: Path = SEEDS_DIR) -> bool:
    """True when the manifest is missing or older than any file of the dbt project."""
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project_dir, seeds_dir)


def prepare_manifest(project: DbtProject) -> Path:
    """Run ``dbt parse`` when the manifest is missing or stale (serialised across processes).

    ``dbt parse`` never opens the warehouse file, so it is safe while a run is writing.
    """
    manifest = project.manifest_path
    with FileLock(str(project.project_dir / ".parse.lock")):
        if manifest_is_stale(manifest, Path(project.project_dir)):
            subprocess.run(
                [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(project.project_dir)],
                cwd=project.project_dir,
                check=True,
                env={**os.environ, "DBT_TARGET": "lint"},
            )
            manifest.touch()
    return manifest


dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
prepare_manifest(dbt_project)


class CscDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by layer (staging, intermediate, marts) and area."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        layer = fqn[1] if len(fqn) > 2 else "dbt"
        return layer


translator = CscDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    partitions_def=monthly_partitions,
    dagster_dbt_translator=translator,
    pool=WRITER_POOL,
    backfill_policy=dg.BackfillPolicy.multi_run(1),  # months run one by one, in order
)
def csc_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Build staging, intermediate and marts for the extract month of this partition: in the working
    warehouse, or on the engine of ``$CSC_ENGINE`` with the raw layer shipped there first and the
    marts brought back after (models/engines)."""
    engine, paths = warehouse.engine, warehouse.paths
    if dbt.target != engine:
        raise EngineError(f"the run's engine is {engine} but the code location's dbt builds on {dbt.target}: "
                          "set $CSC_ENGINE where the code location loads, not in a run's configuration")
    os.environ.update(dbt_build_env(context.partition_key, paths.work_db))
    os.environ.update(key_env(paths))  # where dbt's key plugin reads the key (never the key)
    saved = paths.dbt_target
    target = saved / context.run_id[:8]
    carry_partial_parse(saved, target)
    if engine == DUCKDB:
        try:
            yield from build_in_process(context, dbt, dbt_build_args(), target)
        finally:
            keep_partial_parse(target, saved)
        return
    os.environ.update(engine_env(engine, paths))
    with engine_build(engine, paths) as build:
        with warehouse.connect(read_only=True) as con:
            shipped = build.ship(con, configured_key())
        context.log.info(f"{engine}: shipped the raw layer ({len(shipped)} tables, {sum(shipped.values()):,} rows) "
                         "and the key")
        # the build's events wait until its marts are back: Dagster shows them built only once they are
        events = []
        try:
            events.extend(dbt.cli(dbt_build_args(), context=context, target_path=target).stream())
        except BaseException:
            yield from events  # the tests that failed, as asset checks
            raise
        finally:
            keep_partial_parse(target, saved)
        with warehouse.connect() as con:
            marts = bring_back(build, con, target, date.fromisoformat(month_start(context.partition_key)))
        context.log.info(f"{engine}: brought back {len(marts)} marts ({sum(marts.values()):,} rows) into the "
                         "working warehouse")
    yield from events


class CscDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs this project does not use.

    Before each ``dbt`` command, dagster-dbt 0.29 runs ``dbt --version`` in a second process and
    builds an in-process dbt adapter (loading the profile, project and macros); the adapter only
    serves ``fetch_column_metadata`` / ``fetch_row_counts``, which this project does not call.
    Together 5-7 s of every month's run (profile in bench/results.md). The dbt executables are the
    one installed beside dbt-core in this environment and dbt-spark's (.venv-spark), both pinned to
    the same dbt-core (requirements.lock, requirements-spark.lock), so their version is this dbt-core's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # ty: ignore[invalid-method-override]
        return None


def dbt_resource(engine: str = DUCKDB) -> DbtCliResource:
    """dbt on ``engine``'s target, with the dbt installed for it."""
    return CscDbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_DIR), target=engine,
                             dbt_executable=dbt_executable(engine))
