"""Terminal progress for long runs: one line per stage of each month, failures in plain words.

A Dagster logger, so the CLI shows the run's own events (it never tracks the stages itself); a
step's failure line is printed from the run's events when it has ended (:func:`failure_line`).
"""

from __future__ import annotations

import logging
import re
import sys

import dagster as dg
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

STAGES = {
    "ssd_extract": "ingest",
    "csc_dbt_models": "build + dbt tests",
    "published__scorecard": "publish",
}


def stage_of(step_key: str | None) -> str:
    if not step_key:
        return "run"
    return STAGES.get(step_key, step_key.replace("__", " "))


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
QUOTED_VALUE = re.compile(r"'[^'\n]*'")
DBT_ERRORS = "Errors parsed from dbt logs:"


def failure_reason(error) -> str:
    """One line a person can act on, from a step's error (a ``SerializableErrorInfo``).

    Dagster wraps what went wrong (``Error occurred while executing op ...``): the reason is the
    innermost cause. For a failed dbt build it is dbt's own error (the node and what happened),
    not dagster-dbt's "The dbt CLI process with command ...". Terminal colour codes are removed,
    and quoted literals are replaced by '…': a library's error can quote a value from the data
    (DuckDB's "Could not convert string '...'"), and the terminal is no place for one. The whole
    error, cause chain and traceback included, goes to the month's private log (``cli.runner.run_month``).
    """
    while error.cause is not None:
        error = error.cause
    text = ANSI_ESCAPE.sub("", error.message)
    if DBT_ERRORS in text:
        blocks = [b for b in text.split(DBT_ERRORS, 1)[1].split("\n\n") if b.strip()]
        lines = [line.strip() for b in blocks[:2] for line in b.splitlines()
                 if line.strip() and not line.strip().startswith("compiled code at")]
        reason = "dbt build failed: " + "; ".join(lines)
    else:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        prefix, sep, rest = first.partition(": ")
        if sep and prefix.split(".")[-1] == error.cls_name:  # '_duckdb.OutOfMemoryException: ...'
            first = rest
        reason = f"{error.cls_name}: {first}" if first else error.cls_name
    return QUOTED_VALUE.sub("'…'", reason)


def step_failure_reason(data) -> str:
    """Why a step failed (its ``StepFailureData``): the description our own ``dg.Failure`` gives
    (already written for a person), else :func:`failure_reason` of its error (a failed dbt build's
    ``DagsterDbtCliRuntimeError`` is a ``dg.Failure`` too, but dbt's own error is the reason);
    '' if it has neither."""
    description = data.user_failure_data.description if data.user_failure_data else None
    if description and DBT_ERRORS not in description:
        return description
    return failure_reason(data.error) if data.error else ""


def failure_line(month: str, step_key: str | None, data) -> str:
    """The progress line of a failed step (``data``: its ``StepFailureData``). A step stopped by
    its blocking checks says so (Dagster calls every blocking check's severity ERROR, a policy's
    ``hold`` included; the BLOCKED lines above name them and say what to do)."""
    if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
        return f"[{month}] {stage_of(step_key)}: HELD by the blocking checks above"
    reason = step_failure_reason(data)
    return f"[{month}] {stage_of(step_key)}: FAILED - {reason.splitlines()[0] if reason else ''}"


class ProgressHandler(logging.Handler):
    """Started, done, a user message and a failed check, as they happen. A step's failure line is
    printed by the CLI from the run's events once the run has ended (``cli.runner.run_month``):
    printed from here it went missing from the terminal three times in CI under load, though the
    event was in the run's event log and this handler had received it."""

    def __init__(self, stream=None) -> None:
        # Dagster logs step events (STEP_START, ...) at DEBUG: take everything and filter here.
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stderr

    def _month(self, meta: dict) -> str:
        return meta.get("job_tags", {}).get("dagster/partition", "?")

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None)
        if not meta:
            return
        event = meta.get("dagster_event")
        month = self._month(meta)
        line = None
        if event is None:
            msg = meta.get("orig_message", "")
            if msg.startswith(f"[{month}]"):
                line = msg
        elif event.event_type_value == "STEP_START":
            line = f"[{month}] {stage_of(meta.get('step_key'))}: started"
        elif event.event_type_value == "STEP_SUCCESS":
            line = f"[{month}] {stage_of(meta.get('step_key'))}: done"
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:  # Dagster's ERROR is every blocking check, hold or error in the policy
                said = "blocking" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "warning"
                line = (f"[{month}] check failed ({said}): "
                        f"{evaluation.asset_key.to_user_string()} / {evaluation.check_name}")
        if line:
            print(line, file=self.stream, flush=True)


@dg.logger(description="One line per stage and month on stderr, and every failed check.")
def progress_logger(_init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("csc_warehouse.progress")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if not any(isinstance(h, ProgressHandler) for h in log.handlers):
        log.addHandler(ProgressHandler())
    return log
