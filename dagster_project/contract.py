"""The monthly extract contract (../shared/spec/EXTRACT_CONTRACT.md) as data.

One place that says which SSD tables and columns we ingest, their types, keys, references and
code lists. The reader, the validity rules, the raw-layer DDL and the generator all read it, so
the contract is written down once. Code lists live in ``seeds/ssd_code_lists.csv`` (also a dbt
seed, so the dbt accepted-values tests use the very same lists).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"

# Column kinds. ``event`` dates are things that happened (checked by rules 353 and "future");
# ``due`` dates may lie in the future (targets, due dates).
ID, TEXT, CODE, FLAG, NUMBER, JSON, EVENT, DUE, DOB = (
    "id", "text", "code", "flag", "number", "json", "event_date", "due_date", "birth_date",
)
DATE_KINDS = frozenset({EVENT, DUE, DOB})

EARLIEST_EVENT = date(1991, 10, 14)  # rule 353
PLACEHOLDER_DATE = date(1900, 1, 1)  # read as NULL
# The scorecard's vocabulary (dim_measure.unit, fct_scorecard.availability), read by the checks and
# the publication alike.
COUNT, PERCENT = "count", "percent"
AVAILABLE, NO_DATA, NOT_AVAILABLE = "available", "no_data", "not_available"

# Known description -> code mappings (contract, "File format"). Keys are compared trimmed and
# case-insensitively.
DESCRIPTION_MAPPINGS: dict[str, dict[str, str]] = {
    "missing_type": {"MISSING": "M", "ABSENT": "A", "AWAY": "A"},
}

CONTACT_OUTCOME_KEYS = (
    "NEW_REFERRAL_FLAG", "EXISTING_REFERRAL_FLAG", "CP_ENQUIRY_FLAG", "NFA_FLAG",
    "NON_AGENCY_ADOPTION_FLAG", "PRIVATE_FOSTERING_FLAG", "ADVICE_FLAG", "MISSING_FLAG",
    "OLA_CP_FLAG", "OTHER_OUTCOMES_EXIST_FLAG", "NUMBER_OF_OUTCOMES", "COMMENTS",
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    codes: str | None = None  # code list name in seeds/ssd_code_lists.csv
    code_required: bool = False  # empty not allowed (contract, rule "codes")
    optional: bool = False  # the column may be absent from the file
    identifying: bool = False  # never leaves staging


@dataclass(frozen=True)
class Reference:
    """A foreign key: ``column`` of this table must match ``to_column`` of ``to_table``."""

    column: str
    to_table: str
    to_column: str


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]
    required: bool = True
    references: tuple[Reference, ...] = ()
    person_column: str | None = None
    # (start, end) column pairs checked by rule 356/8608/8630/8925/567
    start_end: tuple[str, str] | None = None
    # rule 501/574 (no overlaps per child) and 302/586 (not before birth) apply
    episodic: bool = False
    extra_identifying: tuple[str, ...] = field(default=())

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.optional)


def _fk(column: str, table: str, to_column: str | None = None) -> Reference:
    return Reference(column, table, to_column or TABLES_KEYS[table])


TABLES_KEYS = {
    "ssd_person": "pers_person_id",
    "ssd_contacts": "cont_contact_id",
    "ssd_cin_episodes": "cine_referral_id",
    "ssd_cin_assessments": "cina_assessment_id",
    "ssd_s47_enquiry": "s47e_s47_enquiry_id",
    "ssd_initial_cp_conference": "icpc_icpc_id",
    "ssd_cp_plans": "cppl_cp_plan_id",
    "ssd_cp_reviews": "cppr_cp_review_id",
    "ssd_cla_episodes": "clae_cla_episode_id",
    "ssd_legal_status": "lega_legal_status_id",
    "ssd_cla_placement": "clap_cla_placement_id",
    "ssd_missing": "miss_table_id",
    "ssd_cla_reviews": "clar_cla_review_id",
    "ssd_care_leavers": "clea_table_id",
}

_PERSON = ("ssd_person", "pers_person_id")

TABLES: tuple[Table, ...] = (
    Table(
        "ssd_person", "pers_person_id",
        (
            Column("pers_person_id", ID),
            Column("pers_sex", CODE, "sex"),
            Column("pers_ethnicity", CODE, "ethnicity"),
            Column("pers_dob", DOB),
            Column("pers_expected_dob", DUE),
            Column("pers_death_date", EVENT),
        ),
        extra_identifying=("pers_forename", "pers_surname", "pers_upn", "pers_single_unique_id",
                           "pers_postcode", "pers_address", "pers_former_upn"),
    ),
    Table(
        "ssd_contacts", "cont_contact_id",
        (
            Column("cont_contact_id", ID),
            Column("cont_person_id", ID),
            Column("cont_contact_date", EVENT),
            Column("cont_contact_source_code", CODE, "contact_source", code_required=True),
            Column("cont_contact_outcome_json", JSON),
            Column("cont_contact_decision_date", EVENT, optional=True),
        ),
        references=(Reference("cont_person_id", *_PERSON),),
        person_column="cont_person_id",
    ),
    Table(
        "ssd_cin_episodes", "cine_referral_id",
        (
            Column("cine_referral_id", ID),
            Column("cine_person_id", ID),
            Column("cine_referral_date", EVENT),
            Column("cine_referral_source_code", CODE, "contact_source"),
            Column("cine_cin_primary_need_code", CODE, "cin_primary_need"),
            Column("cine_referral_nfa", FLAG),
            Column("cine_close_reason", CODE, "cin_close_reason"),
            Column("cine_close_date", EVENT),
        ),
        references=(Reference("cine_person_id", *_PERSON),),
        person_column="cine_person_id",
        start_end=("cine_referral_date", "cine_close_date"),
    ),
    Table(
        "ssd_cin_assessments", "cina_assessment_id",
        (
            Column("cina_assessment_id", ID),
            Column("cina_person_id", ID),
            Column("cina_referral_id", ID),
            Column("cina_assessment_start_date", EVENT),
            Column("cina_assessment_child_seen", FLAG),
            Column("cina_assessment_auth_date", EVENT),
        ),
        references=(
            Reference("cina_person_id", *_PERSON),
            Reference("cina_referral_id", "ssd_cin_episodes", "cine_referral_id"),
        ),
        person_column="cina_person_id",
        start_end=("cina_assessment_start_date", "cina_assessment_auth_date"),
    ),
    Table(
        "ssd_s47_enquiry", "s47e_s47_enquiry_id",
        (
            Column("s47e_s47_enquiry_id", ID),
            Column("s47e_referral_id", ID),
            Column("s47e_person_id", ID),
            Column("s47e_s47_start_date", EVENT),
            Column("s47e_s47_end_date", EVENT),
        ),
        references=(
            Reference("s47e_person_id", *_PERSON),
            Reference("s47e_referral_id", "ssd_cin_episodes", "cine_referral_id"),
        ),
        person_column="s47e_person_id",
        start_end=("s47e_s47_start_date", "s47e_s47_end_date"),
    ),
    Table(
        "ssd_initial_cp_conference", "icpc_icpc_id",
        (
            Column("icpc_icpc_id", ID),
            Column("icpc_s47_enquiry_id", ID),
            Column("icpc_referral_id", ID),
            Column("icpc_person_id", ID),
            Column("icpc_icpc_transfer_in", FLAG),
            Column("icpc_icpc_target_date", DUE),
            Column("icpc_icpc_date", EVENT),
            Column("icpc_icpc_outcome_cp_flag", FLAG),
        ),
        references=(
            Reference("icpc_person_id", *_PERSON),
            Reference("icpc_s47_enquiry_id", "ssd_s47_enquiry", "s47e_s47_enquiry_id"),
            Reference("icpc_referral_id", "ssd_cin_episodes", "cine_referral_id"),
        ),
        person_column="icpc_person_id",
    ),
    Table(
        "ssd_cp_plans", "cppl_cp_plan_id",
        (
            Column("cppl_cp_plan_id", ID),
            Column("cppl_referral_id", ID),
            Column("cppl_icpc_id", ID),
            Column("cppl_person_id", ID),
            Column("cppl_cp_plan_start_date", EVENT),
            Column("cppl_cp_plan_end_date", EVENT),
            Column("cppl_cp_plan_initial_category", CODE, "cp_category"),
        ),
        references=(
            Reference("cppl_person_id", *_PERSON),
            Reference("cppl_referral_id", "ssd_cin_episodes", "cine_referral_id"),
            Reference("cppl_icpc_id", "ssd_initial_cp_conference", "icpc_icpc_id"),
        ),
        person_column="cppl_person_id",
        start_end=("cppl_cp_plan_start_date", "cppl_cp_plan_end_date"),
    ),
    Table(
        "ssd_cp_reviews", "cppr_cp_review_id",
        (
            Column("cppr_cp_review_id", ID),
            Column("cppr_person_id", ID),
            Column("cppr_cp_plan_id", ID),
            Column("cppr_cp_review_due", DUE),
            Column("cppr_cp_review_date", EVENT),
        ),
        required=False,
        references=(
            Reference("cppr_person_id", *_PERSON),
            Reference("cppr_cp_plan_id", "ssd_cp_plans", "cppl_cp_plan_id"),
        ),
        person_column="cppr_person_id",
    ),
    Table(
        "ssd_cla_episodes", "clae_cla_episode_id",
        (
            Column("clae_cla_episode_id", ID),
            Column("clae_person_id", ID),
            Column("clae_cla_id", ID),
            Column("clae_cla_placement_id", ID),
            Column("clae_cla_episode_start_date", EVENT),
            Column("clae_cla_episode_start_reason", CODE, "cla_start_reason", code_required=True),
            Column("clae_cla_primary_need_code", CODE, "cla_primary_need"),
            Column("clae_cla_episode_ceased_date", EVENT),
            Column("clae_cla_episode_ceased_reason", CODE, "cla_ceased_reason"),
            Column("clae_entered_care_date", EVENT),
        ),
        references=(
            Reference("clae_person_id", *_PERSON),
            Reference("clae_cla_placement_id", "ssd_cla_placement", "clap_cla_placement_id"),
        ),
        person_column="clae_person_id",
        start_end=("clae_cla_episode_start_date", "clae_cla_episode_ceased_date"),
        episodic=True,
    ),
    Table(
        "ssd_legal_status", "lega_legal_status_id",
        (
            Column("lega_legal_status_id", ID),
            Column("lega_person_id", ID),
            Column("lega_legal_status", CODE, "legal_status", code_required=True),
            Column("lega_legal_status_start_date", EVENT),
            Column("lega_legal_status_end_date", EVENT),
        ),
        references=(Reference("lega_person_id", *_PERSON),),
        person_column="lega_person_id",
    ),
    Table(
        "ssd_cla_placement", "clap_cla_placement_id",
        (
            Column("clap_cla_placement_id", ID),
            Column("clap_cla_id", ID),
            Column("clap_person_id", ID),
            Column("clap_cla_placement_start_date", EVENT),
            Column("clap_cla_placement_type", CODE, "placement_type", code_required=True),
            Column("clap_cla_placement_provider", CODE, "placement_provider"),
            Column("clap_cla_placement_urn", TEXT),
            Column("clap_cla_placement_postcode", TEXT, identifying=True),
            Column("clap_cla_placement_distance", NUMBER),
            Column("clap_cla_placement_end_date", EVENT),
            Column("clap_cla_placement_change_reason", CODE, "placement_change_reason"),
        ),
        references=(
            Reference("clap_person_id", *_PERSON),
            Reference("clap_cla_id", "ssd_cla_episodes", "clae_cla_id"),
        ),
        person_column="clap_person_id",
        start_end=("clap_cla_placement_start_date", "clap_cla_placement_end_date"),
        episodic=True,
    ),
    Table(
        "ssd_missing", "miss_table_id",
        (
            Column("miss_table_id", ID),
            Column("miss_person_id", ID),
            Column("miss_missing_episode_start_date", EVENT),
            Column("miss_missing_episode_type", CODE, "missing_type", code_required=True),
            Column("miss_missing_episode_end_date", EVENT),
            Column("miss_missing_rhi_offered", CODE, "rhi"),
            Column("miss_missing_rhi_accepted", CODE, "rhi"),
        ),
        references=(Reference("miss_person_id", *_PERSON),),
        person_column="miss_person_id",
        start_end=("miss_missing_episode_start_date", "miss_missing_episode_end_date"),
        episodic=True,
    ),
    Table(
        "ssd_cla_reviews", "clar_cla_review_id",
        (
            Column("clar_cla_review_id", ID),
            Column("clar_cla_id", ID),
            Column("clar_cla_person_id", ID),
            Column("clar_cla_review_due_date", DUE),
            Column("clar_cla_review_date", EVENT),
            Column("clar_cla_review_cancelled", FLAG),
        ),
        references=(
            Reference("clar_cla_person_id", *_PERSON),
            Reference("clar_cla_id", "ssd_cla_episodes", "clae_cla_id"),
        ),
        person_column="clar_cla_person_id",
    ),
    Table(
        "ssd_care_leavers", "clea_table_id",
        (
            Column("clea_table_id", ID),
            Column("clea_person_id", ID),
            Column("clea_care_leaver_eligibility", CODE, "care_leaver_eligibility"),
            Column("clea_care_leaver_in_touch", CODE, "care_leaver_in_touch"),
            Column("clea_care_leaver_latest_contact", EVENT),
            Column("clea_care_leaver_accommodation", CODE, "care_leaver_accommodation"),
            Column("clea_care_leaver_accom_suitable", FLAG),
            Column("clea_care_leaver_activity", CODE, "care_leaver_activity"),
        ),
        references=(Reference("clea_person_id", *_PERSON),),
        person_column="clea_person_id",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
assert all(TABLES_KEYS[t.name] == t.key for t in TABLES)

# Columns whose emptiness is allowed only in some rows: the ceased reason is required once the
# episode has ceased (contract, rule "codes").
CODE_REQUIRED_WHEN = {
    ("ssd_cla_episodes", "clae_cla_episode_ceased_reason"): "clae_cla_episode_ceased_date",
}

# Optional features whose absence makes dependent figures "not available" (never zero).
OPTIONAL_FEATURES = {
    "ssd_cp_reviews": ("ssd_cp_reviews", None),
    "ssd_contacts.cont_contact_decision_date": ("ssd_contacts", "cont_contact_decision_date"),
}

# Validity rule ids, named as in the contract. ``format`` covers values that cannot be read as
# their type (dates, flags, numbers, JSON) which the contract makes a row-level failure.
RULES = {
    "key": "primary key present and unique within the file",
    "FK": "person, referral, S47, ICPC, plan, placement and period-of-care references resolve",
    "356/8608/8630/8925/567": "an end date is not before its start date",
    "1103/2889": "an assessment / S47 does not start before its referral",
    "8615": "an ICPC is not held before its S47 started",
    "8875": "an ICPC is not held on a weekend",
    "302/586": "no care episode, placement or missing episode before the child's date of birth",
    "501/574": "a child's care episodes, placements and missing episodes do not overlap",
    "353": "no event before 1991-10-14",
    "future": "no event dated after the extract date",
    "codes": "every coded column holds a listed code",
    "format": "the value can be read as its type (date, flag, number, JSON)",
}


@cache
def code_descriptions() -> dict[str, dict[str, str]]:
    """Code list name -> {code: description}, in the seed's order, from seeds/ssd_code_lists.csv."""
    out: dict[str, dict[str, str]] = {}
    with (SEEDS_DIR / "ssd_code_lists.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["code_list"], {})[row["code"]] = row["description"]
    return out


@cache
def code_lists() -> dict[str, tuple[str, ...]]:
    """Code list name -> allowed codes."""
    return {name: tuple(codes) for name, codes in code_descriptions().items()}


def add_months(d: date, n: int) -> date:
    """The first day of the month ``n`` months after (before, when negative) the month of ``d``."""
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_end(month: date) -> date:
    """Last day of the month that ``month`` falls in."""
    return date.fromordinal(add_months(month, 1).toordinal() - 1)


def parse_month(text: str) -> date:
    """'YYYY-MM' (or a partition key 'YYYY-MM-DD') -> first day of that month."""
    year, month = text[:7].split("-")
    return date(int(year), int(month), 1)
