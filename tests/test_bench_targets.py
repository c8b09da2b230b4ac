"""The benchmark's target checks (bench/run_bench.py): pure functions over measured results."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH.parent))  # as when the script runs: benchlib beside it
    spec = importlib.util.spec_from_file_location("run_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def result(bench, scale: float, rows: int, wall: float, startup: float = 5.0):
    return bench.ScaleResult(
        scale=scale,
        months=["2023-12"],
        rows_latest_month=rows,
        summary={
            "e2e_wall_s": wall,
            "e2e_excl_startup_s": wall - startup,
            "floor_s": wall / 10,
            "e2e_over_floor": 10.0,
            "peak_rss_bytes": 1e9,
        },
    )


def test_fixed_cost_probe_is_reported_beside_the_bradford_target_and_not_held_to_linearity(bench):
    results = [result(bench, 0.01, 5_000, 30.0), result(bench, 1, 500_000, 32.0), result(bench, 10, 5_000_000, 66.0)]
    targets = {t["target"]: t for t in bench.check_targets(results)}

    bradford = targets["Bradford-scale month end to end (scale 1, start-up included)"]
    assert not bradford["met"]
    assert bradford["note"] == "fixed cost (the same pipeline at scale 0.01, 5,000 rows): 30.0 s"
    # the probe is not a step of the linearity check: only 1 -> 10 is
    linear = [name for name in targets if name.startswith("cost linear")]
    assert linear == ["cost linear in rows, scale 1 -> 10 (start-up excluded)"]
    assert bench.fixed_cost_probe(results).scale == 0.01


def test_without_a_probe_the_bradford_target_has_no_note(bench):
    targets = bench.check_targets([result(bench, 1, 500_000, 19.0)])
    bradford = next(t for t in targets if t["target"].startswith("Bradford"))
    assert bradford["met"] and bradford["note"] == ""
    assert bench.fixed_cost_probe([result(bench, 1, 500_000, 19.0)]) is None


def test_cpu_steal_is_measured_and_reported(bench, tmp_path):
    m = bench.run_measured(["true"], tmp_path / "true.log")
    assert m.returncode == 0 and 0.0 <= m.steal <= 1.0
    assert bench.steal_share((10, 1000), (60, 2000)) == 0.05
    result = {"runs": [{"measured": {"steal": 0.02}}], "floor": {"measured": [{"steal": 0.16}]}}
    assert bench.steal_sentence([result]) == (
        " CPU time taken by the host (steal) while commands ran: 2% to 16% of the machine's CPU time."
    )
    assert bench.steal_sentence([{"runs": [{"measured": {}}]}]) == ""  # reports from before it was kept
