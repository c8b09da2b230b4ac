"""Children looked after: periods of care, why they end, and the SSDA903-style tables.

Periods of care start at a steady rate over the 19 years before the first window (so the
population in care is settled by the time any extract looks at it). Each child's age on entry
decides how the period is likely to end (home, permanence, staying until 18, other); how long it
lasts follows from that, capped at the 18th birthday. Some children who went home come back into
care. A small cohort has a series of short breaks (V3 agreements or V4 individual breaks). The
reason each period ends is assigned per calendar month so that the share ending in a special
guardianship order is steady. Placements and legal statuses come from :mod:`placements`; episodes
are cut wherever either changes; children-in-care reviews follow :mod:`reviews`. Every child
entering care (other than for short breaks) arrives through a contact, a referral and an
assessment (:mod:`protection`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.contract import TABLES_BY_NAME
from dagster_project.extracts.generator.codes import choose_codes, code_column, code_index, flag_column
from dagster_project.extracts.generator.dates import (
    NEVER,
    add_working_days,
    age_in_years,
    birthday,
    month_index,
)
from dagster_project.extracts.generator.frontdoor import FLAG_BITS, source_codes
from dagster_project.extracts.generator.identity import postcode_column
from dagster_project.extracts.generator.params import (
    AGED_OUT,
    BRADFORD,
    CARE,
    COMMENTS,
    HOME,
    OTHER,
    PERMANENCE,
    SHORT_BREAKS,
    STABILITY_WEIGHTS_BY_BAND,
    Calibration,
    CareParams,
)
from dagster_project.extracts.generator.placements import SAME_CARER, build_legal_statuses, build_placements
from dagster_project.extracts.generator.protection import draw_paths
from dagster_project.extracts.generator.randomness import (
    NOT_ELIGIBLE,
    Streams,
    group_index,
    lognormal_days,
    monthly_values,
    pick,
    pick_per_row,
    priority_quota,
    uniform_days,
)
from dagster_project.extracts.generator.reviews import ReviewRule, schedule
from dagster_project.extracts.generator.tables import (
    ID_BASE,
    NO_DAY,
    PERIOD_OF_CARE_ID_BASE,
    assign_ids,
    date_column,
)
from dagster_project.extracts.generator.timeline import Timeline

HISTORY_YEARS = 19
CLA_REVIEWS = ReviewRule(
    first_due_months=0,
    second_gap_months=3,
    gap_months=6,
    p_on_time=CARE.review_on_time,
    p_cancelled=CARE.review_cancelled,
)
NEED_WEIGHTS = {"N1": 0.6, "N2": 0.04, "N3": 0.03, "N4": 0.1, "N5": 0.12, "N6": 0.04, "N7": 0.01, "N8": 0.06}
REASONS_BY_CATEGORY: dict[int, dict[str, float]] = {
    HOME: {"E4A": 0.7, "E4B": 0.12, "E13": 0.18},  # E4A is then set by a monthly quota
    AGED_OUT: {"E17": 0.33, "E5": 0.25, "E6": 0.1, "E8": 0.24, "E7": 0.03, "E9": 0.03, "E15": 0.02},
    OTHER: {"E3": 0.42, "E13": 0.2, "E16": 0.08, "E8": 0.2, "E9": 0.06, "E14": 0.03, "E2": 0.01},
    SHORT_BREAKS: {"E8": 1.0},
}
SGO_REASONS = {"E45": 0.3, "E46": 0.25, "E47": 0.25, "E48": 0.14, "E43": 0.03, "E44": 0.03}
ENTRY_SOURCE_WEIGHTS = (0.3, 0.15, 0.2, 0.1, 0.2, 0.05)  # by SOURCE_GROUPS order


@dataclass(frozen=True)
class Care:
    periods: pl.DataFrame  # period, _person, dob, start, end, category, reason, short, stability, ...
    children: pl.DataFrame  # _person, dob, first_seen
    entry_contacts: pl.DataFrame  # contact drafts (frontdoor layout)
    entry_paths: dict[str, np.ndarray]  # referral journeys (protection layout)
    tables: dict[str, pl.DataFrame]  # episodes, legal statuses, placements, reviews (person as index)

    def with_person_offset(self, offset: int) -> Care:
        """The same simulation with every person index moved up by ``offset`` (what
        ``simulate_care(..., person_offset=offset)`` gives: the offset only numbers the children,
        so care can be simulated before the front door has counted its own)."""
        if offset == 0:
            return self
        shift = pl.col("_person") + offset
        return Care(
            self.periods.with_columns(shift),
            self.children.with_columns(shift),
            self.entry_contacts.with_columns(shift),
            self.entry_paths | {"_person": self.entry_paths["_person"] + offset},
            {
                name: frame.with_columns(pl.col(TABLES_BY_NAME[name].person_column) + offset)
                for name, frame in self.tables.items()
            },
        )


def simulate_care(
    streams: Streams, timeline: Timeline, scale: float, person_offset: int, cal: Calibration = BRADFORD
) -> Care:
    p = cal.care
    periods = _draw_periods(streams, timeline, scale, p)
    periods = _assign_persons(periods, person_offset)
    periods = _assign_reasons(streams, periods, p)
    placements = build_placements(streams, periods, timeline.end, scale, p, cal.placement_kind_weights)
    adoption_day = _adoption_days(placements, periods.height)
    legal = build_legal_statuses(streams, periods, adoption_day)
    contacts, paths = _entry_journeys(streams, periods, cal)
    tables = _care_tables(streams, periods, placements, legal, p)
    first_seen = periods.group_by("_person", maintain_order=True).agg(pl.col("start").min(), pl.col("dob").first())
    entry = (
        pl.DataFrame({"_person": contacts["_person"], "first_contact": contacts["day"]})
        .group_by("_person", maintain_order=True)
        .agg(pl.col("first_contact").min())
    )
    children = first_seen.join(entry, on="_person", how="left", maintain_order="left").select(
        "_person", "dob", first_seen=pl.min_horizontal("start", "first_contact")
    )
    return Care(periods, children, contacts, paths, tables)


# ---------------------------------------------------------------------------------------------
# periods


def _first_entries(rng: np.random.Generator, t0: int, end: int, scale: float, p: CareParams) -> dict:
    n = int(rng.poisson(p.starts_per_day * scale * (end - t0 + 1)))
    start = np.sort(rng.integers(t0, end + 1, n))
    band = pick(rng, p.age_band_weights, n)
    return {"start": start, "band": band, "age_days": _age_days(rng, band, p), "short": np.zeros(n, np.int64)}


def _age_days(rng: np.random.Generator, band: np.ndarray, p: CareParams) -> np.ndarray:
    lo, hi = (np.array(x)[band] for x in zip(*p.age_band_years, strict=True))
    years = lo + np.floor(rng.random(len(band)) * (hi - lo + 1)).astype(np.int64)
    return np.minimum(years * 365 + rng.integers(0, 365, len(band)), 18 * 365 - 20)


def _durations(rng: np.random.Generator, category: np.ndarray, p: CareParams) -> np.ndarray:
    n = len(category)
    return np.select(
        [category == HOME, category == PERMANENCE, category == OTHER],
        [
            lognormal_days(rng, *p.home_days, n, 3),
            lognormal_days(rng, *p.perm_days, n, 120),
            lognormal_days(rng, *p.other_days, n, 7),
        ],
        NEVER,
    )


def _finish(rng: np.random.Generator, draft: dict, dob: np.ndarray, p: CareParams) -> dict:
    """Category, end (capped at the 18th birthday) and stability class of drafted periods."""
    category = pick_per_row(rng, np.array(p.category_weights), draft["band"])
    end = np.minimum(draft["start"] + _durations(rng, category, p), birthday(dob, 18))
    end = np.maximum(end, draft["start"] + 2)
    category = np.where(end >= birthday(dob, 18), AGED_OUT, category)
    stability = pick_per_row(rng, np.array(STABILITY_WEIGHTS_BY_BAND), draft["band"])
    return {**draft, "dob": dob, "end": end, "category": category, "stability": stability}


def _reentries(rng: np.random.Generator, first: dict, end_day: int, p: CareParams) -> dict:
    n = len(first["start"])
    back = (first["category"] == HOME) & (rng.random(n) < p.p_reentry)
    start = first["end"] + uniform_days(rng, *p.reentry_gap_days, n)
    dob = first["dob"]
    back &= (start <= end_day) & (start < birthday(dob, 18) - 30)
    age = age_in_years(dob[back], start[back])
    band = np.select([age < 1, age < 5, age < 10, age < 16], [0, 1, 2, 3], 4)
    draft = {
        "start": start[back],
        "band": band,
        "age_days": start[back] - dob[back],
        "short": np.zeros(back.sum(), np.int64),
        "child": first["child"][back],
    }
    return _finish(rng, draft, dob[back], p)


def _short_break_series(
    rng: np.random.Generator, t0: int, end: int, scale: float, kind: int, stock: float, p: CareParams
) -> dict:
    """Periods of children on a series of short breaks: V3 agreements of 6-12 months back to back,
    or V4 individual breaks of a few days every few weeks."""
    series_days = 725 if kind == 3 else 730
    n = int(rng.poisson(stock * scale * (end - t0 + 1) / series_days))
    first = rng.integers(t0, end + 1, n)
    count = rng.integers(1, 5, n) if kind == 3 else rng.integers(8, 30, n)
    owner = group_index(count)
    length = uniform_days(rng, 180, 365, len(owner)) if kind == 3 else uniform_days(rng, 2, 5, len(owner))
    gap = uniform_days(rng, 1, 30, len(owner)) if kind == 3 else uniform_days(rng, 20, 60, len(owner))
    offset = np.cumsum(length + gap) - (length + gap)
    offset -= np.repeat(offset[np.cumsum(count) - count], count)
    start = first[owner] + offset
    dob = (first - rng.integers(5 * 365, 15 * 365, n))[owner]
    end_day = np.minimum(start + length, birthday(dob, 18))
    keep = (start <= end) & (end_day > start + 1)
    m = keep.sum()
    return {
        "start": start[keep],
        "band": np.full(m, 2),
        "age_days": (start - dob)[keep],
        "short": np.full(m, kind),
        "dob": dob[keep],
        "end": end_day[keep],
        "category": np.full(m, SHORT_BREAKS),
        "stability": np.zeros(m, np.int64),
        "child": -1 - owner[keep] - (0 if kind == 3 else 10**9),
    }


def _draw_periods(streams: Streams, timeline: Timeline, scale: float, p: CareParams) -> pl.DataFrame:
    rng = streams.rng("care", "periods")
    t0 = timeline.first_window_start - HISTORY_YEARS * 365
    draft = _first_entries(rng, t0, timeline.end, scale, p)
    draft["child"] = np.arange(len(draft["start"]))
    first = _finish(rng, draft, draft["start"] - draft["age_days"], p)
    parts = [
        first,
        _reentries(rng, first, timeline.end, p),
        _short_break_series(rng, t0, timeline.end, scale, 3, p.short_break_v3_children, p),
        _short_break_series(rng, t0, timeline.end, scale, 4, p.short_break_v4_children, p),
    ]
    keys = ("child", "start", "end", "dob", "band", "category", "stability", "short")
    frame = pl.DataFrame({k: np.concatenate([part[k] for part in parts]).astype(np.int64) for k in keys})
    return (
        frame.sort(["start", "child"], maintain_order=True)
        .with_row_index("period")
        .with_columns(pl.col("period").cast(pl.Int64))
    )


def _assign_persons(periods: pl.DataFrame, offset: int) -> pl.DataFrame:
    """One person per child (re-entries keep theirs), numbered by first entry."""
    first = periods.group_by("child", maintain_order=True).agg(pl.col("start").min())
    first = first.sort(["start", "child"], maintain_order=True).with_row_index("_person")
    first = first.select("child", pl.col("_person").cast(pl.Int64) + offset)
    return periods.join(first, on="child", how="left", maintain_order="left")


# ---------------------------------------------------------------------------------------------
# why periods end


def _assign_reasons(streams: Streams, periods: pl.DataFrame, p: CareParams) -> pl.DataFrame:
    """Why each period ends: by its category, with monthly shares for special guardianship and
    planned return home so those published figures are steady."""
    rng = streams.rng("care", "reasons")
    n = periods.height
    category = periods["category"].to_numpy()
    reason = np.full(n, -1, dtype=np.int64)
    for cat, weights in REASONS_BY_CATEGORY.items():  # loop over categories
        rows = np.flatnonzero(category == cat)
        reason[rows] = choose_codes(rng, "cla_ceased_reason", weights, len(rows))
    age_end = age_in_years(periods["dob"].to_numpy(), periods["end"].to_numpy())
    for code, older in (
        ("E5", True),
        ("E6", True),
        ("E15", True),
        ("E17", True),
        ("E7", True),
        ("E9", False),
    ):
        wrong = (reason == _ceased(code)) & ((age_end < 16) if older else (age_end < 12))
        reason[wrong] = _ceased("E8")
    month = month_index(periods["end"].to_numpy())
    home, young = category == HOME, age_end < 16
    sgo = priority_quota(
        month,
        np.select([category == PERMANENCE, home & young], [0, 1], NOT_ELIGIBLE),
        monthly_values(streams, "sgo-share", month, p.sgo_share, p.sgo_share_jitter),
        rng,
    )
    reason[sgo] = choose_codes(rng, "cla_ceased_reason", SGO_REASONS, int(sgo.sum()))
    planned_home = priority_quota(
        month,
        np.select([home & ~sgo, (category == OTHER) & young], [0, 1], NOT_ELIGIBLE),
        monthly_values(streams, "home-share", month, p.returned_home_share, p.returned_home_jitter),
        rng,
    )
    reason[home & ~sgo & ~planned_home & (reason == _ceased("E4A"))] = _ceased("E4B")
    reason[planned_home] = _ceased("E4A")
    leftover = (category == PERMANENCE) & ~sgo
    adopted = leftover & (age_end <= p.adoption_max_age)
    reason[adopted] = choose_codes(rng, "cla_ceased_reason", {"E11": 0.85, "E12": 0.15}, int(adopted.sum()))
    reason[leftover & ~adopted] = _ceased("E41")
    return periods.with_columns(reason=reason, need=choose_codes(rng, "cla_primary_need", NEED_WEIGHTS, n))


def _ceased(code: str) -> int:
    return int(code_index("cla_ceased_reason", [code])[0])


def _adoption_days(placements: pl.DataFrame, n_periods: int) -> np.ndarray:
    day = np.full(n_periods, NO_DAY, dtype=np.int64)
    adoption = placements.filter(pl.col("type").is_in(code_index("placement_type", ["A3", "A4", "A5", "A6"]).tolist()))
    day[adoption["period"].to_numpy()] = adoption["start"].to_numpy()
    return day


# ---------------------------------------------------------------------------------------------
# how children arrive in care


def _entry_journeys(
    streams: Streams, periods: pl.DataFrame, cal: Calibration = BRADFORD
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """A contact, a referral (with an assessment, sometimes an S47) for every period other than a
    short break; the referral stays open while the child is looked after."""
    rng = streams.rng("care", "entry")
    entries = periods.filter(pl.col("short") == 0)
    n = entries.height
    start, end = entries["start"].to_numpy(), entries["end"].to_numpy()
    emergency = rng.random(n) < 0.3
    lead = np.where(emergency, rng.integers(0, 2, n), rng.integers(3, 91, n))
    day = start - lead
    source = source_codes(rng, pick(rng, ENTRY_SOURCE_WEIGHTS, n), cal.source_groups)
    p_s47 = np.where(lead >= 5, 0.5, 0.0)
    paths = draw_paths(rng, day, assess_all=True, p_s47=p_s47, p_icpc=0.0, p=cal.protection)
    closes_with_care = end + uniform_days(rng, 0, 30, n)
    paths["close"] = np.maximum(paths["close"], closes_with_care)
    paths["close_reason"] = _referral_close_reason(entries["reason"].to_numpy())
    paths.update(_person=entries["_person"].to_numpy(), source=source, rec=day)
    flags = (np.int64(1) << FLAG_BITS["NEW_REFERRAL_FLAG"]) | (
        paths["s47"].astype(np.int64) << FLAG_BITS["CP_ENQUIRY_FLAG"]
    )
    contacts = pl.DataFrame(
        {
            "_person": entries["_person"],
            "day": day,
            "source": source,
            "decision": day,
            "flags": flags,
            "comment": np.where(rng.random(n) < 0.5, rng.integers(1, len(COMMENTS) + 1, n), 0),
            "rec": day,
            "late": np.zeros(n, dtype=bool),
        }
    )
    return contacts, paths


def _referral_close_reason(reason: np.ndarray) -> np.ndarray:
    mapping = {"E11": "RC1", "E12": "RC1", "E2": "RC2", "E41": "RC3", "E3": "RC5", "E7": "RC6"}
    for code in SGO_REASONS:
        mapping[code] = "RC4"
    out = np.full(len(reason), code_index("cin_close_reason", ["RC7"])[0])
    for ceased, closed in mapping.items():  # loop over reason codes
        out[reason == code_index("cla_ceased_reason", [ceased])[0]] = code_index("cin_close_reason", [closed])[0]
    return out


# ---------------------------------------------------------------------------------------------
# tables


def _care_tables(
    streams: Streams, periods: pl.DataFrame, placements: pl.DataFrame, legal: pl.DataFrame, p: CareParams
) -> dict[str, pl.DataFrame]:
    periods = assign_ids(periods, "cla_id", ("start", "period"), PERIOD_OF_CARE_ID_BASE).sort("period")
    placements = assign_ids(placements, "placement_id", ("start", "period"), ID_BASE["ssd_cla_placement"])
    placements = placements.sort(["period", "start"], maintain_order=True)
    episodes = _episodes(placements, legal, periods)
    return {
        "ssd_cla_episodes": _episode_table(episodes, periods),
        "ssd_legal_status": _legal_table(legal, periods),
        "ssd_cla_placement": _placement_table(placements, periods),
        "ssd_cla_reviews": _review_table(streams, periods, p),
    }


def _episodes(placements: pl.DataFrame, legal: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    """Cut each period wherever its placement or legal status changes (RNE from what changed)."""
    place = placements.select(
        "period",
        "start",
        placement_id="placement_id",
        same=pl.col("how") == SAME_CARER,
        moved=pl.lit(True),
        legal=pl.lit(False),
    )
    status = legal.select(
        "period",
        "start",
        placement_id=pl.lit(None, pl.Int32),
        same=pl.lit(False),
        moved=pl.lit(False),
        legal=pl.lit(True),
    )
    points = (
        pl.concat([place, status])
        .sort(["period", "start"], maintain_order=True)
        .group_by(["period", "start"], maintain_order=True)
        .agg(
            pl.col("placement_id").drop_nulls().first(),
            pl.col("same").any(),
            pl.col("moved").any(),
            pl.col("legal").any(),
        )
    )
    period_start = pl.Series(periods["start"].to_numpy())[points["period"].to_numpy()]
    first = points["start"] == period_start
    rne = (
        pl.when(first)
        .then(pl.lit("S"))
        .when(pl.col("moved") & pl.col("legal"))
        .then(pl.when(pl.col("same")).then(pl.lit("U")).otherwise(pl.lit("B")))
        .when(pl.col("moved"))
        .then(pl.when(pl.col("same")).then(pl.lit("T")).otherwise(pl.lit("P")))
        .otherwise(pl.lit("L"))
    )
    points = points.with_columns(rne=rne, placement_id=pl.col("placement_id").forward_fill().over("period"))
    last = (points["period"].shift(-1) != points["period"]).fill_null(True)
    period_end = pl.Series(periods["end"].to_numpy())[points["period"].to_numpy()]
    return points.with_columns(end=pl.when(last).then(period_end).otherwise(pl.col("start").shift(-1)), last=last)


def _episode_table(episodes: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    episodes = assign_ids(episodes, "episode_id", ("start", "period"), ID_BASE["ssd_cla_episodes"])
    period = episodes["period"].to_numpy()
    x1 = code_index("cla_ceased_reason", ["X1"])[0]
    ceased = np.where(episodes["last"].to_numpy(), periods["reason"].to_numpy()[period], x1)
    reasons = ["B", "L", "P", "S", "T", "U"]
    rne_idx = episodes["rne"].cast(pl.Enum(reasons)).to_physical().to_numpy()
    rne_codes = code_index("cla_start_reason", reasons)[rne_idx]
    return pl.DataFrame(
        {
            "clae_cla_episode_id": episodes["episode_id"],
            "clae_person_id": periods["_person"].to_numpy()[period],
            "clae_cla_id": periods["cla_id"].to_numpy()[period],
            "clae_cla_placement_id": episodes["placement_id"],
            "clae_cla_episode_start_date": date_column(episodes["start"]),
            "clae_cla_episode_start_reason": code_column("cla_start_reason", rne_codes),
            "clae_cla_primary_need_code": code_column("cla_primary_need", periods["need"].to_numpy()[period]),
            "clae_cla_episode_ceased_date": date_column(episodes["end"]),
            "clae_cla_episode_ceased_reason": code_column("cla_ceased_reason", ceased),
            "clae_entered_care_date": date_column(periods["start"].to_numpy()[period]),
        }
    )


def _legal_table(legal: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    legal = assign_ids(legal, "legal_id", ("start", "period"), ID_BASE["ssd_legal_status"])
    return pl.DataFrame(
        {
            "lega_legal_status_id": legal["legal_id"],
            "lega_person_id": periods["_person"].to_numpy()[legal["period"].to_numpy()],
            "lega_legal_status": code_column("legal_status", legal["status"].to_numpy()),
            "lega_legal_status_start_date": date_column(legal["start"]),
            "lega_legal_status_end_date": date_column(legal["end"]),
        }
    )


def _placement_table(placements: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    placements = placements.sort("placement_id")
    period = placements["period"].to_numpy()
    return pl.DataFrame(
        {
            "clap_cla_placement_id": placements["placement_id"],
            "clap_cla_id": periods["cla_id"].to_numpy()[period],
            "clap_person_id": periods["_person"].to_numpy()[period],
            "clap_cla_placement_start_date": date_column(placements["start"]),
            "clap_cla_placement_type": code_column("placement_type", placements["type"].to_numpy()),
            "clap_cla_placement_provider": code_column("placement_provider", placements["provider"].to_numpy()),
            "clap_cla_placement_urn": "SC" + placements["urn"].cast(pl.String),
            "clap_cla_placement_postcode": postcode_column(placements["postcode"]),
            "clap_cla_placement_distance": placements["distance"],
            "clap_cla_placement_end_date": date_column(placements["end"]),
            "clap_cla_placement_change_reason": code_column("placement_change_reason", placements["reason"].to_numpy()),
        }
    )


def _review_table(streams: Streams, periods: pl.DataFrame, p: CareParams) -> pl.DataFrame:
    rng = streams.rng("care", "reviews")
    reviewed = periods.filter(pl.col("short") == 0)
    start = reviewed["start"].to_numpy()
    reviews = schedule(rng, start, reviewed["end"].to_numpy(), add_working_days(start, 20), CLA_REVIEWS)
    n = len(reviews.owner)
    rec = reviews.held + np.where(rng.random(n) < p.review_late_share, uniform_days(rng, 10, 40, n), 0)
    frame = pl.DataFrame(
        {
            "owner": reviews.owner,
            "due": reviews.due,
            "held": reviews.held,
            "cancelled": reviews.cancelled,
            "rec": rec,
        }
    )
    frame = assign_ids(frame, "review_id", ("rec", "held"), ID_BASE["ssd_cla_reviews"])
    owner = frame["owner"].to_numpy()
    return pl.DataFrame(
        {
            "clar_cla_review_id": frame["review_id"],
            "clar_cla_id": reviewed["cla_id"].to_numpy()[owner],
            "clar_cla_person_id": reviewed["_person"].to_numpy()[owner],
            "clar_cla_review_due_date": date_column(frame["due"]),
            "clar_cla_review_date": date_column(frame["held"]),
            "clar_cla_review_cancelled": flag_column(frame["cancelled"].to_numpy()),
            "_rec": date_column(frame["rec"]),
        }
    )
