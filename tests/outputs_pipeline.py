"""One real pipeline run shared by the published-outputs tests (workbook, page, privacy, suppression).

Small-area demo extracts (scale 0.1, about a tenth of Bradford, so counts of 1 to 5 children
occur) for June and July 2023, run through the CLI: June internal only, July with ``--public``,
both with a non-default pseudonymisation key so the tests can look for it. The pipeline runs
once per test session: the first worker to need it builds it under a file lock in the session's
shared temporary folder, the others wait and reuse it (the tests only read it): the fixture
``published_home`` (tests/conftest.py). The modules are
also marked with the xdist group ``outputs``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from tests.pipeline_helpers import generate, run

FIRST, LAST = "2023-06", "2023-07"
SCALE = 0.1
SECRET_KEY = "t3st-Pseudonym-Key-7f9c2e" * 3  # 75 characters; must appear in no published file or table
ENV = {"CSC_PSEUDONYM_KEY": SECRET_KEY, "COLUMNS": "250"}  # a wide summary table: one line per month
XDIST_GROUP = pytest.mark.xdist_group("outputs")


@dataclass(frozen=True)
class PublishedHome:
    extracts: Path
    home: Path
    first_run_stderr: str
    public_run_stderr: str

    @property
    def published(self) -> Path:
        return self.home / "published"

    @property
    def warehouse(self) -> Path:
        return self.published / "warehouse.duckdb"

    def month_dir(self, month: str = LAST) -> Path:
        return self.published / month


def build_published_home(root: Path) -> PublishedHome:
    extracts, home = root / "extracts", root / "home"
    generate(extracts, FIRST, LAST, scale=SCALE, seed=7)
    first = run(extracts, home, "--month", FIRST, env=ENV)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-5000:]
    public = run(extracts, home, "--month", LAST, "--public", env=ENV)
    assert public.returncode == 0, public.stdout[-3000:] + public.stderr[-5000:]
    return PublishedHome(extracts, home, first.stderr, public.stderr)


def shared_published_home(tmp_path_factory: pytest.TempPathFactory) -> PublishedHome:
    """Built once per test session, shared by every xdist worker (a file lock, as xdist advises)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this session's, all workers
    root = shared / "csc-outputs"
    done = root / "done.json"
    with FileLock(str(shared / "csc-outputs.lock")):
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            built = build_published_home(root)
            done.write_text(json.dumps({"first": built.first_run_stderr, "public": built.public_run_stderr}))
    logs = json.loads(done.read_text())
    return PublishedHome(root / "extracts", root / "home", logs["first"], logs["public"])
