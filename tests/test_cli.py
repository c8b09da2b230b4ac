"""The csc-warehouse command line: help everywhere, usage errors exit 2 with a clear message."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dagster_project.cli.selection import SelectionError, select_months
from dagster_project.extracts.fault_catalogue import FAULTS
from dagster_project.settings import PUBLIC_VARIANT_ENV

CLI = [str(Path(sys.executable).parent / "csc-warehouse")]


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("command", [[], ["generate"], ["run"], ["signoff"], ["worklist"], ["rotate-key"], ["ui"]])
def test_help_on_every_command(command):
    res = cli(*command, "--help")
    assert res.returncode == 0, res.stderr
    assert "Usage: csc-warehouse" in res.stdout


def test_every_command_is_listed_in_main_help():
    out = cli("--help").stdout
    for command in ("generate", "run", "signoff", "worklist", "rotate-key", "ui"):
        assert command in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--extracts", "."], "exactly one of --month, --all"),
        (["run", "--extracts", ".", "--month", "2023-07", "--all"], "exactly one of --month, --all"),
        (["run", "--extracts", ".", "--month", "2023-13"], "not a month in the form YYYY-MM"),
        (["generate", "--out", "x", "--first", "2023-07", "--last", "2023-06"], "is after --last"),
        (["generate", "--out", "x", "--first", "2023-07", "--last", "2023-07", "--inject", "nope"],
         "unknown fault"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert message in " ".join((res.stderr + res.stdout).split())


def test_missing_extracts_folder_exits_2(tmp_path):
    res = cli("run", "--extracts", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"), "--all")
    assert res.returncode == 2
    assert "does not exist" in res.stderr
    assert not (tmp_path / "h").exists()


def test_month_folder_missing_is_rejected_with_exit_2(tmp_path):
    (tmp_path / "extracts" / "2023-06").mkdir(parents=True)
    res = cli("run", "--extracts", str(tmp_path / "extracts"), "--home", str(tmp_path / "h"), "--month", "2023-07")
    assert res.returncode == 2, res.stderr
    assert "2023-07" in res.stderr
    assert not (tmp_path / "h" / "published").exists()


# --------------------------------------------------------------------------------------------
# which months a run runs (dagster_project/cli/selection.py)

FOUND = ["2023-04", "2023-05", "2023-06", "2023-07"]


def test_a_month_without_an_extract_is_refused_naming_the_months_that_exist():
    with pytest.raises(SelectionError, match="no extract folder for 2023-09; extract months found: 2023-04, "
                                             "2023-05, 2023-06, 2023-07"):
        select_months(FOUND, [], month="2023-09")


def test_a_published_month_runs_again_only_with_force():
    with pytest.raises(SelectionError, match="2023-05 is already published; add --force"):
        select_months(FOUND, ["2023-05"], month="2023-05")
    assert select_months(FOUND, ["2023-05"], month="2023-05", force=True).months == ["2023-05"]
    chosen = select_months(FOUND, ["2023-04", "2023-05"], all_months=True)
    assert chosen.months == ["2023-06", "2023-07"]
    assert chosen.notes == ["already published, skipped: 2023-04, 2023-05 (add --force to run them again)"]
    assert select_months(FOUND, ["2023-04"], all_months=True, force=True).months == FOUND
    assert select_months(FOUND, FOUND, all_months=True).months == []  # a backfill run twice: nothing to do


def test_from_alone_runs_to_the_latest_extract_and_says_so():
    chosen = select_months(FOUND, [], from_month="2023-05")
    assert chosen.months == ["2023-05", "2023-06", "2023-07"]
    assert chosen.notes == ["--from 2023-05 without --to: running to the latest extract, 2023-07"]
    assert select_months(FOUND, [], to_month="2023-05").months == ["2023-04", "2023-05"]
    with pytest.raises(SelectionError, match="--from 2023-07 is after --to 2023-05"):
        select_months(FOUND, [], from_month="2023-07", to_month="2023-05")


def test_generate_help_lists_every_fault_and_run_flags_take_no_value():
    text = " ".join(cli("generate", "--help", env={**os.environ, "COLUMNS": "200"}).stdout.split())
    for name, what in FAULTS.items():
        assert f"{name} {what.split()[0]}" in text, name
    run_help = cli("run", "--help", env={**os.environ, "COLUMNS": "200"}).stdout
    for flag in ("--all", "--force", "--public"):
        line = next(line for line in run_help.splitlines() if flag in line)
        assert "<bool>" not in line, line


def test_a_bad_public_variant_setting_exits_2_before_anything_runs(tmp_path):
    (tmp_path / "extracts" / "2023-05").mkdir(parents=True)
    res = cli("run", "--extracts", str(tmp_path / "extracts"), "--home", str(tmp_path / "home"), "--all",
              env={**os.environ, PUBLIC_VARIANT_ENV: "yes"})
    assert res.returncode == 2 and f"${PUBLIC_VARIANT_ENV}='yes'" in res.stderr, res.stderr
    assert not (tmp_path / "home").exists()


@pytest.mark.e2e
def test_the_ui_starts_and_stops_cleanly_on_sigterm_even_started_in_the_background(tmp_path):
    port = _free_port()
    # a background job of a non-interactive shell: SIGINT ignored, as `dagster dev &` had it
    proc = subprocess.Popen([*CLI, "ui", "--extracts", str(tmp_path / "extracts"), "--home", str(tmp_path / "h"),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN), start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()[-3000:]
                assert time.time() < deadline, "the UI did not come up"
                time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        time.sleep(1)
        with pytest.raises(ProcessLookupError):  # nothing of its process group is left
            os.killpg(proc.pid, 0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# what a failed run says on the terminal (dagster_project/progress.py: failure_reason)

def _error_info(raise_it):
    from dagster._utils.error import serializable_error_info_from_exc_info

    try:
        raise_it()
    except Exception:
        return serializable_error_info_from_exc_info(sys.exc_info())


def test_a_failed_step_is_reported_by_its_innermost_cause_without_the_data_values_it_quotes():
    import duckdb
    from dagster._core.errors import DagsterExecutionStepExecutionError

    from dagster_project.progress import failure_reason

    def cast_a_value():
        duckdb.sql("select cast('P0001234' as integer)").fetchall()

    def wrapped():
        try:
            cast_a_value()
        except duckdb.Error as cause:
            raise DagsterExecutionStepExecutionError(
                'Error occurred while executing op "ssd_extract":', user_exception=cause,
                original_exc_info=sys.exc_info(), step_key="ssd_extract", op_name="ssd_extract",
                op_def_name="ssd_extract") from cause

    reason = failure_reason(_error_info(wrapped))
    assert reason.startswith("ConversionException: Conversion Error: Could not convert string '…'"), reason
    assert "P0001234" not in reason and "Error occurred while executing op" not in reason


def test_a_failed_dbt_build_is_reported_by_dbts_own_error_without_colour_codes():
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from dagster_project.progress import failure_reason

    def dbt_failed():  # the description dagster-dbt 0.29 builds (DbtCliInvocation.get_error)
        raise DagsterDbtCliRuntimeError(description=(
            "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `1`. Check the stdout "
            "in the Dagster compute logs for the full information about the error.\n\n"
            "Errors parsed from dbt logs:\n\n"
            "\x1b[31mDatabase Error in model fct_contacts (models/marts/fct_contacts.sql)\x1b[0m\n"
            "  Out of Memory Error: could not allocate block of size 256.0 KiB\n"
            "  compiled code at target/compiled/csc/models/marts/fct_contacts.sql"))

    reason = failure_reason(_error_info(dbt_failed))
    assert reason == ("dbt build failed: Database Error in model fct_contacts (models/marts/fct_contacts.sql); "
                      "Out of Memory Error: could not allocate block of size 256.0 KiB")


def test_a_step_stopped_by_its_blocking_checks_says_held_not_error():
    """Dagster calls every blocking check's severity ERROR, a policy's hold included: the line says
    the step was held by the checks (named, with the next step, on the BLOCKED lines above it)."""
    from dagster._core.errors import DagsterAssetCheckFailedError
    from dagster._core.execution.plan.objects import StepFailureData

    from dagster_project.progress import failure_line

    def checks_failed():
        raise DagsterAssetCheckFailedError("3 blocking asset checks failed with ERROR severity:\n...")

    data = StepFailureData(error=_error_info(checks_failed), user_failure_data=None)
    assert failure_line("2023-12", "raw_quality", data) == "[2023-12] raw_quality: HELD by the blocking checks above"


def test_the_summary_of_a_published_month_with_quarantined_rows_says_so_and_how_to_list_them(
        tmp_path, capsys, monkeypatch):
    """A month can publish with rows quarantined (under the policy's rate): the figures leave them
    out, so the run's summary says how many, with the command that lists them, not only the ingest's
    progress line."""
    import duckdb
    from rich.console import Console

    from dagster_project import cli
    from dagster_project.cli.runner import MonthResult, Outcome
    from dagster_project.ingest.raw_schema import create_raw_schema
    from dagster_project.settings import HomePaths

    paths = HomePaths(tmp_path)
    paths.work_db.parent.mkdir(parents=True)
    con = duckdb.connect(str(paths.work_db))
    create_raw_schema(con)
    con.executemany(
        "insert into raw.load_log (extract_month, table_name, rows_read, rows_loaded, rows_quarantined, "
        "duplicates_dropped, run_id) values (?, ?, ?, ?, ?, ?, ?)",
        [("2023-06-01", "ssd_contacts", 100, 96, 3, 1, "run-a"), ("2023-06-01", "ssd_person", 50, 48, 2, 0, "run-a"),
         ("2023-07-01", "ssd_contacts", 100, 100, 0, 0, "run-b"), ("2023-05-01", "ssd_contacts", 9, 0, 9, 0, "old")])
    con.close()

    monkeypatch.setattr(cli, "console", Console(stderr=True, width=300))  # one line per row of the table
    cli._summary([MonthResult("2023-06", Outcome.PUBLISHED, "run-a"),
                  MonthResult("2023-07", Outcome.PUBLISHED, "run-b")], paths)

    out = capsys.readouterr().err
    assert ("5 rows quarantined, left out of every figure: "
            f"csc-warehouse worklist --home {tmp_path} --month 2023-06") in out
    assert out.count("quarantined") == 1  # July quarantined nothing; May was another run
