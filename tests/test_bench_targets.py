"""The benchmark's target checks (bench/bench_report.py): pure functions over measured results; and
the measuring of a command's CPU steal (bench/measure.py)."""

import pytest

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def bench():
    return load_bench_script("bench_report")


@pytest.fixture(scope="module")
def measure():
    return load_bench_script("measure")


def result(bench, scale: float, rows: int, wall: float, cpu: float = 20.0, stages: dict | None = None):
    return bench.ScaleResult(
        scale=scale,
        months=["2023-11", "2023-12"],
        rows_latest_month=rows,
        summary={
            "e2e_wall_s": wall,
            "e2e_cpu_s": cpu,
            "load": 1.5,
            "floor_s": 20.0,
            "e2e_over_floor": wall / 20.0,
            "peak_rss_bytes": 5e9,
            "stages": stages or {},
        },
    )


def test_the_fixed_cost_target_is_the_probe_months_cpu_with_its_wall_load_and_imports(bench):
    results = [result(bench, 0.01, 5_000, 12.0, cpu=9.5), result(bench, 1, 500_000, 30.0, cpu=35.0)]
    targets = bench.check_targets(results, {"imports": {"cpu_s": 2.6, "wall_s": 2.9}})
    fixed = next(t for t in targets if t["target"].startswith("fixed cost"))
    assert fixed["met"] and fixed["measured"] == "9.5 s" and fixed["limit"] == "<= 10 s"
    assert fixed["note"] == "wall 12.0 s at load 1.5; the imports alone: 2.6 s CPU"
    assert bench.fixed_cost_probe(results).scale == 0.01
    assert not next(t for t in bench.check_targets([result(bench, 0.01, 5_000, 30.0, cpu=22.7)])
                    if t["target"].startswith("fixed cost"))["met"]


def test_national_scale_is_held_end_to_end_and_per_stage_against_the_floor(bench):
    stages = {"ingest": 38.0, "publish": 7.0}
    targets = {t["target"]: t for t in bench.check_targets([result(bench, 70, 35_000_000, 110.0, stages=stages)])}
    assert targets["scale 70 end to end vs the floor"]["met"]  # 5.5 x
    assert targets["scale 70 ingest vs the floor"]["met"]  # 1.9 x
    assert targets["scale 70 ingest vs the floor"]["measured"] == "38.0 s = 1.90 x floor"
    assert not targets["scale 70 publish vs the floor"]["met"]  # 0.35 x > 0.3 x
    assert targets["scale 70 peak RSS (process tree)"]["met"]
    missing = {t["target"]: t for t in bench.check_targets([result(bench, 70, 35_000_000, 110.0)])}
    assert not missing["scale 70 publish vs the floor"]["met"]
    assert missing["scale 70 publish vs the floor"]["measured"] == "not measured"


def test_the_backfill_is_held_against_one_more_month(bench):
    backfill = {"scale": 1.0, "months": 13, "wall_s": 120.0, "cpu_s": 150.0, "one_month_wall_s": 25.0,
                "one_month_cpu_s": 28.0}
    target = next(t for t in bench.check_targets([], {"backfill": backfill}) if t["target"].startswith("backfill"))
    assert not target["met"] and target["measured"] == "120 s = 4.8 x one month (25.0 s)"
    target = next(t for t in bench.check_targets([], {"backfill": {**backfill, "wall_s": 99.0}})
                  if t["target"].startswith("backfill"))
    assert target["met"]
    failed = bench.check_targets([], {"backfill": {"failed": "run --all exit 1"}})
    assert failed == [{"target": "backfill completes", "measured": "run --all exit 1", "limit": "completes",
                       "met": False, "note": ""}]


def test_cpu_steal_is_measured_and_reported(bench, measure, tmp_path):
    m = measure.run_measured(["true"], tmp_path / "true.log")
    assert m.returncode == 0 and 0.0 <= m.steal <= 1.0
    assert measure.steal_share((10, 1000), (60, 2000)) == 0.05
    result = {"runs": [{"measured": {"steal": 0.02}}], "floor": {"measured": [{"steal": 0.16}]}}
    assert bench.steal_sentence([result]) == (
        " CPU time taken by the host (steal) while commands ran: 2% to 16% of the machine's CPU time."
    )
    assert bench.steal_sentence([{"runs": [{"measured": {}}]}]) == ""  # reports from before it was kept
