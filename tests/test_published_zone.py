"""The published zone's layout (dagster_project/publish/wap.py): versions behind one link."""

from __future__ import annotations

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
