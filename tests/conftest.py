"""Fixtures shared by the test modules (helpers they call are plain modules beside this one)."""

from __future__ import annotations

import os

import pytest

# The Dagster partitions start at the earliest extract folder (settings.first_month), read when the
# code location is imported; the tests use their own folders of months from 2015 on, so the
# partitions they run start there.
os.environ.setdefault("CSC_FIRST_MONTH", "2015-01")

from tests.outputs_pipeline import PublishedHome, shared_published_home


@pytest.fixture(scope="session")
def published_home(tmp_path_factory: pytest.TempPathFactory) -> PublishedHome:
    """The demo pipeline run once per session (June internal, July with --public), read by the
    published-outputs tests; built once and shared by every xdist worker (tests/outputs_pipeline.py)."""
    return shared_published_home(tmp_path_factory)


@pytest.fixture(scope="session")
def malformed_base(tmp_path_factory: pytest.TempPathFactory):
    """A home with June 2023 published (scale 0.05) and the extracts of June and July, built once
    per session (per xdist worker: the corpus tests share the group "malformed"); each test copies
    it (tests/test_malformed_corpus.py)."""
    from tests.test_malformed_corpus import build_base

    return build_base(tmp_path_factory.mktemp("malformed-base"))


# The fixtures that run a real dbt build of the project, by (module, name): a test using one is in
# the dbt set (``make test-dbt``), not the fast set.
DBT_BUILDS = {("tests.test_dbt_project", "warehouse"), ("tests.test_dbt_cla", "warehouse"),
              ("tests.test_dbt_in_process", "loaded")}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (its own hook of the same name)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the shared pipeline run is an end-to-end test (``-m 'not e2e'`` skips it),
    one that uses a fixture of DBT_BUILDS a dbt test (``-m 'not dbt'`` skips it).

    A test that uses a module-scoped fixture runs on the same xdist worker as the rest of its
    module (group = the module), unless it names its own group: ``--dist loadgroup`` otherwise
    spreads a module's tests over both workers, and each worker built the module's fixture (a
    pipeline run, a dbt build) again.
    """
    for item in items:
        if "published_home" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if any((d.func.__module__, d.argname) in DBT_BUILDS for defs in info.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.dbt)
        if item.get_closest_marker("xdist_group"):
            continue
        if any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
