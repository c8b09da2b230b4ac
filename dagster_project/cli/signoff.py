"""``csc-warehouse signoff``: a named person accepts a held check for one month.

The typer command (cli/__init__.py) calls :func:`signoff`; it raises
:class:`~dagster_project.checks.signoff.SignOffRefused` with a message for the person when the
sign-off cannot be recorded (a name or reason that is empty, too long or holds control
characters; unknown or error check, nothing failed, a run in progress): the CLI exits 2.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from dagster_project.checks.policy import current_policy
from dagster_project.checks.results import SignOff
from dagster_project.checks.signoff import (
    BY_LENGTH,
    REASON_LENGTH,
    SignOffRefused,
    record_signoff,
    validate_text,
)
from dagster_project.contract import parse_month
from dagster_project.settings import HomePaths

RUN_LOCK = ".run.lock"  # the lock `csc-warehouse run` holds (runs and sign-offs never overlap)


def signoff(home: Path, month: str, check_id: str, by: str, reason: str) -> None:
    """Record a sign-off of ``check_id`` for ``month`` ('YYYY-MM') in the working warehouse."""
    record(home, month, check_id, by, reason)


def record(home: Path, month: str, check_id: str, by: str, reason: str) -> SignOff:
    # what the person typed is checked before anything is opened
    by, reason = validate_text("--by", by, BY_LENGTH), validate_text("--reason", reason, REASON_LENGTH)
    paths = HomePaths(Path(home).resolve())
    if not paths.work_db.exists():
        raise SignOffRefused(f"no working warehouse at {paths.work_db}: run the month first")
    try:
        with FileLock(str(paths.private_dir / RUN_LOCK), timeout=1):
            con = duckdb.connect(str(paths.work_db))
            try:
                return record_signoff(con, current_policy(), parse_month(month), check_id, by, reason)
            finally:
                con.close()
    except Timeout:
        raise SignOffRefused(f"a run is using {paths.home}; sign off when it has finished") from None
