"""Sensor and schedule, exercised through Dagster's own APIs; readiness rules as pure functions."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dagster_project.contract import TABLES
from dagster_project.ingest.automation import folder_readiness, ready_months
from dagster_project.settings import EXTRACTS_ENV


def _write_required(folder: Path, age_seconds: float = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        if t.required:
            f = folder / t.file_name
            f.write_text(",".join(c.name for c in t.columns) + "\n")
            if age_seconds:
                past = time.time() - age_seconds
                os.utime(f, (past, past))


def test_folder_without_manifest_waits_for_all_files_and_settle(tmp_path):
    folder = tmp_path / "2023-07"
    folder.mkdir()
    (folder / "ssd_person.csv").write_text("pers_person_id\n")
    assert folder_readiness(folder, time.time()) is None  # incomplete
    _write_required(folder)
    assert folder_readiness(folder, time.time(), settle_seconds=300) is None  # still changing
    assert folder_readiness(folder, time.time() + 301, settle_seconds=300) is not None


def test_manifest_makes_a_folder_ready_and_fingerprints_its_checksums(tmp_path):
    folder = tmp_path / "2023-07"
    folder.mkdir()
    manifest = {"files": {"ssd_person.csv": {"rows": 1, "sha256": "a" * 64}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    first = folder_readiness(folder, time.time())
    assert first is not None
    manifest["files"]["ssd_person.csv"]["sha256"] = "b" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert folder_readiness(folder, time.time()) not in (None, first)


def test_ready_months_only_partitions_oldest_first(tmp_path):
    for m in ("2023-08", "2023-07", "not-a-month"):
        _write_required(tmp_path / m, age_seconds=3600)
    ready = ready_months(tmp_path, {"2023-07", "2023-08"}, time.time())
    assert [r.month for r in ready] == ["2023-07", "2023-08"]


def test_sensor_requests_a_run_per_ready_month_with_stable_run_keys(tmp_path, monkeypatch):
    from dagster_project.definitions import new_extract_sensor

    _write_required(tmp_path / "2023-07", age_seconds=3600)
    monkeypatch.setenv(EXTRACTS_ENV, str(tmp_path))
    # Contexts are entered with `with` so Dagster restores its per-instance state on exit
    # (a bare build_*_context leaves the instance's storage registered after the test).
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance) as ctx:
            requests = list(new_extract_sensor(ctx))
        with dg.build_sensor_context(instance=instance) as ctx:
            again = list(new_extract_sensor(ctx))
    assert [r.partition_key for r in requests] == ["2023-07"]
    assert requests[0].run_key == again[0].run_key
    assert requests[0].run_key.startswith("2023-07:")


def test_schedule_runs_the_month_just_ended():
    from dagster_project.definitions import monthly_schedule

    when = datetime(2024, 1, 5, 7, 0, tzinfo=UTC)
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as ctx,
    ):
        data = monthly_schedule.evaluate_tick(ctx)
    assert [r.partition_key for r in data.run_requests] == ["2023-12"]
