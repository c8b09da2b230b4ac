"""Write-audit-publish: killed runs change nothing published; analysts read throughout a run; a kill
at every step of publication leaves the old publication or the new one, never a mix; a second run
on the same home is refused with its own exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish import wap
from tests.pipeline_helpers import CLI, copy_home, generate, published_hashes, run

pytestmark = [pytest.mark.xdist_group(name="wap"), pytest.mark.e2e]


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

    # killed after every check passed, just before the publication is made current
    proc = _start(extracts, home, "2023-07", env={"CSC_FAILPOINT": "before_commit"})
    seen = _kill_when(proc, "failpoint before_commit")
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


def test_a_second_run_on_the_same_home_is_refused_with_its_own_exit_code(published_once, tmp_path):
    extracts, base = published_once
    home = copy_home(base, tmp_path / "home")
    before = published_hashes(home)
    first = _start(extracts, home, "2023-07", env={"CSC_FAILPOINT": "before_commit"})
    for line in first.stderr:  # the first run holds the home, paused, until it is killed
        if "failpoint before_commit" in line:
            break
    second = run(extracts, home, "--month", "2023-07")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert second.returncode == 75, second.stderr
    assert "another run is using" in second.stderr and "Traceback" not in second.stderr
    assert published_hashes(home) == before


# --------------------------------------------------------------------------------------------
# a kill at every step of publication (fault-injection points in wap.publish_month)

PUBLISH = """
import sys
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.publish.wap import publish_month
from dagster_project.settings import HomePaths

paths = HomePaths(Path(sys.argv[1]))
con = duckdb.connect(str(paths.work_db))
publish_month(con, paths, date(2023, 7, 1), sys.argv[2])
con.close()
"""


def _publish(home: Path, run_id: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CSC_FAILPOINT": failpoint or "", "CSC_FAILPOINT_ACTION": "kill"}
    return subprocess.run([sys.executable, "-c", PUBLISH, str(home), run_id], env=env, capture_output=True,
                          text=True, timeout=600)


def _newest_month(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse.resolve()), read_only=True)
    try:
        return str(con.execute("select max(extract_month) from fct_scorecard").fetchone()[0])[:7]
    finally:
        con.close()


@pytest.fixture(scope="module")
def ready_to_publish(published_once, tmp_path_factory) -> tuple[Path, str]:
    """A home whose 2023-07 run built and passed every check, then was killed in its publication
    (so the working warehouse holds 2023-07 ready to publish); and that run's id."""
    extracts, base = published_once
    home = copy_home(base, tmp_path_factory.mktemp("ready") / "home")
    killed = run(extracts, home, "--month", "2023-07",
                 env={"CSC_FAILPOINT": "month_files_written", "CSC_FAILPOINT_ACTION": "kill"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:
        run_id = con.execute("select run_id from quality.check_results where month = '2023-07-01' "
                             "order by checked_at desc limit 1").fetchone()[0]
    finally:
        con.close()
    return home, run_id


@pytest.mark.parametrize("point", wap.FAILPOINTS)
def test_a_kill_at_any_step_of_publication_leaves_the_old_or_the_new_publication(ready_to_publish, point,
                                                                                  tmp_path):
    base, run_id = ready_to_publish
    home = copy_home(base, tmp_path / "home")
    published = home / "published"
    before = published_hashes(home)
    assert "2023-06/scorecard.csv" in before and not any(k.startswith("2023-07/") for k in before)

    killed = _publish(home, run_id, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert f"failpoint {point}: kill" in killed.stderr
    seen = published_hashes(home)
    if point == "committed":  # the commit happened: all of the new publication, nothing of the old missing
        assert {k: v for k, v in seen.items() if k.startswith("2023-06/")} == \
               {k: v for k, v in before.items() if k.startswith("2023-06/")}
        assert (published / "2023-07" / "scorecard.csv").exists()
        assert _newest_month(published / "warehouse.duckdb") == "2023-07"
    else:  # readers see exactly the old publication
        assert seen == before
        assert not (published / "2023-07").exists()
        assert _newest_month(published / "warehouse.duckdb") == "2023-06"

    again = _publish(home, run_id)
    assert again.returncode == 0, again.stderr[-3000:]
    after = published_hashes(home)
    assert {k for k in after if k.startswith("2023-07/")} >= {"2023-07/scorecard.csv", "2023-07/scorecard.xlsx",
                                                             "2023-07/publication.json"}
    assert {k: v for k, v in after.items() if k.startswith("2023-06/")} == \
           {k: v for k, v in before.items() if k.startswith("2023-06/")}
    assert _newest_month(published / "warehouse.duckdb") == "2023-07"
    assert len(list((published / "versions").iterdir())) <= 2  # the unfinished one is gone
    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:  # the audit trail agrees with what was published: no figure of an unpublished run
        assert con.execute("select count(*) from audit.published_figures where run_id not in "
                           "(select run_id from audit.publications)").fetchone()[0] == 0
        assert con.execute("select count(*) from audit.publications where month = '2023-07-01'").fetchone()[0] >= 1
    finally:
        con.close()


def test_a_reader_that_reconnects_sees_the_new_month_while_an_old_connection_stays_open(ready_to_publish,
                                                                                         tmp_path):
    base, run_id = ready_to_publish
    home = copy_home(base, tmp_path / "home")
    link = home / "published" / "warehouse.duckdb"
    held = duckdb.connect(os.path.realpath(link), read_only=True)  # as docs/analysts.md says
    try:
        assert held.execute("select max(extract_month) from fct_scorecard").fetchone()[0].isoformat()[:7] == "2023-06"
        assert _publish(home, run_id).returncode == 0
        fresh = duckdb.connect(os.path.realpath(link), read_only=True)
        try:
            assert fresh.execute("select max(extract_month) from fct_scorecard").fetchone()[0].isoformat()[:7] \
                == "2023-07"
        finally:
            fresh.close()
        # the old connection keeps its snapshot: the previous version is kept for it
        assert held.execute("select max(extract_month) from fct_scorecard").fetchone()[0].isoformat()[:7] == "2023-06"
    finally:
        held.close()


def test_the_published_zone_is_readable_by_its_group_only(ready_to_publish, tmp_path):
    base, run_id = ready_to_publish
    home = copy_home(base, tmp_path / "home")
    env_group = {"CSC_PUBLISHED_GROUP": str(os.getgid())}
    result = subprocess.run([sys.executable, "-c", PUBLISH, str(home), run_id], env={**os.environ, **env_group},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    current = (home / "published" / "current").resolve()
    for path in [current, *current.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o750 if path.is_dir() else 0o640), (path, oct(mode))
        assert path.stat().st_gid == os.getgid()
