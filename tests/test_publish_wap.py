"""Write-audit-publish: killed runs change nothing published; analysts read throughout a run."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish import wap
from tests.pipeline_helpers import CLI, copy_home, generate, published_hashes, run

pytestmark = pytest.mark.xdist_group(name="wap")


@pytest.fixture(scope="module")
def published_once(tmp_path_factory) -> tuple[Path, Path]:
    """Two generated months; the first one run and published."""
    root = tmp_path_factory.mktemp("wap")
    extracts = root / "extracts"
    generate(extracts, "2023-06", "2023-07")
    home = root / "home"
    res = run(extracts, home, "--month", "2023-06")
    assert res.returncode == 0, res.stderr
    return extracts, home


def _start(extracts: Path, home: Path, month: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [CLI, "run", "--extracts", str(extracts), "--home", str(home), "--month", month],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )


def _kill_when(proc: subprocess.Popen, marker: str, timeout: float = 900) -> list[str]:
    """Read the run's progress lines until ``marker`` appears, then SIGKILL its whole process group."""
    seen: list[str] = []
    deadline = time.time() + timeout
    for line in proc.stderr:
        seen.append(line.rstrip())
        if marker in line:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return seen
        assert time.time() < deadline, f"no {marker!r} within {timeout}s"
    raise AssertionError(f"run ended before {marker!r}: {seen[-5:]}")


def _read_published(home: Path) -> int:
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select count(*) from fct_scorecard").fetchone()[0]
    finally:
        con.close()


def test_killed_runs_leave_published_files_untouched_and_the_next_run_completes(published_once, tmp_path):
    extracts, base = published_once
    home = copy_home(base, tmp_path / "home")
    before = published_hashes(home)

    # killed while dbt is building the candidate warehouse
    proc = _start(extracts, home, "2023-07")
    _kill_when(proc, "[2023-07] build + dbt tests: started")
    time.sleep(1)
    assert proc.returncode == -signal.SIGKILL
    assert published_hashes(home) == before
    assert _read_published(home) > 0

    # killed after every check passed, just before the publish swap
    proc = _start(extracts, home, "2023-07", env={"CSC_FAILPOINT": "before_publish_swap"})
    seen = _kill_when(proc, "failpoint before_publish_swap")
    assert any("publish: started" in line for line in seen)
    assert published_hashes(home) == before
    assert _read_published(home) > 0
    assert not (home / "published" / "2023-07").exists()

    # the next run recovers the interrupted ones and publishes
    res = run(extracts, home, "--month", "2023-07")
    assert res.returncode == 0, res.stderr
    assert "marked interrupted run" in res.stderr
    after = published_hashes(home)
    assert "2023-07/scorecard.csv" in after
    assert after["2023-06/scorecard.csv"] == before["2023-06/scorecard.csv"]
    assert after["warehouse.duckdb"] != before["warehouse.duckdb"]


def test_analysts_read_the_published_warehouse_throughout_a_run(published_once, tmp_path):
    extracts, base = published_once
    home = copy_home(base, tmp_path / "home")
    reads: list[int] = []
    errors: list[str] = []
    proc = _start(extracts, home, "2023-07")

    def reader() -> None:
        while proc.poll() is None:
            try:
                reads.append(_read_published(home))
            except duckdb.Error as exc:  # a lock or a half-written file would show here
                errors.append(str(exc))
            time.sleep(0.05)

    thread = threading.Thread(target=reader)
    thread.start()
    stderr = proc.stderr.read()
    proc.wait()
    thread.join()
    assert proc.returncode == 0, stderr
    assert errors == []
    assert len(reads) > 20
    assert _read_published(home) > 0


def _month_folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "scorecard.csv").write_text(text)
    return path


def test_a_month_folder_is_replaced_by_one_atomic_exchange(tmp_path, monkeypatch):
    final = _month_folder(tmp_path / "published" / "2023-07", "old")
    staged = _month_folder(tmp_path / "staging" / "2023-07", "new")
    renames: list[tuple] = []
    monkeypatch.setattr(wap.os, "replace", lambda *a: renames.append(a))  # the fallback must not run
    wap._swap_dir(staged, final, tmp_path / "staging")
    assert (final / "scorecard.csv").read_text() == "new"
    assert not staged.exists()  # it held the old folder after the exchange, then was removed
    assert renames == []


def test_without_an_exchange_the_folder_is_replaced_by_two_renames(tmp_path, monkeypatch):
    final = _month_folder(tmp_path / "published" / "2023-07", "old")
    staged = _month_folder(tmp_path / "staging" / "2023-07", "new")
    monkeypatch.setattr(wap, "exchange_paths", lambda a, b: False)
    wap._swap_dir(staged, final, tmp_path / "staging")
    assert (final / "scorecard.csv").read_text() == "new"
    assert not staged.exists() and not (tmp_path / "staging" / "old-2023-07").exists()


def test_a_first_publication_is_a_rename(tmp_path):
    staged = _month_folder(tmp_path / "staging" / "2023-07", "new")
    final = tmp_path / "published" / "2023-07"
    final.parent.mkdir()
    wap._swap_dir(staged, final, tmp_path / "staging")
    assert (final / "scorecard.csv").read_text() == "new"
