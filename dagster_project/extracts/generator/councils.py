"""Demo councils: one simulation, several councils that differ as real English councils do.

The calibration in :mod:`params` describes one council (Bradford-sized, the default). A quality
gate judged on that council alone ends up fitted to it, so ``generate(council=...)`` can simulate
others. A :class:`CouncilProfile` says how a council differs:

* what it is: volume (a multiplier on top of ``--scale``), how many children it looks after per
  contact, where its contacts come from (police share), how readily contacts become referrals
  and how referrals close, its placement mix (in-house or agency foster care, kinship, children's
  homes), missing and away episodes and return interviews, care leavers' outcomes;
* how its system records: the share of contacts recorded late (so a month grows in the next
  extract) and of duplicate children later merged away; optional tables and columns its SSD
  script does not build;
* how its files look (:class:`FileStyle`): the date, flag and header styles, byte-order mark and
  line ends the contract allows, and whether it sends a manifest with rows and checksums, rows
  only, or none.

A profile is applied by deriving the calibration with ``dataclasses.replace``
(:meth:`CouncilProfile.calibration`), never by changing :mod:`params`; the file style is applied
by :mod:`writer`. The Bradford profile changes nothing: its extracts are byte-identical to what
the generator wrote before councils existed.

This module imports neither numpy nor polars (the CLI lists the councils before polars loads).
See docs/councils.md for what real variation each council stands for.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace

from dagster_project.contract import DATE_KINDS, OPTIONAL_FEATURES, TABLES
from dagster_project.extracts.generator.params import (
    BRADFORD,
    FRONT_DOOR,
    PLACEMENT_KINDS,
    Calibration,
    SourceGroup,
)

# The contract's date forms (EXTRACT_CONTRACT.md, "File format"), as strftime formats. A date
# written by a SQL Server datetime column carries a midnight time.
DATE_FORMATS: dict[str, str] = {
    "iso": "%Y-%m-%d",  # YYYY-MM-DD
    "iso_time": "%Y-%m-%d 00:00:00",  # YYYY-MM-DD HH:MM:SS
    "iso_millis": "%Y-%m-%d 00:00:00.000",  # YYYY-MM-DD HH:MM:SS.fff (the SSD's SQL Server rendering)
    "uk": "%d/%m/%Y",  # DD/MM/YYYY (the DfE returns' habit)
}
FLAG_SPELLINGS = (("Y", "N"), ("YES", "NO"), ("TRUE", "FALSE"), ("1", "0"))  # any case
HEADER_CASES = ("lower", "upper", "title")
LINE_ENDS = ("\r\n", "\n")
MANIFEST_MODES = ("full", "rows", "none")  # rows + sha256 per file / rows only / no manifest.json
DATE_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns if c.kind in DATE_KINDS)
DEFAULT_COUNCIL = "bradford"


@dataclass(frozen=True)
class FileStyle:
    """How a council's system writes its extract files (all within the contract)."""

    date: str = "iso"  # a DATE_FORMATS key
    flags: tuple[str, str] = ("Y", "N")  # how yes and no are spelled (also inside the outcome JSON)
    header_case: str = "lower"  # column names in the header: lower, UPPER or Title_Case
    header_padding: str = ""  # spaces written around every column name
    bom: bool = False  # UTF-8 byte-order mark before the header
    line_end: str = "\r\n"
    manifest: str = "full"  # a MANIFEST_MODES value
    placeholder_dates: tuple[str, ...] = ()  # date columns written as 1900-01-01 instead of empty

    def __post_init__(self) -> None:
        if self.date not in DATE_FORMATS:
            raise ValueError(f"date style {self.date!r}: not one of {', '.join(DATE_FORMATS)}")
        if tuple(f.upper() for f in self.flags) not in FLAG_SPELLINGS:
            raise ValueError(f"flag style {self.flags!r}: not one of the contract's spellings {FLAG_SPELLINGS}")
        if self.header_case not in HEADER_CASES:
            raise ValueError(f"header case {self.header_case!r}: not one of {', '.join(HEADER_CASES)}")
        if self.header_padding.strip(" "):
            raise ValueError("header padding must be spaces")
        if self.line_end not in LINE_ENDS:
            raise ValueError(f"line end {self.line_end!r}: not CRLF or LF")
        if self.manifest not in MANIFEST_MODES:
            raise ValueError(f"manifest mode {self.manifest!r}: not one of {', '.join(MANIFEST_MODES)}")
        unknown = sorted(set(self.placeholder_dates) - DATE_COLUMNS)
        if unknown:
            raise ValueError(f"placeholder dates for columns that are not contract dates: {', '.join(unknown)}")

    def header_name(self, column: str) -> str:
        """A column's name as this style writes it in the header."""
        name = {"lower": column, "upper": column.upper(), "title": column.title()}[self.header_case]
        return f"{self.header_padding}{name}{self.header_padding}"

    def describe(self) -> str:
        """One line: dates, flags, header, BOM, line ends, manifest."""
        header = {"lower": "lower-case", "upper": "UPPER-CASE", "title": "Title_Case"}[self.header_case]
        parts = [
            f"dates {self.date}",
            f"flags {'/'.join(self.flags)}",
            f"{header} header" + (" padded" if self.header_padding else ""),
            "BOM" if self.bom else "no BOM",
            "CRLF" if self.line_end == "\r\n" else "LF",
            f"manifest {self.manifest}",
        ]
        if self.placeholder_dates:
            parts.append("1900-01-01 for empty " + ", ".join(self.placeholder_dates))
        return ", ".join(parts)


BRADFORD_STYLE = FileStyle()
KIND_NAMES = tuple(k.name for k in PLACEMENT_KINDS)
POLICE = 0  # index of the police in params.SOURCE_GROUPS
LATE_SHARE_CAP = 0.15  # no table has more than this share of its records recorded late


@dataclass(frozen=True)
class CouncilProfile:
    """How one council differs from the calibration in :mod:`params` (None / 1.0: as there)."""

    name: str  # what --council takes
    title: str
    la_code: str  # three digits (manifest.json)
    summary: str  # one line, for --help
    source_system: str = "systemc"
    # volumes
    volume: float = 1.0  # multiplies every count (on top of --scale)
    care_rate: float = 1.0  # ... and again children entering care (children looked after per contact)
    # the front door
    police_share: float | None = None  # share of contacts from the police (as measured in the files)
    referral_rate: float = 1.0  # multiplies every contact's chance of becoming a referral
    police_referral_rate: float = 1.0  # ... and again a police contact's
    referral_nfa: float | None = None  # share of referrals closed with no further action
    early_help_closure: float | None = None  # share of closures after assessment that go to early help
    # children looked after: multipliers of the placement kinds' weights (params.PLACEMENT_KINDS names)
    placement_mix: dict[str, float] = field(default_factory=dict)
    # missing and away
    missing_rate: float = 1.0  # multiplies the children going missing a month
    away_rate: float = 1.0  # multiplies the away (type A) episodes of a child who goes missing
    rhi_offered: float | None = None  # share of missing episodes with a return interview offered
    rhi_accepted: tuple[float, float] | None = None  # share of offered interviews accepted: (in care, from home)
    # care leavers
    leavers_eet: float | None = None  # share in education, employment or training
    leavers_in_touch: float | None = None
    # recording
    late_share: float | None = None  # contacts recorded late (other tables' late shares in proportion)
    late_lag_days: tuple[int, int] | None = None  # how late a late contact is recorded
    removed_share: float | None = None  # children whose duplicate record is later merged away
    # optional features of the contract the council's SSD script builds
    cp_reviews: bool = True  # table ssd_cp_reviews
    decision_date: bool = True  # column ssd_contacts.cont_contact_decision_date
    style: FileStyle = BRADFORD_STYLE

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.name):
            raise ValueError(f"council name {self.name!r}: lower-case letters, digits and hyphens")
        if not re.fullmatch(r"\d{3}", self.la_code):
            raise ValueError(f"{self.name}: la_code {self.la_code!r} is not three digits")
        unknown = sorted(set(self.placement_mix) - set(KIND_NAMES))
        if unknown:
            known = ", ".join(KIND_NAMES)
            raise ValueError(f"{self.name}: unknown placement kinds {', '.join(unknown)}; known: {known}")
        positive = {k: v for k, v in vars(self).items() if k.endswith("_rate") or k == "volume"}
        positive |= {f"placement_mix[{k}]": v for k, v in self.placement_mix.items()}
        bad = sorted(k for k, v in positive.items() if not v > 0)
        if bad:
            raise ValueError(f"{self.name}: {', '.join(bad)} must be positive")
        shares = [self.police_share, self.referral_nfa, self.early_help_closure, self.rhi_offered]
        shares += [self.leavers_eet, self.leavers_in_touch, self.late_share, self.removed_share]
        shares += list(self.rhi_accepted or ())
        if any(s is not None and not 0 <= s < 1 for s in shares):
            raise ValueError(f"{self.name}: shares must lie in [0, 1)")

    @property
    def absent_features(self) -> frozenset[str]:
        """The contract's optional features (OPTIONAL_FEATURES keys) this council does not send."""
        absent = set()
        if not self.cp_reviews:
            absent.add("ssd_cp_reviews")
        if not self.decision_date:
            absent.add("ssd_contacts.cont_contact_decision_date")
        assert absent <= set(OPTIONAL_FEATURES)
        return frozenset(absent)

    def simulation_seed(self, seed: int) -> int:
        """The seed the simulation runs with: ``seed`` itself for the default council, else one
        salted with the council's name (two councils never share their random draws or their
        extract dates)."""
        return seed if self.name == DEFAULT_COUNCIL else seed + (zlib.crc32(self.name.encode()) << 32)

    def calibration(self) -> Calibration:
        """The calibration of :mod:`params` with this council's differences (derived, not mutated)."""
        base = BRADFORD
        late = 1.0 if self.late_share is None else self.late_share / FRONT_DOOR.late_share

        def late_scaled(share: float) -> float:
            return min(share * late, LATE_SHARE_CAP)

        groups = base.source_groups
        if self.police_share is not None:
            groups = police_reweighted(groups, self.police_share)
        if self.police_referral_rate != 1.0:
            police = groups[POLICE]
            groups = tuple(
                replace(g, p_referral=g.p_referral * self.police_referral_rate) if g is police else g for g in groups
            )

        front_door = base.front_door
        front_door = replace(
            front_door,
            referral_factor=tuple(f * self.referral_rate for f in front_door.referral_factor),
            late_share=front_door.late_share if self.late_share is None else self.late_share,
            late_lag_days=self.late_lag_days or front_door.late_lag_days,
            removed_share=front_door.removed_share if self.removed_share is None else self.removed_share,
        )

        protection = base.protection
        protection = replace(
            protection,
            p_referral_nfa=protection.p_referral_nfa if self.referral_nfa is None else self.referral_nfa,
            p_early_help_closure=(
                protection.p_early_help_closure if self.early_help_closure is None else self.early_help_closure
            ),
            late_share=late_scaled(protection.late_share),
        )

        care = base.care
        mix = [self.placement_mix.get(name, 1.0) for name in KIND_NAMES]
        care = replace(
            care,
            starts_per_day=care.starts_per_day * self.care_rate,
            short_break_v3_children=care.short_break_v3_children * self.care_rate,
            short_break_v4_children=care.short_break_v4_children * self.care_rate,
            # the capacity the council buys follows its use of purchased children's homes
            purchased_residential_target=care.purchased_residential_target
            * self.care_rate
            * self.placement_mix.get("residential_purchased", 1.0),
            review_late_share=late_scaled(care.review_late_share),
        )
        kind_weights = tuple(
            tuple(w * m for w, m in zip(band, mix, strict=True)) for band in base.placement_kind_weights
        )

        missing = base.missing
        offered = missing.rhi_offered
        if self.rhi_offered is not None:
            rest = sum(v for k, v in offered.items() if k != "Y")
            offered = {
                k: self.rhi_offered if k == "Y" else v / rest * (1 - self.rhi_offered) for k, v in offered.items()
            }
        accepted = self.rhi_accepted or (missing.rhi_accepted_cla, missing.rhi_accepted_home)
        missing = replace(
            missing,
            cla_children_per_month=missing.cla_children_per_month * self.missing_rate * self.care_rate,
            home_children_per_month=missing.home_children_per_month * self.missing_rate,
            away_episodes_cla=missing.away_episodes_cla * self.away_rate,
            away_episodes_home=missing.away_episodes_home * self.away_rate,
            rhi_offered=offered,
            rhi_accepted_cla=accepted[0],
            rhi_accepted_home=accepted[1],
            late_share=late_scaled(missing.late_share),
        )

        leavers = base.leavers
        leavers = replace(
            leavers,
            eet_share=leavers.eet_share if self.leavers_eet is None else self.leavers_eet,
            in_touch_share=leavers.in_touch_share if self.leavers_in_touch is None else self.leavers_in_touch,
        )
        derived = Calibration(front_door, groups, protection, care, kind_weights, missing, leavers)
        return base if derived == base else derived

    def describe_style(self) -> str:
        features = []
        if not self.cp_reviews:
            features.append("no ssd_cp_reviews")
        if not self.decision_date:
            features.append("no cont_contact_decision_date")
        return self.style.describe() + ("; " + ", ".join(features) if features else "")


def _retention(group: SourceGroup) -> float:
    """The share of a source's contacts that its seasonality and weekend intensity keep (up to a
    factor common to every source): mean monthly intensity x (5 working days + 2 weekend days)/7.
    Bank holidays are ignored (they change every source alike)."""
    return sum(group.season) / len(group.season) * (5 + 2 * group.weekend) / 7


def police_reweighted(groups: tuple[SourceGroup, ...], share: float) -> tuple[SourceGroup, ...]:
    """The source groups with the police's raw share set so that about ``share`` of the contacts
    written to the files come from the police (raw shares are thinned by each source's seasonality
    and weekends, schools most); the other sources keep their proportions."""
    police, others = groups[POLICE], [g for i, g in enumerate(groups) if i != POLICE]
    total = sum(g.share for g in groups)
    rest = sum(g.share for g in others)
    kept_police = _retention(police)
    kept_others = sum(g.share * _retention(g) for g in others) / rest
    raw = share * kept_others / (share * kept_others + (1 - share) * kept_police)
    return tuple(
        replace(g, share=raw * total) if i == POLICE else replace(g, share=g.share / rest * (1 - raw) * total)
        for i, g in enumerate(groups)
    )


COUNCILS: dict[str, CouncilProfile] = {
    profile.name: profile
    for profile in (
        CouncilProfile(
            "bradford",
            "Bradford (metropolitan district)",
            "380",
            "the calibration: a big northern metropolitan district",
            source_system="systemc",
        ),
        CouncilProfile(
            "northshire",
            "Northshire County Council (fictional shire county)",
            "701",
            "big shire county (2x), police notices rarely referred",
            source_system="mosaic",
            volume=2.0,
            care_rate=0.7,
            police_share=0.38,
            referral_rate=0.95,
            police_referral_rate=0.55,
            referral_nfa=0.05,
            early_help_closure=0.4,
            placement_mix={"residential_purchased": 1.4, "foster_agency": 0.8, "foster_la": 1.2, "relative": 0.8},
            missing_rate=0.8,
            away_rate=0.5,
            rhi_offered=0.8,
            rhi_accepted=(0.4, 0.6),
            leavers_eet=0.58,
            leavers_in_touch=0.7,
            late_share=0.08,
            late_lag_days=(3, 40),
            removed_share=0.006,
            style=FileStyle(date="iso_millis", header_case="upper", manifest="rows"),
        ),
        CouncilProfile(
            "eastborough",
            "London Borough of Eastborough (fictional inner-London borough)",
            "501",
            "inner-London borough (0.35x), 45% police, agency carers",
            source_system="eclipse",
            volume=0.35,
            care_rate=1.3,
            police_share=0.45,
            referral_rate=1.1,
            police_referral_rate=0.5,
            referral_nfa=0.1,
            early_help_closure=0.25,
            placement_mix={
                "foster_agency": 2.2,
                "foster_la": 0.6,
                "relative": 0.7,
                "supported": 3.0,
                "residential_purchased": 1.2,
            },
            missing_rate=1.2,
            away_rate=1.8,
            rhi_offered=0.93,
            rhi_accepted=(0.55, 0.65),
            leavers_eet=0.68,
            leavers_in_touch=0.55,
            late_share=0.1,
            late_lag_days=(2, 30),
            removed_share=0.012,
            cp_reviews=False,
            style=FileStyle(date="uk", flags=("TRUE", "FALSE"), header_padding=" ", bom=True, manifest="none"),
        ),
        CouncilProfile(
            "westmoor",
            "Westmoor Council (fictional rural unitary)",
            "702",
            "rural unitary (0.6x), few police contacts, kinship care",
            source_system="caredirector",
            volume=0.6,
            care_rate=0.9,
            police_share=0.12,
            referral_rate=1.5,
            police_referral_rate=1.3,
            referral_nfa=0.03,
            early_help_closure=0.2,
            placement_mix={
                "relative": 2.6,
                "foster_la": 1.3,
                "foster_agency": 0.6,
                "residential_purchased": 0.6,
            },
            missing_rate=0.7,
            away_rate=0.3,
            rhi_offered=0.95,
            rhi_accepted=(0.6, 0.7),
            leavers_eet=0.66,
            late_share=0.09,
            late_lag_days=(3, 45),
            removed_share=0.004,
            decision_date=False,
            style=FileStyle(date="iso_time", flags=("1", "0"), line_end="\n"),
        ),
        CouncilProfile(
            "midvale",
            "Midvale Metropolitan Borough Council (fictional)",
            "601",
            "metropolitan borough (1.3x), many NFA, many away",
            source_system="azeus",
            volume=1.3,
            care_rate=1.1,
            police_share=0.3,
            referral_nfa=0.15,
            early_help_closure=0.5,
            placement_mix={"foster_agency": 1.5, "foster_la": 0.8, "residential_purchased": 1.2},
            missing_rate=1.1,
            away_rate=3.5,
            rhi_offered=0.7,
            rhi_accepted=(0.25, 0.4),
            leavers_eet=0.52,
            leavers_in_touch=0.5,
            late_share=0.06,
            late_lag_days=(5, 60),
            removed_share=0.01,
            cp_reviews=False,
            decision_date=False,
            style=FileStyle(flags=("yes", "no"), header_case="upper", bom=True, line_end="\n", manifest="rows"),
        ),
        CouncilProfile(
            "kingsbay-on-sea",
            "Kingsbay-on-Sea Borough Council (fictional coastal unitary)",
            "602",
            "coastal town (0.45x), many in care and children's homes",
            source_system="liquidlogic",
            volume=0.45,
            care_rate=1.6,
            police_share=0.22,
            referral_rate=1.2,
            referral_nfa=0.08,
            early_help_closure=0.3,
            placement_mix={
                "residential_purchased": 2.2,
                "residential_la": 1.5,
                "foster_agency": 1.2,
                "relative": 0.9,
            },
            missing_rate=1.7,
            rhi_offered=0.85,
            rhi_accepted=(0.35, 0.5),
            leavers_eet=0.5,
            leavers_in_touch=0.6,
            late_share=0.05,
            late_lag_days=(3, 40),
            removed_share=0.015,
            style=FileStyle(
                date="iso_time",
                flags=("Yes", "No"),
                header_case="title",
                placeholder_dates=("cina_assessment_auth_date",),
            ),
        ),
    )
}


def council_profile(name: str) -> CouncilProfile:
    """The profile of council ``name``: one of :data:`COUNCILS` or a sampled council
    (``sampled-1`` .. ``sampled-90``, :mod:`sampled`); ValueError naming the valid councils on an
    unknown name."""
    # sampled.py builds on this module, so it is imported here rather than at the top
    from dagster_project.extracts.generator.sampled import SAMPLED_COUNT, sampled_council, sampled_name, sampled_number

    key = name.strip().lower() if isinstance(name, str) else ""
    if key in COUNCILS:
        return COUNCILS[key]
    number = sampled_number(key)
    if number is None:
        raise ValueError(f"unknown council {name!r}; valid councils: {', '.join(COUNCILS)}, "
                         f"{sampled_name(1)} .. {sampled_name(SAMPLED_COUNT)}")
    return sampled_council(number)
