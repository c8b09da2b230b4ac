"""The DuckDB-against-Spark benchmark's pure parts (bench/spark_bench.py): which councils it runs and
what its report says of them."""

import pytest

from tests.bench_scripts import load_bench_script

GB = 1024**3


@pytest.fixture(scope="module")
def bench():
    return load_bench_script("spark_bench")


def council(name: str, rows: int, duck_s: float, spark_s: float, differing: int = 0) -> dict:
    return {"council": name, "volume": 1.0, "rows": rows, "floor": {"wall_s": 0.5},
            "duckdb build": {"wall_s": duck_s, "cpu_s": duck_s, "peak_rss_bytes": GB},
            "export parquet s": 1.0, "spark register": {"wall_s": 20.0},
            "spark build": {"wall_s": spark_s, "peak_rss_bytes": 9 * GB},
            "figures": 348, "figures differing": differing}


def test_a_number_of_councils_is_the_regional_benchs(bench):
    assert bench.council_names("8") == ["bradford", "northshire", "eastborough", "westmoor", "midvale",
                                        "kingsbay-on-sea", "sampled-1", "sampled-2"]
    assert bench.council_names("bradford,sampled-3") == ["bradford", "sampled-3"]
    for refused in ("0", "97", "bradford,nowhere"):
        with pytest.raises(ValueError):
            bench.council_names(refused)


def test_the_report_fits_each_engine_and_flags_differing_figures(bench):
    environment = {"date": "2026-12-06", "host_cpus": 2, "memory_gb": 25.3, "platform": "Linux", "python": "3.11",
                   "duckdb": "2.0.0", "polars": "2.1.0", "git_commit": "abc1234", "git_dirty": False}
    doc = {"environment": environment, "command": "make bench-spark",
           "scale": 1.0, "months": ["2023-11", "2023-12"], "load_min": 1.0, "load_max": 2.0,
           # DuckDB 5 s + 10 s per million rows; Spark 100 s + 20 s per million rows, exactly
           "councils": [council("a", 500_000, 10.0, 110.0), council("b", 1_500_000, 20.0, 130.0, differing=3)]}
    report = bench.render(doc)
    assert "DuckDB 5.0 s + 10.0 s per million rows; Spark 100.0 s + 20.0 s per million rows" in report
    assert "| a | 1.0 | 500,000 |" in report and "| all 348 |" in report
    assert "**3 differ**" in report
    assert "In all: DuckDB 30 s, Spark 280 s (register and build)" in report
    # one council: nothing to fit
    assert "fitted" not in bench.render({**doc, "councils": doc["councils"][:1]})
