"""Great Expectations suites (expectations/<table>.json) through GX's pandas path.

The suites hold laws only: what is true of every council's contract-valid extract. A council whose
mix of codes, null shares, durations and volumes are nothing like the demo generator's passes them;
data that breaks a law fails them; and no suite may hold an expectation fitted to one council.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dagster_project.checks.gx_suites import (
    DERIVED,
    EXPECTATIONS_DIR,
    GxRunner,
    gx_finding,
    month_frame,
    read_suite_json,
    suite_path,
)
from dagster_project.contract import TABLES, TABLES_BY_NAME, code_lists
from tests import checks_warehouse as T

DEC = date(2023, 12, 1)
SUITE_FILES = sorted(EXPECTATIONS_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def runner():
    return GxRunner()


def columns_of(suite: dict) -> set[str]:
    cols = set()
    for e in suite["expectations"]:
        kw = e["kwargs"]
        cols |= {kw["column"]} if "column" in kw else set()
        cols |= set(kw.get("column_list", []))
    return cols


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_every_loaded_table_has_a_suite_gx_accepts(table, runner):
    assert suite_path(table).exists()
    suite = read_suite_json(table)
    assert suite["name"] == table
    known = {c.name for c in TABLES_BY_NAME[table].columns if not c.identifying} | set(DERIVED.get(table, {}))
    assert columns_of(suite) <= known, f"{table}: suite names columns the frame does not have"
    assert all(e["meta"].get("notes") for e in suite["expectations"]), "every expectation says why"
    runner.validation(table)  # GX builds the suite (valid expectation types and arguments)


def test_every_suite_is_a_loaded_table_and_every_derived_column_is_used():
    assert {p.stem for p in SUITE_FILES} == {t.name for t in TABLES}
    for table, derived in DERIVED.items():
        assert set(derived) <= columns_of(read_suite_json(table)), f"{table}: DERIVED column no suite uses"


# --- no expectation fitted to one council ----------------------------------------------------------

# Expectation kinds that describe a distribution, a rate or a volume: what a council's data looks like,
# not what is true of every council's. Judged against the council's own history elsewhere.
FITTED_KINDS = re.compile(
    r"kl_divergence|_proportion_|_mean_|_median_|_stdev_|_quantile_|_unique_value_count_"
    r"|_distinct_values_|_sum_|chisquare|bootstrapped_ks|_z_scores_"
)


def fitted(expectation: dict[str, Any]) -> list[str]:
    """Why ``expectation`` is fitted to some council's data (empty when it is a law)."""
    kind, kw = expectation["type"], expectation.get("kwargs", {})
    out = []
    if FITTED_KINDS.search(kind):
        out.append(f"{kind} is a distribution/rate kind")
    if kw.get("mostly") is not None and kw["mostly"] < 1:
        out.append(f"mostly={kw['mostly']} is a fitted rate")
    if kind.startswith("expect_table_row_count"):
        if kw.get("max_value") is not None or kind == "expect_table_row_count_to_equal":
            out.append("a row count bounded above (or fixed) is a fitted volume")
        if (kw.get("min_value") or 0) > 1:
            out.append(f"a row-count floor of {kw['min_value']} is a fitted volume")
    if "partition_object" in kw:
        out.append("a fixed code distribution is fitted")
    column = kw.get("column") or ""
    if kind == "expect_column_values_to_be_between" and column.startswith("_") and kw.get("max_value") is not None:
        out.append(f"an upper bound on {column} (a duration) is fitted to some council's practice")
    return out


def test_the_fitted_test_catches_what_the_suites_used_to_hold():
    old = [
        {"type": "expect_column_kl_divergence_to_be_less_than",
         "kwargs": {"column": "cont_contact_source_code", "partition_object": {"values": ["6"], "weights": [1]},
                    "threshold": 0.25}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "cine_close_date", "mostly": 0.5}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "_duration_days", "min_value": 0, "max_value": 180}},
        {"type": "expect_column_median_to_be_between",
         "kwargs": {"column": "clap_cla_placement_distance", "min_value": 0.5, "max_value": 30}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10_000}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 500, "max_value": None}},
        {"type": "expect_column_proportion_of_unique_values_to_be_between", "kwargs": {"column": "x"}},
        {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "x"}},
        {"type": "expect_column_quantile_values_to_be_between", "kwargs": {"column": "x"}},
        {"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "x"}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x"}},
    ]  # fmt: skip
    assert all(fitted(e) for e in old)
    laws = [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": None}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "cont_person_id"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "cont_person_id", "mostly": 1}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "_duration_days", "min_value": 0, "max_value": None}},
    ]  # fmt: skip
    assert not any(fitted(e) for e in laws)


@pytest.mark.parametrize("path", SUITE_FILES, ids=[p.stem for p in SUITE_FILES])
def test_no_suite_holds_an_expectation_fitted_to_one_council(path: Path):
    suite = json.loads(path.read_text(encoding="utf-8"))
    problems = [f"{e['type']}({e['kwargs'].get('column', '')}): {why}" for e in suite["expectations"]
                for why in fitted(e)]  # fmt: skip
    assert problems == [], f"{path.name} holds fitted expectations: {problems}"


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_only_required_tables_must_not_be_empty(table):
    counts = [e for e in read_suite_json(table)["expectations"] if e["type"].startswith("expect_table_row_count")]
    if TABLES_BY_NAME[table].required:
        assert [(e["kwargs"]["min_value"], e["kwargs"].get("max_value")) for e in counts] == [(1, None)]
    else:
        assert counts == []


# --- a council nothing like the demo ---------------------------------------------------------------

D = date


def other_council() -> dict[str, list[dict[str, Any]]]:
    """Contract-valid raw rows of a council unlike the demo generator: every contact from one source
    the demo rarely uses, every placement a children's home, every missing episode 'away', nearly
    every optional value empty, durations of decades, placements hundreds of miles away, long
    waits for decisions and reviews, contacts repeated on the same day."""
    n = 40
    people = [f"P{i}" for i in range(n)]
    rows: dict[str, list[dict[str, Any]]] = {
        "ssd_person": [
            {"pers_person_id": p, "pers_sex": None if i % 2 else "U", "pers_ethnicity": None,
             "pers_dob": None, "pers_expected_dob": D(2024, 3, 1) if i % 3 == 0 else None, "pers_death_date": None}
            for i, p in enumerate(people)
        ],
        "ssd_contacts": [
            {"cont_contact_id": f"C{i}", "cont_person_id": people[i % 5], "cont_contact_date": D(2023, 11, 6),
             "cont_contact_source_code": "10", "cont_contact_outcome_json": None,
             "cont_contact_decision_date": D(2023, 11, 6) + timedelta(days=90 * (i % 3)) if i % 2 else None}
            for i in range(3 * n)
        ],
        "ssd_cin_episodes": [
            {"cine_referral_id": f"R{i}", "cine_person_id": p, "cine_referral_date": D(2018, 1, 2),
             "cine_referral_source_code": None, "cine_cin_primary_need_code": None, "cine_referral_nfa": None,
             "cine_close_reason": None, "cine_close_date": None if i % 4 else D(2023, 11, 30)}
            for i, p in enumerate(people)
        ],
        "ssd_cin_assessments": [
            {"cina_assessment_id": f"A{i}", "cina_person_id": p, "cina_referral_id": f"R{i}",
             "cina_assessment_start_date": D(2018, 1, 3), "cina_assessment_child_seen": None,
             "cina_assessment_auth_date": D(2023, 6, 30) if i % 2 else None}
            for i, p in enumerate(people)
        ],
        "ssd_s47_enquiry": [
            {"s47e_s47_enquiry_id": f"S{i}", "s47e_referral_id": f"R{i}", "s47e_person_id": p,
             "s47e_s47_start_date": D(2018, 1, 4), "s47e_s47_end_date": D(2020, 1, 4) if i % 2 else None}
            for i, p in enumerate(people)
        ],
        "ssd_initial_cp_conference": [  # transfer-in conferences: no S47 here, not yet held
            {"icpc_icpc_id": f"I{i}", "icpc_s47_enquiry_id": None, "icpc_referral_id": None, "icpc_person_id": p,
             "icpc_icpc_transfer_in": True, "icpc_icpc_target_date": D(2024, 1, 15), "icpc_icpc_date": None,
             "icpc_icpc_outcome_cp_flag": None}
            for i, p in enumerate(people)
        ],
        "ssd_cp_plans": [
            {"cppl_cp_plan_id": f"CP{i}", "cppl_referral_id": None, "cppl_icpc_id": None, "cppl_person_id": p,
             "cppl_cp_plan_start_date": D(2009, 5, 1), "cppl_cp_plan_end_date": D(2023, 11, 1) if i % 2 else None,
             "cppl_cp_plan_initial_category": None}
            for i, p in enumerate(people)
        ],
        "ssd_cp_reviews": [
            {"cppr_cp_review_id": f"CR{i}", "cppr_person_id": p, "cppr_cp_plan_id": f"CP{i}",
             "cppr_cp_review_due": None, "cppr_cp_review_date": D(2023, 11, 20)}
            for i, p in enumerate(people)
        ],
        "ssd_cla_episodes": [
            {"clae_cla_episode_id": f"E{i}", "clae_person_id": p, "clae_cla_id": f"LA{i}",
             "clae_cla_placement_id": None, "clae_cla_episode_start_date": D(1998, 2, 1),
             "clae_cla_episode_start_reason": "S", "clae_cla_primary_need_code": None,
             "clae_cla_episode_ceased_date": D(2023, 11, 2) if i % 2 else None,
             "clae_cla_episode_ceased_reason": "E8" if i % 2 else None, "clae_entered_care_date": None}
            for i, p in enumerate(people)
        ],
        "ssd_legal_status": [
            {"lega_legal_status_id": f"L{i}", "lega_person_id": p, "lega_legal_status": "V3",
             "lega_legal_status_start_date": D(1998, 2, 1),
             "lega_legal_status_end_date": [None, D(1998, 2, 1), D(2023, 11, 2)][i % 3]}
            for i, p in enumerate(people)
        ],
        "ssd_cla_placement": [
            {"clap_cla_placement_id": f"PL{i}", "clap_cla_id": f"LA{i}", "clap_person_id": p,
             "clap_cla_placement_start_date": D(1998, 2, 1), "clap_cla_placement_type": "K2",
             "clap_cla_placement_provider": None, "clap_cla_placement_urn": None,
             "clap_cla_placement_distance": [None, 0.0, 850.0][i % 3],
             "clap_cla_placement_end_date": D(2023, 11, 2) if i % 2 else None,
             "clap_cla_placement_change_reason": None}
            for i, p in enumerate(people)
        ],
        "ssd_missing": [
            {"miss_table_id": f"M{i}", "miss_person_id": p, "miss_missing_episode_start_date": D(2022, 9, 1),
             "miss_missing_episode_type": "A", "miss_missing_episode_end_date": None if i % 2 else D(2023, 11, 1),
             "miss_missing_rhi_offered": None, "miss_missing_rhi_accepted": None}
            for i, p in enumerate(people)
        ],
        "ssd_cla_reviews": [
            {"clar_cla_review_id": f"LR{i}", "clar_cla_id": f"LA{i}", "clar_cla_person_id": p,
             "clar_cla_review_due_date": None if i % 2 else D(2022, 1, 1),
             "clar_cla_review_date": D(2023, 11, 20) if i % 3 else None, "clar_cla_review_cancelled": None}
            for i, p in enumerate(people)
        ],
        "ssd_care_leavers": [
            {"clea_table_id": f"CL{i}", "clea_person_id": p, "clea_care_leaver_eligibility": None,
             "clea_care_leaver_in_touch": None, "clea_care_leaver_latest_contact": D(2017, 1, 1) if i % 2 else None,
             "clea_care_leaver_accommodation": None, "clea_care_leaver_accom_suitable": None,
             "clea_care_leaver_activity": None}
            for i, p in enumerate(people)
        ],
    }  # fmt: skip
    assert set(rows) == {t.name for t in TABLES}
    for table, table_rows in rows.items():  # every code the council uses is a contract code
        for column in TABLES_BY_NAME[table].columns:
            if column.codes:
                used = {r[column.name] for r in table_rows} - {None}
                assert used <= set(code_lists()[column.codes]), (table, column.name, used)
    return rows


@pytest.fixture
def con(tmp_path):
    c = T.make_warehouse(tmp_path / "w.duckdb")
    yield c
    c.close()


def finding(con, runner, table: str, rows: list[dict[str, Any]], sample_rows: int = 200_000):
    T.insert_raw(con, table, DEC, rows)
    return gx_finding(con, table, DEC, sample_rows, runner)


def test_a_council_with_a_completely_different_mix_meets_every_suite(con, runner):
    council = other_council()
    for table in TABLES:
        f = finding(con, runner, table.name, council[table.name])
        assert f.passed, f.summary
        stats = f.evidence["statistics"]
        assert stats["successful_expectations"] == stats["evaluated_expectations"] == len(
            read_suite_json(table.name)["expectations"]
        )


def broken(table: str, column: str, value: Any, row: int = 3) -> list[dict[str, Any]]:
    """The other council's rows of ``table`` with one value changed."""
    rows = copy.deepcopy(other_council()[table])
    rows[row][column] = value
    return rows


# (table, column changed, new value, the expectation that must fail)
LAWS = [
    ("ssd_contacts", "cont_person_id", None, "expect_column_values_to_not_be_null(cont_person_id"),
    ("ssd_missing", "miss_person_id", None, "expect_column_values_to_not_be_null(miss_person_id"),
    ("ssd_cin_assessments", "cina_referral_id", None, "expect_column_values_to_not_be_null(cina_referral_id"),
    ("ssd_cla_placement", "clap_cla_id", None, "expect_column_values_to_not_be_null(clap_cla_id"),
    ("ssd_cp_reviews", "cppr_cp_plan_id", None, "expect_column_values_to_not_be_null(cppr_cp_plan_id"),
    ("ssd_contacts", "cont_contact_date", None, "expect_column_values_to_not_be_null(cont_contact_date"),
    ("ssd_cla_episodes", "clae_cla_episode_start_date", None,
     "expect_column_values_to_not_be_null(clae_cla_episode_start_date"),
    ("ssd_legal_status", "lega_legal_status_end_date", D(1998, 1, 31),
     "expect_column_values_to_be_between(_duration_days, min_value=0"),
    ("ssd_missing", "miss_missing_episode_end_date", D(2022, 8, 31),
     "expect_column_values_to_be_between(_duration_days, min_value=0"),
    ("ssd_contacts", "cont_contact_decision_date", D(2023, 11, 5),
     "expect_column_values_to_be_between(_days_to_decision, min_value=0"),
    ("ssd_cla_placement", "clap_cla_placement_distance", -2.5,
     "expect_column_values_to_be_between(clap_cla_placement_distance, min_value=0"),
]  # fmt: skip


@pytest.mark.parametrize(("table", "column", "value", "expectation"), LAWS, ids=[f"{t}.{c}" for t, c, *_ in LAWS])
def test_breaking_a_law_fails_the_suite(con, runner, table, column, value, expectation):
    f = finding(con, runner, table, broken(table, column, value))
    assert not f.passed
    assert expectation in f.summary, f.summary
    assert "1 unexpected" in f.summary, f.summary
    failed = [i for i in f.evidence["expectations"] if not i["success"]]
    assert len(failed) == 1 and failed[0]["unexpected_count"] == 1


def test_failures_name_no_values_of_private_columns(con, runner):
    f = finding(con, runner, "ssd_contacts", broken("ssd_contacts", "cont_contact_decision_date", D(2023, 11, 5)))
    item = next(i for i in f.evidence["expectations"] if not i["success"])
    assert item["unexpected_examples"] == ["-1"]  # a derived number of days, no identifier


# --- what is validated ------------------------------------------------------------------------------


def test_only_the_new_extracts_valid_rows_are_validated(con, runner):
    rows = other_council()["ssd_contacts"]
    T.insert_raw(con, "ssd_contacts", DEC, [{**r, "cont_person_id": None} for r in rows[:5]], valid=False)
    T.insert_raw(con, "ssd_contacts", date(2023, 11, 1), [{**r, "cont_person_id": None} for r in rows[:5]])
    f = finding(con, runner, "ssd_contacts", rows)
    assert f.passed, f.summary
    assert f.evidence["rows"] == len(rows)


def test_large_tables_are_sampled(con, runner):
    rows = other_council()["ssd_contacts"]
    T.insert_raw(con, "ssd_contacts", DEC, rows)
    frame = month_frame(con, "ssd_contacts", DEC, 100)
    assert frame.sampled and len(frame.frame) == 100 and frame.total_rows == len(rows)
    again = month_frame(con, "ssd_contacts", DEC, 100)
    assert frame.frame["cont_contact_id"].tolist() == again.frame["cont_contact_id"].tolist()  # repeatable
    f = gx_finding(con, "ssd_contacts", DEC, 100, runner)
    assert f"on a sample of 100 of {len(rows)} valid rows" in f.summary


def test_an_absent_optional_table_is_not_a_failure(con, runner):
    f = gx_finding(con, "ssd_cp_reviews", DEC, 200_000, runner)
    assert f.passed and "absent" in f.summary
    g = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)  # required and empty: the row count fails
    assert not g.passed and "expect_table_row_count_to_be_between" in g.summary


def test_an_optional_table_present_but_empty_is_not_a_failure(con, runner):
    con.execute(
        "INSERT INTO raw.load_log (extract_month, table_name, file_name, rows_read, rows_loaded, "
        "rows_quarantined, duplicates_dropped) VALUES (?, 'ssd_cp_reviews', 'ssd_cp_reviews.csv', 0, 0, 0, 0)",
        [DEC],
    )
    f = gx_finding(con, "ssd_cp_reviews", DEC, 200_000, runner)
    assert f.passed, f.summary


def test_evidence_is_json(con, runner):
    from dagster_project.checks.results import to_json

    f = finding(con, runner, "ssd_contacts", other_council()["ssd_contacts"])
    assert json.loads(to_json(f.evidence))["rows"] == len(other_council()["ssd_contacts"])
