"""Great Expectations suites (expectations/<table>.json) through GX's pandas path."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest

from dagster_project.checks import testing as T
from dagster_project.checks.gx_suites import (
    DERIVED,
    GxRunner,
    gx_finding,
    month_frame,
    read_suite_json,
    suite_path,
)
from dagster_project.contract import TABLES, TABLES_BY_NAME

DEC = date(2023, 12, 1)
# contacts drawn from the council's usual mix of sources: the suite's own expected partition
_MIX = next(
    e["kwargs"]["partition_object"]
    for e in read_suite_json("ssd_contacts")["expectations"]
    if e["type"] == "expect_column_kl_divergence_to_be_less_than"
)
SOURCES = dict(zip(_MIX["values"], _MIX["weights"], strict=True))


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


def contacts(n: int, seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    codes = rng.choice(list(SOURCES), size=n, p=np.array(list(SOURCES.values())) / sum(SOURCES.values()))
    rows = []
    for i in range(n):
        d = date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 2190)))
        rows.append(
            {
                "cont_contact_id": f"C{i}",
                "cont_person_id": f"P{i % (n // 2)}",
                "cont_contact_date": d,
                "cont_contact_source_code": str(codes[i]),
                "cont_contact_outcome_json": "{}",
                "cont_contact_decision_date": d + timedelta(days=int(rng.integers(0, 3))),
            }
        )
    return rows


@pytest.fixture
def con(tmp_path):
    c = T.make_warehouse(tmp_path / "w.duckdb")
    yield c
    c.close()


def test_clean_contacts_meet_their_suite(con, runner):
    T.insert_raw(con, "ssd_contacts", DEC, contacts(600))
    f = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)
    assert f.passed, f.summary
    assert f.summary.startswith("ssd_contacts: 7 of 7 expectations met on 600 valid rows")
    assert f.evidence["statistics"]["evaluated_expectations"] == 7


def test_only_the_new_extracts_valid_rows_are_validated(con, runner):
    T.insert_raw(con, "ssd_contacts", DEC, contacts(600))
    T.insert_raw(
        con, "ssd_contacts", DEC, [{**r, "cont_person_id": None} for r in contacts(50, 2)], valid=False
    )
    T.insert_raw(
        con, "ssd_contacts", date(2023, 11, 1), [{**r, "cont_person_id": None} for r in contacts(50, 3)]
    )
    assert gx_finding(con, "ssd_contacts", DEC, 200_000, runner).passed


def test_copies_of_contacts_under_new_ids_are_caught(con, runner):
    rows = contacts(600)
    copies = [{**r, "cont_contact_id": f"X{i}"} for i, r in enumerate(rows[:30])]
    T.insert_raw(con, "ssd_contacts", DEC, rows + copies)
    f = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)
    assert not f.passed
    assert "expect_compound_columns_to_be_unique" in f.summary
    assert "60 unexpected" in f.summary  # both rows of each of the 30 pairs


def test_a_changed_mix_of_sources_is_caught(con, runner):
    T.insert_raw(con, "ssd_contacts", DEC, [{**r, "cont_contact_source_code": "10"} for r in contacts(600)])
    f = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)
    assert (
        not f.passed and "expect_column_kl_divergence_to_be_less_than(cont_contact_source_code" in f.summary
    )
    kl = next(i for i in f.evidence["expectations"] if "kl_divergence" in i["expectation"])
    assert kl["observed_value"] > 1


def test_null_rates_of_key_columns(con, runner):
    rows = contacts(600)
    for r in rows[:12]:
        r["cont_contact_outcome_json"] = None  # 2 %: over the 1 % allowed
    T.insert_raw(con, "ssd_contacts", DEC, rows)
    f = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)
    assert not f.passed and "expect_column_values_to_not_be_null(cont_contact_outcome_json" in f.summary
    assert "12 unexpected (2.00%)" in f.summary


def test_durations_derived_from_dates(con, runner):
    rows = [
        {
            "miss_table_id": f"M{i}",
            "miss_person_id": f"P{i}",
            "miss_missing_episode_start_date": date(2023, 1, 1),
            "miss_missing_episode_type": "M" if i % 5 else "A",
            "miss_missing_episode_end_date": date(2023, 1, 2) if i % 50 else date(2023, 12, 30),
            "miss_missing_rhi_offered": "Y",
        }
        for i in range(500)
    ]
    T.insert_raw(con, "ssd_missing", DEC, rows)
    f = gx_finding(con, "ssd_missing", DEC, 200_000, runner)
    assert not f.passed and "expect_column_values_to_be_between(_duration_days" in f.summary
    assert "10 unexpected" in f.summary


def test_large_tables_are_sampled(con, runner):
    T.insert_raw(con, "ssd_contacts", DEC, contacts(600))
    frame = month_frame(con, "ssd_contacts", DEC, 100)
    assert frame.sampled and len(frame.frame) == 100 and frame.total_rows == 600
    again = month_frame(con, "ssd_contacts", DEC, 100)
    assert frame.frame["cont_contact_id"].tolist() == again.frame["cont_contact_id"].tolist()  # repeatable
    f = gx_finding(con, "ssd_contacts", DEC, 100, runner)
    assert "on a sample of 100 of 600 valid rows" in f.summary


def test_an_absent_optional_table_is_not_a_failure(con, runner):
    f = gx_finding(con, "ssd_cp_reviews", DEC, 200_000, runner)
    assert f.passed and "absent" in f.summary
    g = gx_finding(con, "ssd_contacts", DEC, 200_000, runner)  # required and empty: the row count fails
    assert not g.passed and "expect_table_row_count_to_be_between" in g.summary


def test_evidence_is_json(con, runner):
    T.insert_raw(con, "ssd_contacts", DEC, contacts(600))
    from dagster_project.checks.results import to_json

    assert json.loads(to_json(gx_finding(con, "ssd_contacts", DEC, 200_000, runner).evidence))["rows"] == 600
