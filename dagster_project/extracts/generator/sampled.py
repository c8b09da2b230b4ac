"""Sampled councils: as many fictional councils as a test or a benchmark needs, drawn at random.

The six councils of :mod:`councils` were written by hand, so a check can still end up fitted to
the corners they happen to cover. ``sampled-1`` .. ``sampled-90`` are drawn from ranges that span
English councils' variation (and the hand-written councils'), independently per council:

* size and care: volume log-uniform 0.2-2.5 x Bradford, children looked after per contact
  0.6-1.7 x;
* the front door: police share of contacts 8-50 %, referral and police-referral rates, referrals
  closed with no further action 2-20 %, closures to early help 10-55 %;
* every placement kind's weight multiplied by 0.4-2.6 (log-uniform), so any mix of in-house and
  agency foster care, kinship and children's homes can come up;
* missing and away rates, return interviews offered and accepted, care leavers' outcomes;
* recording: 2-12 % of contacts recorded late by lags of days to two months, 0.2-1.5 % of
  children merged away later;
* each optional feature of the contract left out with probability 0.3, and any file style the
  contract allows (dates, flags in any case, header case and padding, BOM, line ends, manifest
  mode, placeholder dates).

A council's draws come from a generator seeded with its name alone, so ``sampled-7`` is the same
council on every machine and adding councils never changes one. Their LA codes are 710-799: no
English LA code starts with 7 (the hand-written councils have 701 and 702).

Like :mod:`councils`, this module imports neither numpy nor polars.
"""

from __future__ import annotations

import math
import random
import re

from dagster_project.extracts.generator.councils import (
    DATE_FORMATS,
    FLAG_SPELLINGS,
    HEADER_CASES,
    KIND_NAMES,
    LINE_ENDS,
    MANIFEST_MODES,
    CouncilProfile,
    FileStyle,
)

SAMPLED_PREFIX = "sampled-"
SAMPLED_COUNT = 90  # sampled-1 .. sampled-90
FIRST_SAMPLED_CODE = 710  # sampled-N has LA code 709 + N
SYSTEMS = ("systemc", "mosaic", "eclipse", "caredirector", "azeus", "liquidlogic")
FEATURE_ABSENT = 0.3  # the chance a sampled council leaves out each optional feature
# dates a system may write as 1900-01-01 while they are unknown: end, closure and authorisation dates
UNKNOWN_DATES = ("cina_assessment_auth_date", "cine_close_date", "clae_cla_episode_ceased_date",
                 "clap_cla_placement_end_date", "cppl_cp_plan_end_date", "lega_legal_status_end_date",
                 "miss_missing_episode_end_date", "pers_death_date", "s47e_s47_end_date")


def sampled_name(number: int) -> str:
    return f"{SAMPLED_PREFIX}{number}"


def sampled_number(name: str) -> int | None:
    """N for a name ``sampled-N`` within the range; None for any other name."""
    match = re.fullmatch(rf"{SAMPLED_PREFIX}([1-9]\d*)", name)
    number = int(match.group(1)) if match else None
    return number if number is not None and number <= SAMPLED_COUNT else None


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _style(rng: random.Random) -> FileStyle:
    yes, no = rng.choice(FLAG_SPELLINGS)
    case = rng.choice((str.upper, str.lower, str.title))
    placeholders = tuple(sorted(rng.sample(UNKNOWN_DATES, 2))) if rng.random() < 0.2 else ()
    return FileStyle(
        date=rng.choice(tuple(DATE_FORMATS)),
        flags=(case(yes), case(no)),
        header_case=rng.choice(HEADER_CASES),
        header_padding=" " if rng.random() < 0.15 else "",
        bom=rng.random() < 0.3,
        line_end=rng.choice(LINE_ENDS),
        manifest=rng.choice(MANIFEST_MODES),
        placeholder_dates=placeholders,
    )


def sampled_council(number: int) -> CouncilProfile:
    """Council ``sampled-<number>`` (1 .. SAMPLED_COUNT): its draws depend on its name alone."""
    if not 1 <= number <= SAMPLED_COUNT:
        raise ValueError(f"sampled councils are numbered 1 to {SAMPLED_COUNT}, not {number}")
    name = sampled_name(number)
    rng = random.Random(f"csc-warehouse {name}")
    volume = round(_log_uniform(rng, 0.2, 2.5), 2)
    low_lag = rng.randint(2, 15)
    return CouncilProfile(
        name,
        f"Sampled council {number} (fictional, drawn at random)",
        str(FIRST_SAMPLED_CODE - 1 + number),
        f"drawn at random ({volume:g}x)",
        source_system=rng.choice(SYSTEMS),
        volume=volume,
        care_rate=_log_uniform(rng, 0.6, 1.7),
        police_share=rng.uniform(0.08, 0.5),
        referral_rate=rng.uniform(0.8, 1.5),
        police_referral_rate=rng.uniform(0.5, 1.3),
        referral_nfa=rng.uniform(0.02, 0.2),
        early_help_closure=rng.uniform(0.1, 0.55),
        placement_mix={kind: _log_uniform(rng, 0.4, 2.6) for kind in KIND_NAMES},
        missing_rate=_log_uniform(rng, 0.6, 1.8),
        away_rate=_log_uniform(rng, 0.3, 3.5),
        rhi_offered=rng.uniform(0.65, 0.97),
        rhi_accepted=(rng.uniform(0.25, 0.65), rng.uniform(0.35, 0.75)),
        leavers_eet=rng.uniform(0.45, 0.72),
        leavers_in_touch=rng.uniform(0.45, 0.92),
        late_share=rng.uniform(0.02, 0.12),
        late_lag_days=(low_lag, rng.randint(low_lag + 15, 60)),
        removed_share=rng.uniform(0.002, 0.015),
        cp_reviews=rng.random() >= FEATURE_ABSENT,
        decision_date=rng.random() >= FEATURE_ABSENT,
        style=_style(rng),
    )


def sampled_councils() -> list[CouncilProfile]:
    """Every sampled council, sampled-1 first."""
    return [sampled_council(n) for n in range(1, SAMPLED_COUNT + 1)]
