"""When a month runs: a sensor for newly landed extract folders and a monthly schedule.

The sensor only looks at the filesystem (never the warehouse, whose file a run may be writing).
A folder is ready when its manifest is present, or when every required file is present and none
has changed for a settle interval. Its run key carries a fingerprint of the files (the manifest's
checksums, else names, sizes and modification times), so the same delivery never runs twice and a
corrected re-delivery runs again.
"""


from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dagster_project.contract import TABLES
from dagster_project.partitions import monthly_partitions
from dagster_project.settings import extracts_from_env

SETTLE_SECONDS = 300
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ReadyMonth:
    month: str  # partition key 'YYYY-MM'
    fingerprint: str

    @property
    def run_key(self) -> str:
        return f"{self.month}:{self.fingerprint}"


def _fingerprint_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        digest.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def folder_readiness(folder: Path, now: float, settle_seconds: float = SETTLE_SECONDS) -> str | None:
    """The folder's fingerprint if it is complete and settled, else None."""
    manifest = folder / MANIFEST
    if manifest.exists():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8-sig")).get("files", {})
        except (json.JSONDecodeError, OSError):
            return None  # being written; a malformed manifest is reported by the load itself once settled
        checksums = "".join(f"{name}:{meta.get('sha256')}" for name, meta in sorted(files.items()))
        return hashlib.sha256(checksums.encode()).hexdigest()[:16]
    required = [folder / t.file_name for t in TABLES if t.required]
    if not all(f.exists() for f in required):
        return None
    present = [f for f in folder.glob("*.csv")]
    if now - max(f.stat().st_mtime for f in present) < settle_seconds:
        return None
    return _fingerprint_files(present)


def ready_months(extracts_dir: Path, valid_keys: set[str], now: float,
                 settle_seconds: float = SETTLE_SECONDS) -> list[ReadyMonth]:
    """Month folders under ``extracts_dir`` that are partitions and ready to load, oldest first."""
    if not extracts_dir.is_dir():
        return []
    out = []
    for folder in sorted(p for p in extracts_dir.iterdir() if p.is_dir() and p.name in valid_keys):
        fingerprint = folder_readiness(folder, now, settle_seconds)
        if fingerprint:
            out.append(ReadyMonth(folder.name, fingerprint))
    return out


def build_automation(job: dg.UnresolvedAssetJobDefinition) -> tuple[dg.SensorDefinition, dg.ScheduleDefinition]:
    @dg.sensor(job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
    def new_extract_sensor(context: dg.SensorEvaluationContext):
        """Start the month's run when its extract folder is complete and not yet loaded as it is."""
        keys = set(monthly_partitions.get_partition_keys())
        for ready in ready_months(extracts_from_env(), keys, time.time()):
            yield dg.RunRequest(run_key=ready.run_key, partition_key=ready.month,
                                tags={"csc/trigger": "sensor", "csc/fingerprint": ready.fingerprint})

    # On the 5th of each month at 07:00 run the month just ended (its extract lands in the first days).
    monthly_schedule = dg.build_schedule_from_partitioned_job(
        job, name="monthly_schedule", day_of_month=5, hour_of_day=7,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    return new_extract_sensor, monthly_schedule
