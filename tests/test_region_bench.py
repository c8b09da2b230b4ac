"""The regional benchmark's pure parts (bench/region_bench.py): which councils it runs, the fit of a
month's time to its rows, and the linearity in councils it reports."""

import pytest

from dagster_project.extracts.generator.councils import COUNCILS
from tests.bench_scripts import load_bench_script

MONTHS = ["2023-10", "2023-11", "2023-12"]


@pytest.fixture(scope="module")
def bench():
    return load_bench_script("region_bench")


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
    # 14 s a month plus 12 s per million rows, exactly, whatever the council's place in the run; each
    # council's first month (it builds the council's home) is not fitted
    sizes = (("bradford", 500_000), ("northshire", 930_000), ("eastborough", 185_000), ("midvale", 650_000))
    region = [council(name, rows, [40.0, 14 + 12 * rows / 1e6, 14 + 12 * rows / 1e6 + 0.01 * (-1) ** i])
              for i, (name, rows) in enumerate(sizes)]
    doc = bench.derive({"councils": region, "months": MONTHS})
    a, b = doc["fit"]
    assert (a, b) == (pytest.approx(14, abs=0.05), pytest.approx(12, abs=0.1))
    lin = doc["linearity"]
    assert lin["position_s"] == pytest.approx(0, abs=0.01) and lin["ratio"] == pytest.approx(1, abs=0.01)
    assert lin["residual_sd_s"] < 0.05 and lin["councils"] == 4


def test_councils_costing_more_the_later_they_run_are_not_linear(bench):
    # every council run after another costs 2 s more a month: against 4-11 s of data a month, far above 1.1
    region = [council(f"c{i}", rows, [40.0, 14 + 12 * rows / 1e6 + 2 * i, 14 + 12 * rows / 1e6 + 2 * i + 0.1])
              for i, rows in enumerate((500_000, 300_000, 900_000, 450_000, 700_000))]
    doc = bench.derive({"councils": region, "months": MONTHS})
    lin = doc["linearity"]
    assert lin["position_s"] == pytest.approx(2, abs=0.05) and lin["ratio"] > bench.LINEAR_LIMIT
    report = bench.render(doc | {
        "environment": {"date": "d", "host_cpus": 2, "memory_gb": 24, "platform": "p", "python": "3", "duckdb": "2",
                        "polars": "2", "git_commit": "c", "git_dirty": False},
        "load_min": 1, "load_max": 2, "command": "make bench-region", "scale": 1,
        "runs": {"jobs 1": {"wall_s": 300, "cpu_s": 300, "peak_rss_bytes": 1e9, "returncode": 0}},
        "councils": [c | {"la_code": "380", "volume": 1, "rows": 1} for c in region]})
    assert "**not met**" in report


def test_too_few_council_months_or_sizes_give_no_verdict(bench):
    doc = bench.derive({"councils": [council("bradford", 500_000, [40.0, 20.0, 20.0])], "months": MONTHS})
    assert doc["linearity"] is None
    same_size = [council(f"c{i}", 500_000, [40.0, 20.0, 20.5]) for i in range(4)]
    assert bench.derive({"councils": same_size, "months": MONTHS})["linearity"] is None
    assert bench.derive({"councils": [], "months": MONTHS})["fit"] is None
