"""Great Expectations is imported with ``scipy.stats`` and ``altair`` loaded on first use
(dagster_project/gx_import.py).

Each case runs in a fresh interpreter: the test process may already hold GX and SciPy.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_great_expectations_imports_without_loading_scipy_stats_or_altair():
    out = _python(
        """
        import inspect, json, sys
        from dagster_project.gx_import import import_great_expectations
        gx = import_great_expectations()
        gx.ExpectationSuite(name="probe")  # GX works
        inspect.stack()  # reads every module's __file__, as dbt's adapter does
        import importlib.util
        assert importlib.util.find_spec("scipy.stats").name == "scipy.stats"  # a library asking is answered
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("scipy.stats", "altair")))))
        """
    )
    assert json.loads(out) == ["altair", "scipy.stats"]  # the stand-ins only: none of their submodules ran


def test_first_use_loads_the_real_module_everywhere():
    out = _python(
        """
        import sys
        from dagster_project.gx_import import import_great_expectations
        import_great_expectations()
        from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
        print(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]))  # GX's own reference, through the stand-in
        import scipy, scipy.stats
        real = sys.modules["scipy.stats"]
        print(type(real).__name__, scipy.stats is real, hasattr(real, "norm"), "scipy.stats._stats_py" in sys.modules)
        import altair  # a package with no parent: the stand-in, until an attribute is read
        print(altair.Chart.__module__.split(".")[0], type(sys.modules["altair"]).__name__)
        """
    )
    entropy, state, chart = out.splitlines()
    assert float(entropy) == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1))
    assert state == "module True True True"
    assert chart == "altair module"


def test_an_imported_module_is_left_and_a_missing_one_is_an_error():
    out = _python(
        """
        import sys, scipy.stats
        from dagster_project.gx_import import load_on_first_use
        before = sys.modules["scipy.stats"]
        load_on_first_use("scipy.stats")
        print(sys.modules["scipy.stats"] is before)
        try:
            load_on_first_use("scipy.no_such_module")
        except ModuleNotFoundError as error:
            print(error.name, "scipy.no_such_module" in sys.modules)
        """
    )
    assert out.split() == ["True", "scipy.no_such_module", "False"]
