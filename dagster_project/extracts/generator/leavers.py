"""Care leavers: who they are (from the periods of care) and their current state in each extract.

A care leaver left care on or after their 16th birthday after at least 13 weeks, other than
through adoption, a special guardianship or child arrangements order, or death. The table holds
current state only, so it is computed per extract: eligibility from age, and whether the young
person is in touch, in education, employment or training and suitably accommodated. Those three
come from a persistent personal score plus a monthly change; within the scorecard's denominator
(aged 17-21 on the month end, alive) the best-scoring share is positive, the share following a
slow yearly swing, so the published percentages are steady while individuals' states change.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import choose_codes, code_column, code_index, flag_column
from dagster_project.extracts.generator.dates import NEVER, age_in_years, day_number, month_index
from dagster_project.extracts.generator.params import LEAVERS, LeaverParams
from dagster_project.extracts.generator.randomness import Streams, uniform_days
from dagster_project.extracts.generator.tables import ID_BASE, NO_DAY, date_column
from dagster_project.extracts.generator.timeline import Extract

NOT_LEAVING = ("E2", "E11", "E12", "E41", "E43", "E44", "E45", "E46", "E47", "E48")
ATTRIBUTES = ("eet", "suitable", "in_touch")
ELIGIBILITY = ("Relevant", "Former Relevant", "Qualifying")


def leaver_cohort(streams: Streams, periods: pl.DataFrame, p: LeaverParams = LEAVERS) -> pl.DataFrame:
    """Everyone who left care as a care leaver, with persistent personal draws."""
    rng = streams.rng("leavers", "cohort")
    last = (
        periods.filter(pl.col("short") == 0)
        .sort(["_person", "start"], maintain_order=True)
        .group_by("_person", maintain_order=True)
        .last()
    )
    age_left = age_in_years(last["dob"].to_numpy(), last["end"].to_numpy())
    stayed = (last["end"] - last["start"]).to_numpy() >= 91
    leaving = ~np.isin(last["reason"].to_numpy(), code_index("cla_ceased_reason", NOT_LEAVING))
    cohort = last.filter(pl.Series((age_left >= 16) & stayed & leaving)).select("_person", "dob", left="end")
    n = cohort.height
    died = rng.random(n) < p.p_died
    return cohort.with_columns(
        died=np.where(died, cohort["left"].to_numpy() + rng.integers(100, 2500, n), NEVER),
        qualifying=rng.random(n) < p.p_qualifying,
        older_kept=rng.random(n) < p.older_kept_share,
        **{f"base_{a}": rng.standard_normal(n) for a in ATTRIBUTES},
        eet_code=choose_codes(rng, "care_leaver_activity", p.eet_codes, n),
        neet_code=choose_codes(rng, "care_leaver_activity", p.neet_codes, n),
        good_accom=choose_codes(rng, "care_leaver_accommodation", p.suitable_accommodation, n),
        poor_accom=choose_codes(rng, "care_leaver_accommodation", p.unsuitable_accommodation, n),
        not_in_touch=choose_codes(rng, "care_leaver_in_touch", p.in_touch_other, n),
    ).with_row_index("row")


def _target_share(attribute: str, month: int, p: LeaverParams) -> float:
    centre = {"eet": p.eet_share, "suitable": p.suitable_share, "in_touch": p.in_touch_share}[attribute]
    swing = {"eet": p.eet_swing, "suitable": p.suitable_swing, "in_touch": p.in_touch_swing}[attribute]
    phase = {"eet": 0.0, "suitable": 2.0, "in_touch": 4.0}[attribute]
    return centre + swing / 100 * np.sin(2 * np.pi * (month % 12) / 12 + phase)


def _positive(scores: np.ndarray, in_group: np.ndarray, share: float) -> np.ndarray:
    """Top ``share`` of the group by score; outside the group, above the group's cut-off score."""
    group_scores = np.sort(scores[in_group])[::-1]
    k = int(round(share * len(group_scores)))
    if len(group_scores) == 0:
        return scores > 0
    cut = group_scores[k - 1] if k > 0 else np.inf
    positive = scores >= cut
    if k > 0:  # ties at the cut-off: keep exactly k inside the group
        order = np.argsort(-scores[in_group], kind="stable")
        inside = np.zeros(in_group.sum(), dtype=bool)
        inside[order[:k]] = True
        positive[np.flatnonzero(in_group)] = inside
    return positive


def care_leavers(streams: Streams, cohort: pl.DataFrame, extract: Extract, p: LeaverParams = LEAVERS) -> pl.DataFrame:
    """The ssd_care_leavers table as at ``extract`` (person still an index)."""
    x = extract.day
    month_end = day_number(extract.period_end)
    age_now = age_in_years(cohort["dob"].to_numpy(), x)
    keep = (cohort["left"].to_numpy() <= x) & (age_now >= 16) & (age_now <= 25)
    keep &= (age_now <= 21) | cohort["older_kept"].to_numpy()
    c = cohort.filter(pl.Series(keep))
    n, month = c.height, month_index(np.array([month_end]))[0]
    rng = streams.rng("leavers", "month", int(month))
    dead = c["died"].to_numpy() <= x
    age_end = age_in_years(c["dob"].to_numpy(), month_end)
    group = (age_end >= 17) & (age_end <= 21) & ~dead
    positive = {}
    for attribute in ATTRIBUTES:  # three attributes
        score = c[f"base_{attribute}"].to_numpy() + p.monthly_noise * rng.standard_normal(n)
        positive[attribute] = _positive(score, group, _target_share(attribute, int(month), p))
    in_touch = np.where(
        positive["in_touch"], code_index("care_leaver_in_touch", ["YES"])[0], c["not_in_touch"].to_numpy()
    )
    in_touch = np.where(dead, code_index("care_leaver_in_touch", ["DIED"])[0], in_touch)
    recent = x - uniform_days(rng, 0, 56, n)
    older = x - uniform_days(rng, 60, 400, n)
    latest = np.maximum(np.where(positive["in_touch"], recent, older), c["left"].to_numpy())
    eligibility = np.where(c["qualifying"].to_numpy(), 2, np.where(age_now[keep] >= 18, 1, 0))
    alive = ~dead
    return pl.DataFrame(
        {
            "clea_table_id": c["row"].cast(pl.Int32) + ID_BASE["ssd_care_leavers"],
            "clea_person_id": c["_person"],
            "clea_care_leaver_eligibility": code_column(
                "care_leaver_eligibility",
                code_index("care_leaver_eligibility", list(ELIGIBILITY))[eligibility],
            ),
            "clea_care_leaver_in_touch": code_column("care_leaver_in_touch", in_touch),
            "clea_care_leaver_latest_contact": date_column(np.where(dead, NO_DAY, latest)),
            "clea_care_leaver_accommodation": code_column(
                "care_leaver_accommodation",
                np.where(
                    alive,
                    np.where(positive["suitable"], c["good_accom"].to_numpy(), c["poor_accom"].to_numpy()),
                    -1,
                ),
            ),
            "clea_care_leaver_accom_suitable": flag_column(positive["suitable"], alive),
            "clea_care_leaver_activity": code_column(
                "care_leaver_activity",
                np.where(alive, np.where(positive["eet"], c["eet_code"].to_numpy(), c["neet_code"].to_numpy()), -1),
            ),
        }
    )
