"""The regional benchmark's pure parts (bench/region_bench.py): which councils it runs, the fit of a
month's time to its rows, and the linearity in councils it reports."""

import importlib.util
import sys
from pathlib import Path

import pytest

from dagster_project.extracts.generator.councils import COUNCILS

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "region_bench.py"
MONTHS = ["2023-10", "2023-11", "2023-12"]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPT.parent))  # as when the script runs: benchlib and run_bench beside it
    spec = importlib.util.spec_from_file_location("region_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def council(name: str, rows: int, seconds: list[float]) -> dict:
    return {"name": name, "rows_by_month": dict.fromkeys(MONTHS, rows),
            "runs": {m: {"run_s": s} for m, s in zip(MONTHS, seconds, strict=True)}}


def test_twenty_councils_are_the_six_then_sampled_ones(bench):
    twenty = bench.bench_councils(20)
    assert [p.name for p in twenty[:6]] == list(COUNCILS)
    assert [p.name for p in twenty[6:]] == [f"sampled-{n}" for n in range(1, 15)]
    assert len({p.la_code for p in twenty}) == 20
    assert [p.name for p in bench.bench_councils(2)] == list(COUNCILS)[:2]


def test_a_linear_region_has_the_ratio_one_and_no_scatter(bench):
    # 14 s a month plus 12 s per million rows, exactly; each council's first month (builds its home) is not fitted
    region = [council(name, rows, [40.0, 14 + 12 * rows / 1e6, 14 + 12 * rows / 1e6])
              for name, rows in (("bradford", 500_000), ("northshire", 930_000), ("eastborough", 185_000))]
    points = [(c["rows_by_month"][m], r["run_s"]) for c in region for m, r in c["runs"].items() if m != MONTHS[0]]
    a, b = bench.fit(points)
    assert (a, b) == (pytest.approx(14), pytest.approx(12))
    lin = bench.linearity(region, MONTHS, a, b)
    assert lin["ratio"] == pytest.approx(1) and lin["residual_sd_s"] == pytest.approx(0, abs=1e-6)
    assert lin["bradford_month_s"] == pytest.approx(6)


def test_a_region_whose_rows_cost_more_than_bradfords_is_not_linear(bench):
    # the bigger councils cost twice Bradford's per row: the ratio is well above the limit
    region = [council("bradford", 500_000, [40.0, 20.0, 20.0]),
              council("northshire", 1_000_000, [40.0, 38.0, 38.0]),
              council("midvale", 2_000_000, [40.0, 62.0, 62.0])]
    lin = bench.linearity(region, MONTHS, 14.0, 12.0)
    assert lin["ratio"] > bench.LINEAR_LIMIT
    assert "**not met**" in bench.render({
        "environment": {"date": "d", "host_cpus": 2, "memory_gb": 24, "platform": "p", "python": "3", "duckdb": "2",
                        "polars": "2", "git_commit": "c", "git_dirty": False},
        "load_min": 1, "load_max": 2, "command": "make bench-region", "scale": 1, "months": MONTHS,
        "runs": {"jobs 1": {"wall_s": 300, "cpu_s": 300, "peak_rss_bytes": 1e9, "returncode": 0}},
        "councils": [c | {"la_code": "380", "volume": 1, "rows": 1} for c in region],
        "fit": (14.0, 12.0), "linearity": lin})
