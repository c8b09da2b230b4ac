"""Calibration of the simulation: volumes (at --scale 1, Bradford) and behaviour probabilities.

Values were tuned so that the SCORECARD.md measures computed from the generated extracts fall in
the ranges of Bradford's published July-December 2023 figures (bradford-published-figures.md)
and the volumes of domain-standards.md section 9. Everything that is a count of events per unit of
time is multiplied by ``--scale``; shares and durations are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Front door: contacts and referral decisions


@dataclass(frozen=True)
class SourceGroup:
    """Contacts from one kind of source: volume share, seasonality and usual outcomes."""

    name: str
    share: float  # share of raw (pre-seasonality) contacts
    codes: dict[str, float]  # DfE source codes and their weights
    season: tuple[float, ...]  # relative intensity per calendar month, January first
    weekend: float  # relative intensity on a weekend or bank holiday
    p_referral: float  # outcome shares: new referral (if no referral open) ...
    p_advice: float  # ... information and advice
    p_nfa: float  # ... no further action; the rest: other outcomes (early help, signposting)


FLAT = (1.0,) * 12

SOURCE_GROUPS: tuple[SourceGroup, ...] = (
    SourceGroup(
        "police",
        0.26,
        {"6": 1.0},
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.03, 1.06, 1.0, 1.0, 0.93, 0.86),
        0.8,
        0.135,
        0.465,
        0.25,
    ),
    SourceGroup(
        "education",
        0.205,
        {"2A": 0.85, "2B": 0.15},
        (1.0, 1.02, 1.05, 0.78, 1.0, 1.05, 0.8, 0.1, 1.0, 1.02, 1.12, 0.78),
        0.04,
        0.255,
        0.3,
        0.25,
    ),
    SourceGroup(
        "health",
        0.15,
        {"3A": 0.15, "3B": 0.2, "3C": 0.1, "3D": 0.15, "3E": 0.25, "3F": 0.15},
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 1.0, 1.0, 0.9),
        0.35,
        0.25,
        0.35,
        0.2,
    ),
    SourceGroup(
        "individual",
        0.12,
        {"1A": 0.5, "1B": 0.15, "1C": 0.15, "1D": 0.2},
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9),
        0.3,
        0.215,
        0.4,
        0.2,
    ),
    SourceGroup(
        "la_services",
        0.14,
        {"5A": 0.25, "5B": 0.25, "5C": 0.2, "5D": 0.3},
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.92, 1.0, 1.0, 1.0, 0.85),
        0.1,
        0.29,
        0.3,
        0.2,
    ),
    SourceGroup(
        "other",
        0.11,
        {"4": 0.25, "7": 0.25, "8": 0.35, "9": 0.1, "10": 0.05},
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 1.0, 1.0, 0.9),
        0.15,
        0.22,
        0.35,
        0.25,
    ),
)

# Short synthetic notes for the COMMENTS key; some carry commas and quotes on purpose.
COMMENTS: tuple[str, ...] = (
    "Concerns about school attendance",
    "Police attended, domestic incident at home",
    'Child told teacher "I don\'t want to go home"',
    "Neighbour reports children left alone, evenings",
    "Health visitor worried about home conditions",
    'Mum says "we are managing, just about"',
    "Request for information from another LA",
    "Found in town centre late at night, returned home",
    "Referral passed to early help hub",
    'Anonymous caller: "kids shouting, loud music"',
    "Unexplained bruising noticed at nursery",
    "Sibling already known; advice given to school",
    "Housing officer notes overcrowding, damp",
    "Young person disclosed self-harm to GP",
    "Parent requested support with behaviour",
)


@dataclass(frozen=True)
class FrontDoorParams:
    chains_per_day: float = 45.0  # children starting a run of contacts, per day, at scale 1
    burn_in_years: int = 3  # simulated before the first window so referral state is settled
    unborn_share: float = 0.03  # children first contacted before birth
    # age at first contact, years 0..17
    age_weights: tuple[float, ...] = (9, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5.5, 6, 6.5, 7, 7.5, 7.5, 6.5, 4)
    # Two kinds of children: most are contacted once or twice; a minority ("repeat") again and again,
    # and are referred more readily (they make the re-referrals).
    repeat_share: float = 0.3
    p_another_contact: tuple[float, float] = (0.3, 0.88)  # run continues (geometric): one-off, repeat
    gap_mix: tuple[tuple[tuple[float, float], ...], ...] = (
        ((0.3, 30.0), (0.4, 200.0), (0.3, 600.0)),
        ((0.35, 20.0), (0.5, 70.0), (0.15, 200.0)),
    )
    referral_factor: tuple[float, float] = (0.55, 1.2)  # multiplies the source's referral share
    known_family_factor: float = 1.4  # ... and again when the last referral closed within a year
    decision_working_days: dict[int, float] = field(
        default_factory=lambda: {0: 0.6, 1: 0.27, 2: 0.06, 3: 0.04, 5: 0.03}
    )
    p_existing_flag: float = 0.75  # a would-be referral when one is already open
    late_share: float = 0.025  # contacts recorded late
    late_lag_days: tuple[int, int] = (15, 100)
    comment_share: float = 0.4
    private_fostering_per_month: tuple[int, int] = (2, 5)  # inclusive, at scale 1
    missing_flag_share_police: float = 0.04
    ola_cp_share: float = 0.004
    non_agency_adoption_share: float = 0.0004
    removed_share: float = 0.008  # duplicate child records later merged (all rows vanish)
    removal_lag_days: tuple[int, int] = (10, 90)


# ---------------------------------------------------------------------------------------------
# Help and protection: referral journeys


@dataclass(frozen=True)
class ProtectionParams:
    p_referral_nfa: float = 0.07
    need_weights: dict[str, float] = field(
        default_factory=lambda: {
            "N1": 0.5,
            "N0": 0.03,
            "N2": 0.04,
            "N3": 0.05,
            "N4": 0.12,
            "N5": 0.15,
            "N6": 0.04,
            "N7": 0.01,
            "N8": 0.04,
            "N9": 0.02,
        }
    )
    assessment_start_wd: dict[int, float] = field(default_factory=lambda: {0: 0.5, 1: 0.3, 2: 0.15, 3: 0.05})
    assessment_on_time: float = 0.785  # completed within 45 working days
    p_child_seen: float = 0.96
    p_s47: float = 0.27  # of assessed referrals
    s47_start_wd: dict[int, float] = field(default_factory=lambda: {0: 0.55, 1: 0.25, 2: 0.12, 4: 0.08})
    s47_working_days: tuple[int, int] = (5, 25)
    p_icpc: float = 0.36  # of S47 enquiries
    icpc_on_time: float = 0.8  # within 15 working days of the strategy discussion
    p_transfer_in: float = 0.03
    cp_plan_share: float = 0.9  # ICPCs resulting in a plan (per month, quota)
    cp_plan_share_jitter: float = 0.015
    plan_days_median: float = 270.0
    plan_days_sigma: float = 0.55
    p_cin_plan: float = 0.35  # assessed, no S47: child-in-need plan rather than closure
    cin_days_median: float = 150.0
    cin_days_sigma: float = 0.7
    p_early_help_closure: float = 0.3  # closures after assessment that go to early help (RC9)
    cp_review_on_time: float = 0.88
    late_share: float = 0.01  # referral-tree records recorded late (beyond their contact's lag)
    late_lag_days: tuple[int, int] = (10, 60)


# ---------------------------------------------------------------------------------------------
# Children looked after


# What a period of care is heading for (the first four are CareParams.category_weights' columns);
# AGED_OUT: reached 18 in care; SHORT_BREAKS: a series of short breaks (V3/V4).
HOME, PERMANENCE, STAYS, OTHER, AGED_OUT, SHORT_BREAKS = range(6)


@dataclass(frozen=True)
class CareParams:
    starts_per_day: float = 1.45  # new periods of care (first entries) per day at scale 1
    # entry age bands: under 1, 1-4, 5-9, 10-15, 16-17
    age_band_weights: tuple[float, ...] = (0.18, 0.14, 0.15, 0.37, 0.16)
    age_band_years: tuple[tuple[int, int], ...] = ((0, 0), (1, 4), (5, 9), (10, 15), (16, 17))
    # outcome category per band: returns home, permanence (SGO/adoption/CAO), stays to 18, other
    category_weights: tuple[tuple[float, ...], ...] = (
        (0.22, 0.55, 0.18, 0.05),
        (0.3, 0.45, 0.2, 0.05),
        (0.4, 0.22, 0.33, 0.05),
        (0.45, 0.06, 0.39, 0.1),
        (0.28, 0.02, 0.5, 0.2),
    )
    home_days: tuple[float, float] = (150.0, 1.0)  # lognormal median, sigma
    perm_days: tuple[float, float] = (640.0, 0.35)
    other_days: tuple[float, float] = (300.0, 0.9)
    p_reentry: float = 0.12  # children returned home who later come back into care
    reentry_gap_days: tuple[int, int] = (30, 700)
    sgo_share: float = 0.185  # of periods of care ending in a month (quota)
    sgo_share_jitter: float = 0.012
    returned_home_share: float = 0.21  # of periods ending in a month: planned return home (quota)
    returned_home_jitter: float = 0.02
    adoption_max_age: int = 8
    # placement moves per year by stability class: stable, moderate, unstable
    stability_weights: tuple[float, ...] = (0.7, 0.22, 0.08)
    moves_per_year: tuple[float, ...] = (0.16, 0.64, 2.1)
    purchased_residential_target: float = 192.0  # children in purchased residential, scale 1
    residential_feedback: float = 1.0  # how strongly placement choices follow that capacity
    p_same_carer_change: float = 0.1  # RNE T: placement changes with the same carer
    temporary_per_year: float = 0.05  # temporary placements (T0-T4) per child-year
    short_break_v3_children: float = 12.0  # at a time, scale 1
    short_break_v4_children: float = 4.0
    review_on_time: float = 0.98
    review_cancelled: float = 0.03
    review_late_share: float = 0.03  # reviews recorded late


# ---------------------------------------------------------------------------------------------
# Missing and away episodes


@dataclass(frozen=True)
class MissingParams:
    # distinct children with a missing (type M) episode starting in a month, at scale 1
    cla_children_per_month: float = 59.0
    home_children_per_month: float = 63.0
    seasonal_amplitude: float = 0.06
    persistence: float = 0.9  # month-to-month correlation of a child's propensity (repeat-heavy)
    extra_episodes_cla: float = 1.25  # mean extra M episodes of an active child in a month
    extra_episodes_home: float = 0.55
    away_episodes_cla: float = 0.55  # mean type A episodes of an active child in a month
    away_episodes_home: float = 0.25
    home_pool_share: float = 0.05  # front-door teenagers who may go missing
    duration_days: dict[int, float] = field(
        default_factory=lambda: {
            0: 0.34,
            1: 0.36,
            2: 0.15,
            3: 0.05,
            4: 0.03,
            6: 0.03,
            10: 0.02,
            20: 0.015,
            60: 0.005,
        }
    )
    rhi_offered: dict[str, float] = field(default_factory=lambda: {"Y": 0.87, "N": 0.09, "NA": 0.04})
    rhi_accepted_cla: float = 0.32
    rhi_accepted_home: float = 0.55
    rhi_jitter: float = 0.02
    late_share: float = 0.03
    late_lag_days: tuple[int, int] = (10, 60)


# ---------------------------------------------------------------------------------------------
# Care leavers (current state in each extract)


@dataclass(frozen=True)
class LeaverParams:
    eet_share: float = 0.635
    suitable_share: float = 0.935
    in_touch_share: float = 0.62
    eet_swing: float = 1.2  # +/- percentage points over the year
    suitable_swing: float = 0.6
    in_touch_swing: float = 3.5
    monthly_noise: float = 0.45  # how much a young person's situation changes month to month
    p_died: float = 0.004
    older_kept_share: float = 0.3  # 22-25 year olds still supported
    p_qualifying: float = 0.04
    in_touch_other: dict[str, float] = field(
        default_factory=lambda: {"NO": 0.45, "REFU": 0.25, "NREQ": 0.22, "RHOM": 0.08}
    )
    eet_codes: dict[str, float] = field(
        default_factory=lambda: {
            "F1": 0.08,
            "P1": 0.02,
            "F2": 0.34,
            "P2": 0.08,
            "F4": 0.22,
            "P4": 0.14,
            "F5": 0.08,
            "P5": 0.04,
        }
    )
    neet_codes: dict[str, float] = field(default_factory=lambda: {"G4": 0.25, "G5": 0.6, "G6": 0.15})
    suitable_accommodation: dict[str, float] = field(
        default_factory=lambda: {
            "B": 0.12,
            "C": 0.05,
            "D": 0.2,
            "E": 0.12,
            "G": 0.05,
            "H": 0.3,
            "R": 0.04,
            "V": 0.04,
            "W": 0.03,
            "X": 0.02,
            "Z": 0.03,
        }
    )
    unsuitable_accommodation: dict[str, float] = field(
        default_factory=lambda: {"K": 0.2, "S": 0.3, "T": 0.3, "U": 0.1, "Y": 0.1}
    )


FRONT_DOOR = FrontDoorParams()
PROTECTION = ProtectionParams()
CARE = CareParams()
MISSING = MissingParams()
LEAVERS = LeaverParams()


# Placement kinds (a placement's broad type) and their SSDA903 codes/providers, used by placements.py.
@dataclass(frozen=True)
class PlacementKind:
    name: str
    types: dict[str, float]
    providers: dict[str, float]  # empty: no provider recorded
    urn: bool  # carries an Ofsted URN
    out_of_area: float  # share placed outside the district
    provider_by_type: dict[str, str] = field(default_factory=dict)  # overrides ``providers``


PLACEMENT_KINDS: tuple[PlacementKind, ...] = (
    PlacementKind("foster_la", {"U4": 0.45, "U5": 0.05, "U6": 0.5}, {"PR1": 1.0}, True, 0.05),
    PlacementKind("foster_agency", {"U4": 0.45, "U5": 0.05, "U6": 0.5}, {"PR4": 0.85, "PR5": 0.15}, True, 0.3),
    PlacementKind("relative", {"U1": 0.3, "U2": 0.1, "U3": 0.6}, {"PR1": 1.0}, True, 0.15),
    PlacementKind("residential_purchased", {"K2": 0.93, "R1": 0.07}, {"PR4": 0.88, "PR5": 0.12}, True, 0.6),
    PlacementKind("residential_la", {"K2": 1.0}, {"PR1": 1.0}, True, 0.05),
    PlacementKind("supported", {"K3": 0.9, "P2": 0.1}, {"PR4": 0.7, "PR1": 0.3}, True, 0.2),
    PlacementKind("parents", {"P1": 1.0}, {"PR0": 1.0}, False, 0.05),
    PlacementKind(
        "other",
        {"S1": 0.3, "R3": 0.15, "K1": 0.15, "R2": 0.15, "R5": 0.1, "Z1": 0.15},
        {},
        False,
        0.5,
        {"S1": "PR4", "R3": "PR4", "K1": "PR1", "R2": "PR3", "R5": "PR3"},
    ),
)
# weights of each kind by age band (under 5, 5-10, 11-15, 16-17); residential weights are further
# multiplied by the child's instability (CareParams.residential_by_stability)
PLACEMENT_KIND_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (0.55, 0.22, 0.2, 0.0, 0.0, 0.0, 0.02, 0.01),
    (0.5, 0.25, 0.18, 0.035, 0.01, 0.0, 0.02, 0.01),
    (0.33, 0.25, 0.11, 0.305, 0.04, 0.0, 0.02, 0.025),
    (0.25, 0.18, 0.07, 0.255, 0.03, 0.26, 0.02, 0.02),
)
RESIDENTIAL_BY_STABILITY: tuple[float, ...] = (0.45, 1.4, 2.8)
STABILITY_WEIGHTS_BY_BAND: tuple[tuple[float, ...], ...] = (
    (0.8, 0.17, 0.03),
    (0.72, 0.21, 0.07),
    (0.62, 0.27, 0.11),
    (0.62, 0.27, 0.11),
    (0.62, 0.27, 0.11),
)
TEMPORARY_TYPES: dict[str, tuple[float, int]] = {  # share, longest stay in days
    "T0": (0.15, 14),
    "T1": (0.15, 42),
    "T2": (0.3, 14),
    "T3": (0.25, 21),
    "T4": (0.15, 7),
}
PLACEMENT_CHANGE_REASONS: dict[str, float] = {  # for changes of carer (same-carer changes are PLACE)
    "CARPL": 0.4,
    "OTHER": 0.29,
    "CREQB": 0.105,
    "CREQO": 0.08,
    "CHILD": 0.04,
    "LAREQ": 0.015,
    "STAND": 0.015,
    "CLOSE": 0.015,
    "ALLEG": 0.015,
    "APPRR": 0.005,
    "CUSTOD": 0.005,
}


# ---------------------------------------------------------------------------------------------
# One council's whole calibration


@dataclass(frozen=True)
class Calibration:
    """Every calibration value one simulation reads. The defaults are the values above (the
    Bradford-sized council); other councils derive theirs with ``dataclasses.replace``
    (:mod:`councils`), so nothing here is ever mutated."""

    front_door: FrontDoorParams = FRONT_DOOR
    source_groups: tuple[SourceGroup, ...] = SOURCE_GROUPS
    protection: ProtectionParams = PROTECTION
    care: CareParams = CARE
    # columns: PLACEMENT_KINDS; rows: age bands (see PLACEMENT_KIND_WEIGHTS)
    placement_kind_weights: tuple[tuple[float, ...], ...] = PLACEMENT_KIND_WEIGHTS
    missing: MissingParams = MISSING
    leavers: LeaverParams = LEAVERS


BRADFORD = Calibration()
