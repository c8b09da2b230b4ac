"""Calibration: the demo at --scale 1 lands in Bradford's published ranges (Jul-Dec 2023).

For every range of the foundation issue, the 12-month median of the measure (Jan-Dec 2023, as
published from the December 2023 extract) lies inside the range and no month is more than 25 %
of the range's width outside it. The figures are the real scorecard: the pipeline publishes
December; the earlier extracts are loaded with the real ingest so the snapshot (care-leaver)
measures have their own months.
"""

from __future__ import annotations

import csv
import statistics
from datetime import date

import duckdb
import pytest

from dagster_project.ingest.load import load_extract
from dagster_project.settings import HomePaths
from tests.pipeline_helpers import generate, run

pytestmark = pytest.mark.e2e  # real pipeline runs

BRADFORD_RANGES = {
    "contacts": (2600, 3800),
    "contacts_to_referral_pct": (18, 24),
    "contacts_decided_1wd_pct": (78, 95),
    "police_contacts": (700, 1100),
    "police_contacts_pct": (25, 39),
    "police_contacts_advice_pct": (39, 55),
    "private_fostering": (2, 5),
    "rereferrals_12m_pct": (19, 28),
    "children_missing": (100, 145),
    "cla_children_missing": (49, 70),
    "missing_episodes": (180, 275),
    "cla_missing_episodes": (100, 165),
    "rhi_accepted_pct": (37, 47),
    "cla_rhi_accepted_pct": (23, 41),
    "assessments_45wd_pct": (72, 84),
    "icpc_15wd_pct": (58, 95),
    "icpc_to_cp_plan_pct": (83, 97),
    "cp_reviews_on_time_pct": (80, 95),
    "cla_3plus_placements_pct": (7, 10),
    "cla_reviews_on_time_pct": (94, 99),
    "returned_home": (5, 18),
    "ceased_sgo_pct": (14, 23),
    "purchased_residential": (156, 209),
    "care_leavers_eet_pct": (61, 66),
    "care_leavers_suitable_accom_pct": (92, 95),
    "care_leavers_in_touch_pct": (55, 69),
}


def _published_scorecard_2023(root) -> dict[str, dict[str, dict]]:
    extracts = root / "extracts"
    generate(extracts, "2023-01", "2023-12", scale=1, seed=42)
    home = root / "home"
    paths = HomePaths(home)
    paths.private_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.work_db))
    try:
        for m in range(1, 12):
            load_extract(con, extracts / f"2023-{m:02d}", date(2023, m, 1))
    finally:
        con.close()
    res = run(extracts, home, "--month", "2023-12")
    assert res.returncode == 0, res.stderr
    out: dict[str, dict[str, dict]] = {}
    with (home / "published" / "2023-12" / "scorecard.csv").open() as f:
        for row in csv.DictReader(f):
            out.setdefault(row["measure_id"], {})[row["month"]] = row
    return out


def _range_problems(measure: str, months: dict[str, dict]) -> list[str]:
    lo, hi = BRADFORD_RANGES[measure]
    slack = 0.25 * (hi - lo)
    values = {m: float(r["value"]) for m, r in months.items() if r["value"] != ""}
    if sorted(values) != [f"2023-{m:02d}" for m in range(1, 13)]:
        return [f"{measure}: not every month of 2023 has a value: {sorted(values)}"]
    problems = []
    median = statistics.median(values.values())
    if not lo <= median <= hi:
        problems.append(f"{measure}: median {median} outside {lo}-{hi}; months {values}")
    outliers = {m: v for m, v in values.items() if not lo - slack <= v <= hi + slack}
    if outliers:
        problems.append(f"{measure}: months beyond 25% of the range's width outside {lo}-{hi}: {outliers}")
    return problems


def test_demo_lands_in_bradfords_ranges(tmp_path):
    """One test (one pipeline run): every ranged measure, the ~1,600 children looked after, the dips."""
    scorecard = _published_scorecard_2023(tmp_path)
    problems = [p for measure in sorted(BRADFORD_RANGES) for p in _range_problems(measure, scorecard[measure])]
    assert problems == []

    denominators = [int(r["denominator"]) for r in scorecard["cla_3plus_placements_pct"].values()]
    assert 1300 <= statistics.median(denominators) <= 1900

    contacts = {m: float(r["value"]) for m, r in scorecard["contacts"].items()}
    typical = statistics.median(contacts.values())
    assert contacts["2023-08"] < typical
    assert contacts["2023-12"] < typical
