"""The published zone's layout (dagster_project/publish/wap.py): versions behind one link."""

from __future__ import annotations

import time

import pytest

from dagster_project.publish import wap
from dagster_project.settings import HomePaths


def test_a_home_published_before_versions_is_adopted_with_the_same_paths(tmp_path):
    paths = HomePaths(tmp_path)
    (paths.published_dir / "2023-06").mkdir(parents=True)
    (paths.published_dir / "2023-06" / "scorecard.csv").write_text("june")
    (paths.published_dir / "docs").mkdir()
    (paths.published_dir / "warehouse.duckdb").write_text("db")
    wap._adopt_unversioned(paths)
    assert (paths.published_dir / "current").is_symlink()
    assert wap.current_version(paths) == (paths.published_dir / "versions" / "000000").resolve()
    assert (paths.published_dir / "2023-06" / "scorecard.csv").read_text() == "june"  # through the links
    assert (paths.published_dir / "warehouse.duckdb").read_text() == "db"
    assert wap.published_months(paths) == ["2023-06"]


def test_a_published_zone_copied_without_its_links_is_refused_clearly(tmp_path):
    paths = HomePaths(tmp_path)
    (paths.published_dir / "current" / "2023-06").mkdir(parents=True)
    (paths.published_dir / "2023-06").mkdir()
    with pytest.raises(wap.PublishedZoneError, match="copied without its links"):
        wap._adopt_unversioned(paths)


def test_work_beside_the_copy_finishes_before_the_block_ends_and_its_error_is_raised(tmp_path):
    """publish_month writes the marts' Parquet on a cursor of its own while it copies the warehouse:
    the step ends only when both have, and a failure of either fails it (nothing is committed)."""
    import threading

    import duckdb

    con = duckdb.connect()
    finished = threading.Event()

    def work(cursor, folder):
        assert cursor is not con and cursor.execute("select 42").fetchone()[0] == 42
        finished.wait(5)
        (folder / "done").write_text("yes")

    with wap._beside(work, con, tmp_path):
        finished.set()
    assert (tmp_path / "done").read_text() == "yes"

    def broken(cursor, folder):
        raise RuntimeError("parquet failed")

    with pytest.raises(RuntimeError, match="parquet failed"), wap._beside(broken, con, tmp_path):
        pass

    started = threading.Event()

    def slow(cursor, folder):
        started.set()
        time.sleep(0.3)
        (folder / "slow").write_text("done")

    with pytest.raises(ValueError, match="copy failed"), wap._beside(slow, con, tmp_path):
        started.wait(5)
        raise ValueError("copy failed")
    assert (tmp_path / "slow").read_text() == "done"  # waited for, not left running
    con.close()
