"""Running months through the Dagster job for the CLI, and reading back what happened.

The CLI never runs a stage itself: it launches the ``csc_monthly`` job for each month against the
home's Dagster instance and classifies the run's events into an outcome and an exit code.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import dagster as dg
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from dagster_project.progress import failure_line, step_failure_reason
from dagster_project.settings import EXTRACTS_ENV, HOME_ENV, HomePaths

DAGSTER_YAML = """\
# Written by csc-warehouse. Runs that write the warehouse never overlap.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
# The SQLite event log, with its connections kept open (dagster_project/event_log.py).
event_log_storage:
  module: dagster_project.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {base_dir}
"""

LAUNCHED_BY_TAG = "csc/launched_by"
PID_TAG = "csc/pid"
REJECTED_TAG = "csc/extract_rejected"


class Outcome(Enum):
    PUBLISHED = 0
    REJECTED = 2  # the extract was refused at ingest: nothing of it loaded
    BLOCKED = 3  # a blocking check failed: nothing published
    ERROR = 1  # anything else went wrong


@dataclass
class MonthResult:
    month: str
    outcome: Outcome
    run_id: str
    messages: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    log_file: Path | None = None
    started_at: float = 0.0  # epoch seconds: files older than this are an earlier run's


def prepare_home(home: Path, extracts: Path | None) -> HomePaths:
    """Create the home's folders and Dagster instance config, and point the process at them.

    The home is 0750 (its group reaches the published zone), the private zone and the Dagster
    instance (whose event log holds run messages) 0700: readable by the service account only,
    whatever an earlier version or another tool left (docs/architecture.md, "Zones")."""
    paths = HomePaths(home.resolve())
    for folder, mode in ((paths.home, 0o750), (paths.dagster_home, 0o700), (paths.private_dir, 0o700)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    yaml = paths.dagster_home / "dagster.yaml"
    config = DAGSTER_YAML.format(base_dir=paths.dagster_home / "history" / "runs")
    if not yaml.exists() or yaml.read_text() != config:  # a moved or copied home logs into itself
        yaml.write_text(config)
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ[HOME_ENV] = str(paths.home)
    if extracts is not None:
        os.environ[EXTRACTS_ENV] = str(extracts.resolve())
    return paths


def check_key(paths: HomePaths) -> None:
    """The home's key must be usable and the working warehouse's (recorded on first use); raises
    :class:`~dagster_project.pseudonym.PseudonymKeyError` with a message for the person."""
    import duckdb

    from dagster_project.pseudonym import prepare_key

    con = duckdb.connect(str(paths.work_db))
    try:
        prepare_key(con, paths)
    finally:
        con.close()


@dataclass(frozen=True)
class Rotated:
    old: str | None  # fingerprints
    new: str
    source: str
    month: str | None  # the latest published month, to run again under the new key


def rotate(paths: HomePaths) -> Rotated:
    """Make a new key the warehouse's (module ``dagster_project.pseudonym``): the configured
    one, else a new random key in the home's key file. Idempotent after an interruption: a key
    file already newer than the warehouse's fingerprint is adopted, not replaced again."""
    import duckdb

    from dagster_project.pseudonym import (
        PseudonymKeyError,
        configured_key,
        home_key,
        record_fingerprint,
        warehouse_fingerprint,
        write_new_key,
    )
    from dagster_project.publish.wap import latest_published_month

    con = duckdb.connect(str(paths.work_db))
    try:
        recorded = warehouse_fingerprint(con)
        configured = configured_key()
        if configured is not None:
            if configured.fingerprint == recorded:
                raise PseudonymKeyError(f"the key from {configured.source} is already this warehouse's key: "
                                        "configure the new key there first, then rotate")
            new = configured
        else:
            existing = home_key(paths) if paths.key_file.exists() else None
            # a rotation interrupted after it wrote the key adopts that key rather than making another
            new = existing if existing and existing.fingerprint != recorded else write_new_key(paths.key_file)
        record_fingerprint(con, new)
    finally:
        con.close()
    return Rotated(recorded, new.fingerprint, new.source, latest_published_month(paths))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark CLI runs whose process died (killed mid-run) as failed, freeing their pool slots."""
    reaped = []
    runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
                                        tags={LAUNCHED_BY_TAG: "cli"}))
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid and pid != os.getpid() and _pid_alive(pid):
            continue
        instance.report_run_failed(run, "The process running it died (killed or crashed).")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def classify(result: dg.ExecuteInProcessResult, instance: DagsterInstance, month: str) -> MonthResult:
    """Turn a finished run into an outcome with the reasons a person needs."""
    run_id = result.run_id
    failed_checks: list[str] = []
    messages: list[str] = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR:
                failed_checks.append(f"{ev.asset_key.to_user_string()}:{ev.check_name}")
        elif event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            if data.error and data.error.cls_name == "DagsterAssetCheckFailedError":
                continue  # the failed checks above are the reason, not the step failure they caused
            reason = step_failure_reason(data)
            if reason:
                messages.append(reason)
    if result.success:
        return MonthResult(month, Outcome.PUBLISHED, run_id)
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(REJECTED_TAG) == "true":
        return MonthResult(month, Outcome.REJECTED, run_id, messages)
    if failed_checks:
        return MonthResult(month, Outcome.BLOCKED, run_id, messages, failed_checks)
    return MonthResult(month, Outcome.ERROR, run_id, messages)


PUBLISH_OP = "published__scorecard"


def run_config(public: bool | None = None) -> dict:
    """The run config of a CLI run: the progress logger, and the publication setting (None: the
    publish step's default, ``$CSC_PUBLIC_VARIANT``)."""
    config: dict = {"loggers": {"progress": {}}}
    if public is not None:
        config["ops"] = {PUBLISH_OP: {"config": {"public": public}}}
    return config


def run_month(month: str, instance: DagsterInstance, log_dir: Path, public: bool | None = None) -> MonthResult:
    """Run every stage for one extract month (partition key 'YYYY-MM').

    The terminal shows one line per stage (the progress logger, on stderr; a failed step's line
    once the run has ended, from its events); the full output of
    the run (dbt's included) goes to a log file under ``log_dir``, also kept in the Dagster event log.
    ``public``: also publish the suppressed public variant (None: as ``$CSC_PUBLIC_VARIANT`` says).
    """
    from dagster_project.definitions import MONTHLY_JOB, defs

    job = defs.resolve_job_def(MONTHLY_JOB)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{month}.log"
    started_at = time.time()
    with log_file.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        # the file keeps every run of the month: each begins and ends with a line of its own
        print(f"\n===== csc-warehouse run of {month}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC =====",
              flush=True)
        result = job.execute_in_process(
            partition_key=month,
            instance=instance,
            raise_on_error=False,
            run_config=run_config(public),
            tags={LAUNCHED_BY_TAG: "cli", PID_TAG: str(os.getpid())},
        )
        for event in result.all_events:  # the log is where the whole error is read (private zone)
            if event.event_type_value != "STEP_FAILURE":
                continue
            print(failure_line(month, event.step_key, event.step_failure_data), file=sys.stderr, flush=True)
            if event.step_failure_data.error:
                print(f"\n{event.step_key} failed (run {result.run_id}):\n"
                      f"{event.step_failure_data.error.to_string()}")
        outcome = classify(result, instance, month)
        print(f"===== run {result.run_id} of {month}: {outcome.outcome.name.lower()} =====", flush=True)
        for line in [*outcome.messages, *(f"blocked by {c}" for c in outcome.failed_checks)]:
            print(f"  {line}", flush=True)
    outcome.log_file = log_file
    outcome.started_at = started_at
    return outcome


def exit_code(results: list[MonthResult]) -> int:
    """0 if every month published; else 2 if any was rejected, 3 if any blocked, 1 on other errors."""
    outcomes = {r.outcome for r in results}
    for outcome in (Outcome.ERROR, Outcome.REJECTED, Outcome.BLOCKED):
        if outcome in outcomes:
            return outcome.value
    return 0


def flag_counts(paths: HomePaths, results: list[MonthResult]) -> dict[str, dict[str, int]]:
    """Check statuses of each run (quality.check_results): failed, signed_off, warn, passed."""
    rows = _runs_query(paths, results, "quality", "check_results", """
        select run_id, status, count(*) from (
            select * from quality.check_results where list_contains(?, run_id)
            qualify row_number() over (partition by run_id, check_id order by checked_at desc) = 1)
        group by all""")
    out: dict[str, dict[str, int]] = {}
    for run_id, status, n in rows:
        out.setdefault(run_id, {})[status] = n
    return out


def quarantined_rows(paths: HomePaths, results: list[MonthResult]) -> dict[str, int]:
    """Rows each run's load quarantined (raw.load_log; exact duplicates dropped are not counted)."""
    rows = _runs_query(paths, results, "raw", "load_log", """
        select run_id, sum(rows_quarantined) from raw.load_log where list_contains(?, run_id) group by all""")
    return {run_id: int(n) for run_id, n in rows if n}


def _runs_query(paths: HomePaths, results: list[MonthResult], schema: str, table: str, sql: str) -> list[tuple]:
    """``sql`` (its one parameter: the runs' ids) on the working warehouse, read-only; no rows when
    there is no run id, no warehouse or no ``schema.table`` yet."""
    import duckdb

    run_ids = [r.run_id for r in results if r.run_id]
    if not run_ids or not paths.work_db.exists():
        return []
    con = duckdb.connect(str(paths.work_db), read_only=True)  # the runs have finished: nothing holds it
    try:
        if not con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                           [schema, table]).fetchone()[0]:
            return []
        return con.execute(sql, [run_ids]).fetchall()
    finally:
        con.close()


def published_files(month_dir: Path) -> list[str]:
    """The files of a published month folder, relative to it (public/ variant included)."""
    if not month_dir.exists():
        return []
    return sorted(str(p.relative_to(month_dir)) for p in month_dir.rglob("*") if p.is_file())
