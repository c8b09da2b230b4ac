"""The gate's statistics on small hand-made histories (dagster_project/checks/baseline.py)."""

from __future__ import annotations

import pytest

from dagster_project.checks.baseline import anscombe, from_anscombe, judge_count, judge_rate, judge_value, mad_sd


def test_anscombe_round_trips_and_has_unit_poisson_spread():
    assert from_anscombe(anscombe(42.0)) == pytest.approx(42.0)
    # a Poisson count's sd on this scale is ~1 whatever its size
    assert anscombe(10_000 + 100) - anscombe(10_000) == pytest.approx(1.0, abs=0.01)
    assert anscombe(100 + 10) - anscombe(100) == pytest.approx(1.0, abs=0.05)


def test_mad_sd_is_robust_to_one_outlier():
    assert mad_sd([10, 11, 9, 10, 12, 10, 500]) == pytest.approx(1.4826, rel=0.01)
    assert mad_sd([5.0]) == 0.0


@pytest.mark.parametrize(
    "x, past, flagged",
    [
        (7, [1, 0, 2, 1, 1, 0, 1, 2, 1, 1, 0], False),  # a small council: 7 after a median of 1 is noise
        (3, [0] * 11, False),  # below the minimum count
        (600, [1200, 1180, 1230, 1210, 1190, 1205, 1220, 1199, 1215, 1185, 1201], True),  # half lost
        (1150, [1200, 1180, 1230, 1210, 1190, 1205, 1220, 1199, 1215, 1185, 1201], False),  # -4 %
        (36, [70, 75, 66, 72, 71, 68, 74, 69, 73, 70, 72], True),  # half of a small council's episodes
        (2400, [1200, 1180, 1230, 1210, 1190, 1205, 1220, 1199, 1215, 1185, 1201], True),  # doubled
    ],
)
def test_judge_count(x, past, flagged):
    j = judge_count(x, past, z_max=4.0, min_count=10, min_abs_change=5, min_ratio_change=0.25)
    assert j.flagged is flagged, j
    assert j.low <= j.expected <= j.high


def test_judge_count_widens_with_the_councils_own_spread():
    steady = [100] * 11
    wobbly = [60, 140, 80, 120, 100, 70, 130, 90, 110, 65, 135]
    kw = {"z_max": 4.0, "min_count": 10, "min_abs_change": 5, "min_ratio_change": 0.25}
    assert judge_count(160, steady, **kw).flagged
    assert not judge_count(160, wobbly, **kw).flagged


def test_judge_count_dip_allowance_and_one_sided():
    past = [1000] * 11
    kw = {"z_max": 4.0, "min_count": 10, "min_abs_change": 5, "min_ratio_change": 0.25}
    assert judge_count(700, past, **kw).flagged
    assert not judge_count(700, past, dip_allowance=0.35, **kw).flagged
    assert not judge_count(700, past, one_sided="up", **kw).flagged
    assert judge_count(1400, past, one_sided="up", **kw).flagged


@pytest.mark.parametrize(
    "k, n, past, flagged",
    [
        (125, 150, [(64, 150), (58, 148), (70, 152), (66, 149), (60, 151), (63, 150)], True),  # 42 % -> 83 %
        (72, 152, [(64, 150), (58, 148), (70, 152), (66, 149), (60, 151), (63, 150)], False),
        (2, 3, [(3, 3), (2, 3), (3, 3), (3, 4), (2, 2), (3, 3)], False),  # small denominators
        (0, 400, [(120, 400), (118, 390), (125, 410), (119, 400), (121, 405), (122, 398)], True),
    ],
)
def test_judge_rate(k, n, past, flagged):
    j = judge_rate(k, n, past, z_max=4.0, min_change_pp=10.0, min_denominator=10)
    assert j.flagged is flagged, j


def test_judge_value_floor_scale_and_centre():
    past = [0.002, 0.003, 0.002, 0.004, 0.003]
    assert judge_value(-0.5, past, z_max=4.0, min_spread=0.01).flagged
    assert not judge_value(0.02, past, z_max=4.0, min_spread=0.01).flagged  # within the 1 % floor
    assert not judge_value(0.06, past, z_max=4.0, min_spread=0.01, center=0.03, scale=1.5).flagged
    assert not judge_value(-0.5, past, z_max=4.0, min_spread=0.01, one_sided="up").flagged


def test_judge_count_allows_a_burst_like_one_the_council_already_had():
    """A small council's missing episodes (generated, scale 0.1): one child missing twenty times
    makes January 55 after a median of 23; an August of 45 in its history shows such bursts happen."""
    kw = {"z_max": 3.5, "min_count": 10, "min_abs_change": 5, "min_ratio_change": 0.25}
    with_burst = [18, 23, 24, 23, 21, 45, 27, 23, 26, 23, 21]
    assert not judge_count(55, with_burst, **kw).flagged
    assert judge_count(55, [18, 23, 24, 23, 21, 25, 27, 23, 26, 23, 21], **kw).flagged  # never before
    assert judge_count(100, with_burst, **kw).flagged  # far beyond any burst it has had


def test_spread_of_is_the_widest_of_floor_mad_and_half_the_widest_move():
    from dagster_project.checks.baseline import spread_of

    assert spread_of([1.0, 1.0, 1.0], 1.0, 0.5) == 0.5
    assert spread_of([0.0, 1.0, 1.0, 1.0, 9.0], 1.0, 0.5) == 4.0
