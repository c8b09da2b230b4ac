"""Fixtures shared by the test modules (helpers they call are plain modules beside this one)."""

from __future__ import annotations

import pytest

from tests.outputs_pipeline import PublishedHome, shared_published_home


@pytest.fixture(scope="session")
def published_home(tmp_path_factory: pytest.TempPathFactory) -> PublishedHome:
    """The demo pipeline run once per session (June internal, July with --public), read by the
    published-outputs tests; built once and shared by every xdist worker (tests/outputs_pipeline.py)."""
    return shared_published_home(tmp_path_factory)
