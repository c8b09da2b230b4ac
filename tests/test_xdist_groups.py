"""The suite's parallel set-up does what it says: tests of one group run on one xdist worker.

pytest 9.2 with pytest-xdist 3.8 ignored every ``xdist_group`` without a word (pytest-dev/
pytest-xdist#1386), so each worker built the same module's pipeline runs again; this runs a small
suite the way ``make test`` runs ours, with this conftest's grouping rule, and reads where each
test ran.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

GROUPED = '''
import os
import pytest

pytestmark = pytest.mark.xdist_group("named")

@pytest.mark.parametrize("i", range(6))
def test_named(i):
    print("WORKER", os.environ["PYTEST_XDIST_WORKER"])
'''

MODULE_FIXTURE = '''
import os
import pytest

@pytest.fixture(scope="module")
def built():
    return 1

@pytest.mark.parametrize("i", range(6))
def test_shares_the_module_fixture(built, i):
    print("WORKER", os.environ["PYTEST_XDIST_WORKER"])
'''


def test_a_group_and_a_module_fixtures_tests_each_run_on_one_worker(tmp_path):
    suite = tmp_path / "tests"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    shutil.copy(Path(__file__).with_name("conftest.py"), suite / "conftest.py")
    (suite / "outputs_pipeline.py").write_text("PublishedHome = object\n\ndef shared_published_home(f):\n    pass\n")
    (suite / "test_grouped.py").write_text(GROUPED)
    (suite / "test_module_fixture.py").write_text(MODULE_FIXTURE)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(suite)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    for line in res.stdout.splitlines():
        if " PASSED " in line:  # "[gw0] [ 8%] PASSED tests/test_grouped.py::test_named[0]@named"
            workers[line.split(" PASSED ")[1].split("::")[0]].add(line.split("]")[0].lstrip("["))
    assert set(workers) == {"tests/test_grouped.py", "tests/test_module_fixture.py"}, res.stdout
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
