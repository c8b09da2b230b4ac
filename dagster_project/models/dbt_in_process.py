"""dbt run in the run's own process (``dbtRunner``), its results turned into Dagster events by dagster-dbt.

dagster-dbt starts dbt as a second Python process and reads its JSON log. On DuckDB that process
costs a month 2-4 s of CPU before dbt does anything (starting Python and importing dbt, which the
code location has already imported: bench/before_after.md), and a backfill pays it once per month.
Here the same ``dbt`` command runs in-process: dagster-dbt still decides what to select (a subset
of the assets or checks) and turns each node's result into the Dagster event it would have made
from the JSON log line (:class:`~dagster_dbt.core.dbt_cli_event.DbtCoreCliEventMessage`), so the
assets, checks and failures are the same. Three differences:

- dbt's events reach Dagster when the build ends, not node by node (as the engines' builds already
  do: models/dbt.py). dbt's own log lines go to stdout as they happen (the month's log file).
- Python's garbage collector is kept off what the process held before the build (``gc.freeze``):
  in the run's big process dbt's parse and execution otherwise took 0.5-1 s longer than in its own.
  The build's garbage is collected before they are unfrozen.
- dbt-duckdb keeps its database open after a build (``keep_open``); it is closed here, since the
  run's later steps open the warehouse file again, read-only, in this same process.

And what a second process gave for free: a crash of DuckDB inside dbt (an abort, or the kernel
killing the process for memory) now ends the run's process, so the run is marked failed by the
next ``csc-warehouse run`` (``cli.runner.reap_dead_runs``) rather than as a failed step; an interrupt reaches dbt as
the KeyboardInterrupt it cancels its queries on (``raise_interrupts_as``); and anything dbt writes
to stderr (not its log lines) reaches the terminal rather than the month's log.

Engines other than DuckDB keep dagster-dbt's process: Spark's dbt is another environment's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._utils.interrupts import raise_interrupts_as
from dagster_dbt import DbtCliResource
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from dagster_project.progress import DBT_ERRORS

# the dbt events a node's result is read from (dagster-dbt's DbtCoreCliEventMessage.is_result_event)
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def dbt_argv(args: Sequence[str], dbt: DbtCliResource, project_dir: Path, target_path: Path,
             selection_args: Sequence[str], indirect_selection: str | None) -> list[str]:
    """The arguments of the in-process command: what dagster-dbt gives its dbt process on its command
    line and in environment variables (target and log folders, profiles, target, selection)."""
    argv = [*dbt.global_config_flags, "--no-use-colors", "--no-send-anonymous-usage-stats", *args,
            "--project-dir", str(project_dir), "--profiles-dir", str(dbt.profiles_dir or project_dir),
            "--target-path", str(target_path), "--log-path", str(target_path)]
    if dbt.profile:
        argv += ["--profile", dbt.profile]
    if dbt.target:
        argv += ["--target", dbt.target]
    if indirect_selection:
        argv += ["--indirect-selection", indirect_selection]
    return [*argv, *selection_args]


def close_duckdb() -> None:
    """Close the database dbt-duckdb keeps open between builds (its ``keep_open`` default)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager.close_all_connections()  # forgets it without closing it
        if env is not None:
            env.close()


def build_in_process(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str],
                     target_path: Path) -> Iterator[Any]:
    """Run ``dbt <args>`` for the assets and checks ``context`` selects; yield their Dagster events,
    then raise :class:`DagsterDbtCliRuntimeError` (dbt's error messages in it) if dbt failed."""
    from dbt.adapters.factory import reset_adapters
    from dbt.cli.main import dbtRunner
    from dbt_common.events.event_manager_client import cleanup_event_logger
    from dbt_common.events.functions import msg_to_dict

    params = get_updated_cli_invocation_params_for_context(context=context, manifest={},
                                                            dagster_dbt_translator=None)
    project_dir = Path(params.dbt_project.project_dir if params.dbt_project else dbt.project_dir)
    argv = dbt_argv(args, dbt, project_dir, target_path, params.selection_args, params.indirect_selection)
    results: list[dict] = []
    errors: list[str] = []

    def collect(msg) -> None:  # called on dbt's threads, for each of its few thousand events
        if msg.info.level == "error":
            errors.append(msg.info.msg)
        if msg.info.name in RESULT_EVENTS:
            results.append(msg_to_dict(msg))

    context.log.info(f"dbt {' '.join(argv)} (in this process)")
    # dbt makes hundreds of thousands of objects; Python's full collections would also walk every
    # object this process already holds (Dagster, Great Expectations, polars): parked for the build
    gc.freeze()
    try:
        # Ctrl-C or Dagster terminating the run reaches dbt as the KeyboardInterrupt it handles by
        # cancelling its queries and stopping its threads (Dagster's own interrupt error it does not)
        with raise_interrupts_as(KeyboardInterrupt):
            outcome = dbtRunner(callbacks=[collect]).invoke(argv)
    finally:
        try:
            close_duckdb()
            # dbt keeps the build's adapter, whose connection manager holds a process-shared lock (a
            # named semaphore the run's fast exit would leave behind, with multiprocessing's warning)
            reset_adapters()
            cleanup_event_logger()  # dbt's loggers hold the month's log file and dbt.log open
            # the adapter is in reference cycles: collected here, with the rest of the build's garbage,
            # while what the process held before is still frozen (a collection of the build's objects
            # only: the run's own thresholds, settings.GC_THRESHOLD, may not make a full one before exit)
            gc.collect()
        finally:
            gc.unfreeze()
    for raw in results:
        yield from DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={}).to_default_asset_events(
            manifest=params.manifest, dagster_dbt_translator=params.dagster_dbt_translator, context=context,
            target_path=target_path, project=params.dbt_project)
    if isinstance(outcome.exception, KeyboardInterrupt):
        raise DagsterExecutionInterruptedError()
    if outcome.exception is not None and not isinstance(outcome.exception, Exception):
        raise outcome.exception
    if not outcome.success or errors:  # as dagster-dbt: a non-zero exit or any error dbt logged
        messages = errors or [str(outcome.exception)]
        raise DagsterDbtCliRuntimeError(description="\n\n".join(
            [f"dbt {args[0]} failed (its log: {target_path / 'dbt.log'}).", DBT_ERRORS, *messages]))
