"""Help and protection: what happens after a referral, and the SSD tables that record it.

A referral's journey (its "path") is drawn as a whole when the referral is made: no further
action, or an assessment; for some an S47 enquiry started at a strategy discussion; for some of
those an initial child protection conference (always on a working day) and usually a child
protection plan with its reviews; then the referral (CIN episode) closes. The path's closing day
feeds the front door's state (a child with an open referral is not referred again).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import choose_codes, code_column, code_index, flag_column
from dagster_project.extracts.generator.dates import add_months, add_working_days, month_index
from dagster_project.extracts.generator.params import PROTECTION, ProtectionParams
from dagster_project.extracts.generator.randomness import (
    Streams,
    lognormal_days,
    monthly_values,
    pick,
    quota,
    uniform_days,
)
from dagster_project.extracts.generator.reviews import ReviewRule, schedule
from dagster_project.extracts.generator.tables import ID_BASE, NO_DAY, assign_ids, date_column

CP_CATEGORIES = {"NEG": 0.45, "EMO": 0.35, "PHY": 0.08, "SAB": 0.04, "MUL": 0.08}
CP_REVIEWS = ReviewRule(first_due_months=3, second_gap_months=6, gap_months=6, p_on_time=PROTECTION.cp_review_on_time)


def _offsets(rng: np.random.Generator, weights: dict[int, float], n: int) -> np.ndarray:
    return np.array(list(weights), dtype=np.int64)[pick(rng, list(weights.values()), n)]


def draw_paths(
    rng: np.random.Generator,
    ref_day: np.ndarray,
    *,
    assess_all: bool = False,
    p_s47: float | np.ndarray | None = None,
    p_icpc: float | None = None,
    p: ProtectionParams = PROTECTION,
) -> dict[str, np.ndarray]:
    """The whole journey of each referral made on ``ref_day`` (arrays, one element a referral)."""
    n = len(ref_day)
    ref_day = np.asarray(ref_day, dtype=np.int64)
    nfa = np.zeros(n, dtype=bool) if assess_all else rng.random(n) < p.p_referral_nfa
    a_start = add_working_days(ref_day, _offsets(rng, p.assessment_start_wd, n))
    on_time = rng.random(n) < p.assessment_on_time
    duration = np.where(
        on_time, 4 + np.round(rng.beta(2.2, 1.5, n) * 41), 46 + np.round(rng.exponential(12.0, n))
    ).astype(np.int64)
    a_auth = add_working_days(a_start, duration)
    s47 = ~nfa & (rng.random(n) < (p.p_s47 if p_s47 is None else p_s47))
    s_start = add_working_days(ref_day, _offsets(rng, p.s47_start_wd, n))
    s_end = add_working_days(s_start, uniform_days(rng, *p.s47_working_days, n))
    icpc = s47 & (rng.random(n) < (p.p_icpc if p_icpc is None else p_icpc))
    icpc_wd = np.where(rng.random(n) < p.icpc_on_time, uniform_days(rng, 8, 15, n), uniform_days(rng, 16, 35, n))
    icpc_day = add_working_days(s_start, icpc_wd)
    plan_end = icpc_day + lognormal_days(rng, p.plan_days_median, p.plan_days_sigma, n, 40, 1200)
    cin_plan = rng.random(n) < p.p_cin_plan
    cin_days = lognormal_days(rng, p.cin_days_median, p.cin_days_sigma, n, 20, 2000)
    close = np.select(
        [nfa, icpc, s47],
        [
            ref_day + uniform_days(rng, 0, 7, n),
            plan_end + uniform_days(rng, 0, 90, n),
            np.maximum(a_auth, s_end) + np.where(cin_plan, cin_days, uniform_days(rng, 0, 20, n)),
        ],
        a_auth + np.where(cin_plan, cin_days, uniform_days(rng, 0, 15, n)),
    )
    close = np.maximum.reduce([close, np.where(nfa, ref_day, a_auth), np.where(s47, s_end, ref_day)])
    early_help = rng.random(n) < p.p_early_help_closure
    reason = np.select(
        [nfa, ~(cin_plan | s47) & early_help, ~(cin_plan | s47)],
        [
            code_index("cin_close_reason", ["RC7"])[0],
            code_index("cin_close_reason", ["RC9"])[0],
            code_index("cin_close_reason", ["RC8"])[0],
        ],
        code_index("cin_close_reason", ["RC7"])[0],
    )
    return {
        "ref_day": ref_day,
        "nfa": nfa,
        "need": choose_codes(rng, "cin_primary_need", p.need_weights, n),
        "a_start": np.where(nfa, NO_DAY, a_start),
        "a_auth": np.where(nfa, NO_DAY, a_auth),
        "seen": rng.random(n) < p.p_child_seen,
        "s47": s47,
        "s_start": np.where(s47, s_start, NO_DAY),
        "s_end": np.where(s47, s_end, NO_DAY),
        "icpc": icpc,
        "icpc_day": np.where(icpc, icpc_day, NO_DAY),
        "icpc_target": np.where(icpc, add_working_days(s_start, 15), NO_DAY),
        "transfer_in": icpc & (rng.random(n) < p.p_transfer_in),
        "plan_end": np.where(icpc, plan_end, NO_DAY),
        "close": close,
        "close_reason": reason,
    }


def concat_paths(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = parts[0].keys()
    return {k: np.concatenate([part[k] for part in parts]) for k in keys}


def _later_record(
    rng: np.random.Generator, parent_rec: np.ndarray, own_day: np.ndarray, p: ProtectionParams
) -> np.ndarray:
    n = len(own_day)
    lag = np.where(rng.random(n) < p.late_share, uniform_days(rng, *p.late_lag_days, n), 0)
    return np.maximum(parent_rec, own_day + lag)


def build_protection_tables(
    paths: pl.DataFrame, streams: Streams, p: ProtectionParams = PROTECTION
) -> dict[str, pl.DataFrame]:
    """SSD tables (ids assigned, person still as ``_person`` index) from the referral paths.

    ``paths`` holds the columns of :func:`draw_paths` plus ``_person``, ``source`` (contact source
    index) and ``rec`` (the day the referral was recorded)."""
    rng = streams.rng("protection", "tables")
    paths = assign_ids(paths, "referral_id", ("rec", "ref_day"), ID_BASE["ssd_cin_episodes"])
    tables = {"ssd_cin_episodes": _referrals(paths)}
    assessed = paths.filter(~pl.col("nfa"))
    a_rec = _later_record(rng, assessed["rec"].to_numpy(), assessed["a_start"].to_numpy(), p)
    tables["ssd_cin_assessments"] = _assessments(assessed.with_columns(a_rec=a_rec))
    s47 = paths.filter(pl.col("s47"))
    s47 = s47.with_columns(s_rec=_later_record(rng, s47["rec"].to_numpy(), s47["s_start"].to_numpy(), p))
    s47 = assign_ids(s47, "s47_id", ("s_rec", "s_start"), ID_BASE["ssd_s47_enquiry"])
    tables["ssd_s47_enquiry"] = _s47(s47)
    icpc = s47.filter(pl.col("icpc"))
    icpc = icpc.with_columns(
        i_rec=np.maximum(icpc["s_rec"].to_numpy(), icpc["icpc_day"].to_numpy()),
        cp=_plan_outcome(streams, rng, icpc, p),
    )
    icpc = assign_ids(icpc, "icpc_id", ("i_rec", "icpc_day"), ID_BASE["ssd_initial_cp_conference"])
    tables["ssd_initial_cp_conference"] = _icpc(icpc)
    plans = assign_ids(icpc.filter(pl.col("cp")), "plan_id", ("i_rec", "icpc_day"), ID_BASE["ssd_cp_plans"])
    tables["ssd_cp_plans"] = _plans(plans, rng)
    tables["ssd_cp_reviews"] = _cp_reviews(plans, rng, p)
    return tables


def _plan_outcome(streams: Streams, rng: np.random.Generator, icpc: pl.DataFrame, p: ProtectionParams) -> np.ndarray:
    """Conference outcome: a monthly quota of plans among non-transfer-in conferences."""
    month = month_index(icpc["icpc_day"].to_numpy())
    share = np.clip(
        monthly_values(streams, "cp-plan-share", month, p.cp_plan_share, p.cp_plan_share_jitter), 0.85, 0.95
    )
    transfer = icpc["transfer_in"].to_numpy()
    keys = np.where(transfer, -1, month)
    return np.where(transfer, rng.random(len(month)) < p.cp_plan_share, quota(keys, share, rng))


def _referrals(paths: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cine_referral_id": paths["referral_id"],
            "cine_person_id": paths["_person"],
            "cine_referral_date": date_column(paths["ref_day"]),
            "cine_referral_source_code": code_column("contact_source", paths["source"].to_numpy()),
            "cine_cin_primary_need_code": code_column("cin_primary_need", paths["need"].to_numpy()),
            "cine_referral_nfa": flag_column(paths["nfa"].to_numpy()),
            "cine_close_reason": code_column("cin_close_reason", paths["close_reason"].to_numpy()),
            "cine_close_date": date_column(paths["close"]),
            "_rec": date_column(paths["rec"]),
        }
    )


def _assessments(assessed: pl.DataFrame) -> pl.DataFrame:
    assessed = assign_ids(assessed, "assessment_id", ("a_rec", "a_start"), ID_BASE["ssd_cin_assessments"])
    return pl.DataFrame(
        {
            "cina_assessment_id": assessed["assessment_id"],
            "cina_person_id": assessed["_person"],
            "cina_referral_id": assessed["referral_id"],
            "cina_assessment_start_date": date_column(assessed["a_start"]),
            "cina_assessment_child_seen": flag_column(assessed["seen"].to_numpy()),
            "cina_assessment_auth_date": date_column(assessed["a_auth"]),
            "_rec": date_column(assessed["a_rec"]),
        }
    )


def _s47(s47: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "s47e_s47_enquiry_id": s47["s47_id"],
            "s47e_referral_id": s47["referral_id"],
            "s47e_person_id": s47["_person"],
            "s47e_s47_start_date": date_column(s47["s_start"]),
            "s47e_s47_end_date": date_column(s47["s_end"]),
            "_rec": date_column(s47["s_rec"]),
        }
    )


def _icpc(icpc: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "icpc_icpc_id": icpc["icpc_id"],
            "icpc_s47_enquiry_id": icpc["s47_id"],
            "icpc_referral_id": icpc["referral_id"],
            "icpc_person_id": icpc["_person"],
            "icpc_icpc_transfer_in": flag_column(icpc["transfer_in"].to_numpy()),
            "icpc_icpc_target_date": date_column(icpc["icpc_target"]),
            "icpc_icpc_date": date_column(icpc["icpc_day"]),
            "icpc_icpc_outcome_cp_flag": flag_column(icpc["cp"].to_numpy()),
            "_rec": date_column(icpc["i_rec"]),
        }
    )


def _plans(plans: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    category = choose_codes(rng, "cp_category", CP_CATEGORIES, plans.height)
    return pl.DataFrame(
        {
            "cppl_cp_plan_id": plans["plan_id"],
            "cppl_referral_id": plans["referral_id"],
            "cppl_icpc_id": plans["icpc_id"],
            "cppl_person_id": plans["_person"],
            "cppl_cp_plan_start_date": date_column(plans["icpc_day"]),
            "cppl_cp_plan_end_date": date_column(plans["plan_end"]),
            "cppl_cp_plan_initial_category": code_column("cp_category", category),
            "_rec": date_column(plans["i_rec"]),
        }
    )


def _cp_reviews(plans: pl.DataFrame, rng: np.random.Generator, p: ProtectionParams) -> pl.DataFrame:
    start = plans["icpc_day"].to_numpy()
    reviews = schedule(
        rng, start, plans["plan_end"].to_numpy(), add_months(start, CP_REVIEWS.first_due_months), CP_REVIEWS
    )
    plan_rec = plans["i_rec"].to_numpy()[reviews.owner]
    frame = pl.DataFrame(
        {
            "_person": plans["_person"].to_numpy()[reviews.owner],
            "plan_id": plans["plan_id"].to_numpy()[reviews.owner],
            "due": reviews.due,
            "held": reviews.held,
            "rec": _later_record(rng, plan_rec, reviews.held, p),
        }
    )
    frame = assign_ids(frame, "review_id", ("rec", "held"), ID_BASE["ssd_cp_reviews"])
    return pl.DataFrame(
        {
            "cppr_cp_review_id": frame["review_id"],
            "cppr_person_id": frame["_person"],
            "cppr_cp_plan_id": frame["plan_id"],
            "cppr_cp_review_due": date_column(frame["due"]),
            "cppr_cp_review_date": date_column(frame["held"]),
            "_rec": date_column(frame["rec"]),
        }
    )
