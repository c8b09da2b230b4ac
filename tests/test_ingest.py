"""Loading a month into the raw layer: validity rules, quarantine, reconciliation, manifest checks,
rejection and re-load (dagster_project/ingest/load.py, dagster_project/ingest/validity.py).

Every test starts from tests/fixtures/ingest/baseline.json, a tiny month that passes every rule,
and changes a few values.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dagster_project.contract import RULES, TABLES
from dagster_project.extracts import reader
from dagster_project.extracts.faults import BAD_DATES
from dagster_project.extracts.generator import generate
from dagster_project.extracts.manifest import (
    VERIFIED_CHECKSUM,
    VERIFIED_NO_MANIFEST,
    VERIFIED_NOTHING_LISTED,
    VERIFIED_NOTHING_NOT_LISTED,
    VERIFIED_ROWS,
    VERIFIED_ROWS_AND_CHECKSUM,
    file_sha256,
)
from dagster_project.ingest import validity
from dagster_project.ingest.load import ExtractRejected, LoadResult, load_extract
from dagster_project.ingest.raw_schema import LOG_TABLES_DDL

BASELINE: dict[str, list[dict[str, str]]] = {
    k: v
    for k, v in json.loads((Path(__file__).parent / "fixtures/ingest/baseline.json").read_text()).items()
    if not k.startswith("_")
}
FORMAT_FIXTURES = Path(__file__).parent / "fixtures/ingest/format"
JULY = date(2023, 7, 1)
TODAY = date(2023, 8, 3)


class Month:
    """One extract month being built from the baseline."""

    def __init__(self) -> None:
        self.rows = copy.deepcopy(BASELINE)
        self.columns = {t: list(rows[0]) for t, rows in self.rows.items()}

    def set(self, table: str, key: str, **values: str) -> Month:
        """Change the values of the row whose first column is ``key``."""
        row = next(r for r in self.rows[table] if next(iter(r.values())) == key)
        row.update(values)
        return self

    def add(self, table: str, **values: str) -> Month:
        """Append a copy of the table's first baseline row with some values changed."""
        self.rows[table].append({**BASELINE[table][0], **values})
        return self

    def duplicate(self, table: str, key: str) -> Month:
        row = next(r for r in self.rows[table] if next(iter(r.values())) == key)
        self.rows[table].append(dict(row))
        return self

    def drop_table(self, table: str) -> Month:
        del self.rows[table]
        return self

    def drop_column(self, table: str, column: str) -> Month:
        self.columns[table].remove(column)
        return self

    def write(self, root: Path, folder: str = "2023-07", manifest: dict[str, Any] | None = None) -> Path:
        out = root / folder
        out.mkdir(parents=True, exist_ok=True)
        for table, rows in self.rows.items():
            with (out / f"{table}.csv").open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns[table], extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
        if manifest is not None:
            (out / "manifest.json").write_text(json.dumps(manifest))
        return out

    def manifest(self, folder: Path, **fields: Any) -> dict[str, Any]:
        """A manifest that matches the files already written to ``folder``."""
        files = {
            f"{t}.csv": {"rows": len(rows), "sha256": file_sha256(folder / f"{t}.csv")}
            for t, rows in self.rows.items()
        }
        return {
            "la_code": "380",
            "period_end": "2023-07-31",
            "extract_date": "2023-08-03",
            "ssd_version": "1.4.5",
            "source_system": "systemc",
            "files": files,
        } | fields


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, folder: Path, month: date = JULY, today: date = TODAY) -> LoadResult:
    return load_extract(con, folder, month, run_id="test-run", today=today)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def quarantine(con: duckdb.DuckDBPyConnection) -> set[tuple[Any, ...]]:
    """(table, rule, record_key, column, value, row_number) of every quarantine row."""
    return {
        (r["table_name"], r["rule"], r["record_key"], r["column_name"], r["value"], r["row_number"])
        for r in rows(con, "SELECT * FROM raw.quarantine")
    }


def invalid_rows(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int]]:
    out = set()
    for table in TABLES:
        for (n,) in con.execute(f"SELECT _row_number FROM raw.{table.name} WHERE NOT _is_valid").fetchall():
            out.add((table.name, n))
    return out


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything in the raw schema (empty when it does not exist)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
        ).fetchall()
    ]
    return {n: sorted(con.execute(f"SELECT * FROM raw.{n}").fetchall(), key=repr) for n in names}


# --- a clean month -----------------------------------------------------------------------------


def test_clean_month_loads_whole_with_nothing_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    result = load(con, Month().write(tmp_path))
    assert result.quarantine_counts == {}
    assert set(result.tables) == {t.name for t in TABLES}
    for table in TABLES:
        n = len(BASELINE[table.name])
        rec = result.tables[table.name]
        assert (rec.rows_read, rec.rows_loaded, rec.rows_quarantined, rec.duplicates_dropped) == (n, n, 0, 0)
        assert con.execute(f"SELECT count(*) FROM raw.{table.name} WHERE _is_valid").fetchone() == (n,)
    assert result.features == {"ssd_cp_reviews": True, "ssd_contacts.cont_contact_decision_date": True}
    json.dumps(result.to_metadata())  # plain types only


def test_raw_rows_carry_typed_values_and_metadata(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().set("ssd_missing", "M1", miss_missing_episode_type=" missing ").write(tmp_path)
    load(con, folder)
    contact = rows(con, "SELECT * FROM raw.ssd_contacts")[0]
    assert contact["cont_contact_date"] == date(2023, 7, 3)
    assert contact["_extract_month"] == JULY
    assert contact["_row_number"] == 1
    assert contact["_file_sha256"] == file_sha256(folder / "ssd_contacts.csv")
    assert contact["_is_valid"] is True
    assert con.execute("SELECT miss_missing_episode_type FROM raw.ssd_missing").fetchone() == ("M",)
    assert con.execute("SELECT pers_person_id FROM raw.ssd_person WHERE _row_number = 3").fetchone() == (
        "0042",
    )


def test_extra_columns_reach_the_raw_layer(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    month.columns["ssd_person"] += ["pers_forename", "pers_upn"]
    month.set("ssd_person", "P1", pers_forename='Ann, "Annie"', pers_upn="A123")
    load(con, month.write(tmp_path))
    extras = con.execute("SELECT _extra_columns FROM raw.ssd_person ORDER BY _row_number").fetchall()
    assert json.loads(extras[0][0]) == {"pers_forename": 'Ann, "Annie"', "pers_upn": "A123"}
    assert json.loads(extras[1][0]) == {"pers_forename": None, "pers_upn": None}


# --- validity rules: one broken value, the exact quarantine rows expected ------------------------

Change = Callable[[Month], Month]
CASES: list[tuple[str, Change, set[tuple[Any, ...]]]] = [
    (
        "key-empty",
        lambda m: m.add("ssd_contacts", cont_contact_id=""),
        {("ssd_contacts", "key", None, "cont_contact_id", None, 2)},
    ),
    (
        "key-duplicate",
        lambda m: m.add("ssd_contacts", cont_contact_date="2023-07-05"),
        {
            ("ssd_contacts", "key", "C1", "cont_contact_id", "C1", 1),
            ("ssd_contacts", "key", "C1", "cont_contact_id", "C1", 2),
        },
    ),
    (
        "FK",
        lambda m: m.add("ssd_contacts", cont_contact_id="C2", cont_person_id="P404"),
        {("ssd_contacts", "FK", "C2", "cont_person_id", "P404", 2)},
    ),
    (
        "FK-period-of-care",
        lambda m: m.set("ssd_cla_reviews", "CR1", clar_cla_id="CLA9"),
        {("ssd_cla_reviews", "FK", "CR1", "clar_cla_id", "CLA9", 1)},
    ),
    ("FK-null-not-checked", lambda m: m.add("ssd_contacts", cont_contact_id="C2", cont_person_id=""), set()),
    (
        "FK-resolves-to-an-invalid-row",
        lambda m: m.set("ssd_person", "P1", pers_sex="Q"),
        {("ssd_person", "codes", "P1", "pers_sex", "Q", 1)},
    ),
    (
        "end-before-start",
        lambda m: m.set("ssd_s47_enquiry", "S1", s47e_s47_end_date="2023-07-05"),
        {("ssd_s47_enquiry", "356/8608/8630/8925/567", "S1", "s47e_s47_end_date", "2023-07-05", 1)},
    ),
    (
        "end-before-start-placement",
        lambda m: m.set("ssd_cla_placement", "PL1", clap_cla_placement_end_date="2022-12-31"),
        {
            (
                "ssd_cla_placement",
                "356/8608/8630/8925/567",
                "PL1",
                "clap_cla_placement_end_date",
                "2022-12-31",
                1,
            )
        },
    ),
    (
        "assessment-before-referral",
        lambda m: m.set("ssd_cin_assessments", "A1", cina_assessment_start_date="2023-07-03"),
        {("ssd_cin_assessments", "1103/2889", "A1", "cina_assessment_start_date", "2023-07-03", 1)},
    ),
    (
        "s47-before-referral",
        lambda m: m.set("ssd_s47_enquiry", "S1", s47e_s47_start_date="2023-07-03"),
        {("ssd_s47_enquiry", "1103/2889", "S1", "s47e_s47_start_date", "2023-07-03", 1)},
    ),
    (
        "icpc-before-s47",
        lambda m: m.set("ssd_initial_cp_conference", "I1", icpc_icpc_date="2023-07-05"),
        {("ssd_initial_cp_conference", "8615", "I1", "icpc_icpc_date", "2023-07-05", 1)},
    ),
    (
        "icpc-on-saturday",
        lambda m: m.set("ssd_initial_cp_conference", "I1", icpc_icpc_date="2023-07-15"),
        {("ssd_initial_cp_conference", "8875", "I1", "icpc_icpc_date", "2023-07-15", 1)},
    ),
    (
        "icpc-on-sunday",
        lambda m: m.set("ssd_initial_cp_conference", "I1", icpc_icpc_date="16/07/2023"),
        {("ssd_initial_cp_conference", "8875", "I1", "icpc_icpc_date", "2023-07-16", 1)},
    ),
    (
        "missing-before-birth",
        lambda m: m.add(
            "ssd_missing",
            miss_table_id="M2",
            miss_missing_episode_start_date="2015-01-09",
            miss_missing_episode_end_date="2015-01-09",
        ),
        {("ssd_missing", "302/586", "M2", "miss_missing_episode_start_date", "2015-01-09", 2)},
    ),
    (
        "episode-before-birth",
        lambda m: m.set("ssd_person", "P2", pers_dob="2023-02-01"),
        {
            ("ssd_cla_episodes", "302/586", "E1", "clae_cla_episode_start_date", "2023-01-02", 1),
            ("ssd_cla_placement", "302/586", "PL1", "clap_cla_placement_start_date", "2023-01-02", 1),
        },
    ),
    (
        "placements-overlap",
        lambda m: m.add(
            "ssd_cla_placement",
            clap_cla_placement_id="PL3",
            clap_cla_placement_start_date="2023-02-15",
            clap_cla_placement_end_date="2023-02-20",
        ),
        {("ssd_cla_placement", "501/574", "PL3", "clap_cla_placement_start_date", "2023-02-15", 3)},
    ),
    (
        "missing-while-one-open",
        lambda m: m.add(
            "ssd_missing",
            miss_table_id="M2",
            miss_missing_episode_start_date="2023-07-12",
            miss_missing_episode_end_date="",
        ).add(
            "ssd_missing",
            miss_table_id="M3",
            miss_missing_episode_start_date="2023-07-20",
            miss_missing_episode_end_date="2023-07-21",
        ),
        {("ssd_missing", "501/574", "M3", "miss_missing_episode_start_date", "2023-07-20", 3)},
    ),
    (
        "starting-the-day-the-previous-ended-is-allowed",
        lambda m: m.add(
            "ssd_missing",
            miss_table_id="M2",
            miss_missing_episode_start_date="2023-07-11",
            miss_missing_episode_end_date="2023-07-11",
        ),
        set(),
    ),
    (
        "event-before-1991-10-14",
        lambda m: m.add("ssd_contacts", cont_contact_id="C2", cont_contact_date="1991-10-13").add(
            "ssd_contacts", cont_contact_id="C3", cont_contact_date="1991-10-14"
        ),
        {("ssd_contacts", "353", "C2", "cont_contact_date", "1991-10-13", 2)},
    ),
    (
        "future",
        lambda m: m.add("ssd_contacts", cont_contact_id="C2", cont_contact_date="2023-08-04").add(
            "ssd_contacts", cont_contact_id="C3", cont_contact_date="2023-08-03"
        ),
        {("ssd_contacts", "future", "C2", "cont_contact_date", "2023-08-04", 2)},
    ),
    (
        "due-dates-may-be-future",
        lambda m: m.set("ssd_cla_reviews", "CR1", clar_cla_review_due_date="2024-01-20").set(
            "ssd_initial_cp_conference", "I1", icpc_icpc_target_date="2023-09-01"
        ),
        set(),
    ),
    (
        "unknown-code",
        lambda m: m.set("ssd_contacts", "C1", cont_contact_source_code="99"),
        {("ssd_contacts", "codes", "C1", "cont_contact_source_code", "99", 1)},
    ),
    (
        "required-code-empty",
        lambda m: m.set("ssd_legal_status", "L1", lega_legal_status=" "),
        {("ssd_legal_status", "codes", "L1", "lega_legal_status", None, 1)},
    ),
    ("optional-code-empty", lambda m: m.set("ssd_cin_episodes", "R1", cine_cin_primary_need_code=""), set()),
    (
        "ceased-reason-empty-when-ceased",
        lambda m: m.set("ssd_cla_episodes", "E1", clae_cla_episode_ceased_reason=""),
        {("ssd_cla_episodes", "codes", "E1", "clae_cla_episode_ceased_reason", None, 1)},
    ),
    (
        "unmapped-description",
        lambda m: m.set("ssd_missing", "M1", miss_missing_episode_type="Runaway"),
        {("ssd_missing", "codes", "M1", "miss_missing_episode_type", "Runaway", 1)},
    ),
    (
        "bad-date",
        lambda m: m.set("ssd_contacts", "C1", cont_contact_date="31/02/2023"),
        {("ssd_contacts", "format", "C1", "cont_contact_date", "31/02/2023", 1)},
    ),
    (
        "bad-flag",
        lambda m: m.set("ssd_cin_assessments", "A1", cina_assessment_child_seen="maybe"),
        {("ssd_cin_assessments", "format", "A1", "cina_assessment_child_seen", "maybe", 1)},
    ),
    (
        "bad-number",
        lambda m: m.set("ssd_cla_placement", "PL2", clap_cla_placement_distance="12 miles"),
        {("ssd_cla_placement", "format", "PL2", "clap_cla_placement_distance", "12 miles", 2)},
    ),
    (
        "bad-json",
        lambda m: m.set("ssd_contacts", "C1", cont_contact_outcome_json='{"NFA_FLAG": "Y"'),
        {("ssd_contacts", "format", "C1", "cont_contact_outcome_json", '{"NFA_FLAG": "Y"', 1)},
    ),
    (
        "id-too-long",
        lambda m: m.set("ssd_cp_reviews", "V1", cppr_cp_review_id="V" * 49),
        {("ssd_cp_reviews", "format", "V" * 49, "cppr_cp_review_id", "V" * 49, 1)},
    ),
    (
        "id-formula",
        lambda m: m.set("ssd_contacts", "C1", cont_contact_id="=1+1"),
        {("ssd_contacts", "format", "=1+1", "cont_contact_id", "=1+1", 1)},
    ),
    (
        "id-script",
        lambda m: m.set("ssd_contacts", "C1", cont_person_id="<script>alert(2)</script>"),
        {
            ("ssd_contacts", "format", "C1", "cont_person_id", "<script>alert(2)</script>", 1),
            ("ssd_contacts", "FK", "C1", "cont_person_id", "<script>alert(2)</script>", 1),
        },
    ),
    (
        "id-inner-space-tab-or-leading-dash",
        lambda m: m.set("ssd_missing", "M1", miss_table_id="M 1")
        .set("ssd_legal_status", "L1", lega_legal_status_id="L\t1")
        .set("ssd_cla_reviews", "CR1", clar_cla_review_id="-1"),
        {
            ("ssd_missing", "format", "M 1", "miss_table_id", "M 1", 1),
            ("ssd_legal_status", "format", "L\t1", "lega_legal_status_id", "L\t1", 1),
            ("ssd_cla_reviews", "format", "-1", "clar_cla_review_id", "-1", 1),
        },
    ),
    (
        "id-case-management-forms-load",  # GUIDs (in braces or not), paths, dotted and colon forms
        lambda m: m.set("ssd_contacts", "C1", cont_contact_id="{3F2504E0-4F89-11D3-9A0C-0305E82C3301}")
        .set("ssd_missing", "M1", miss_table_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        .set("ssd_legal_status", "L1", lega_legal_status_id="LCS/2023/000123")
        .set("ssd_cla_reviews", "CR1", clar_cla_review_id="MOSAIC:CLA.REV_0042"),
        set(),
    ),
    (
        "several-rules-one-row",
        lambda m: m.add(
            "ssd_contacts",
            cont_contact_id="C2",
            cont_person_id="P404",
            cont_contact_date="1990-01-01",
            cont_contact_source_code="XX",
        ),
        {
            ("ssd_contacts", "FK", "C2", "cont_person_id", "P404", 2),
            ("ssd_contacts", "353", "C2", "cont_contact_date", "1990-01-01", 2),
            ("ssd_contacts", "codes", "C2", "cont_contact_source_code", "XX", 2),
        },
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, change: Change, expected: set[tuple[Any, ...]]
) -> None:
    result = load(con, change(Month()).write(tmp_path))
    assert quarantine(con) == expected
    assert {r[1] for r in expected} <= set(RULES)
    # the failing rows, and only they, are invalid in raw; they are counted once each
    assert invalid_rows(con) == {(t, n) for t, _, _, _, _, n in expected}
    assert con.execute("SELECT DISTINCT extract_month FROM raw.quarantine").fetchall() in ([], [(JULY,)])
    for table in TABLES:
        rec = result.tables[table.name]
        failing = {n for t, *_, n in expected if t == table.name}
        assert rec.rows_quarantined == len(failing)
        assert rec.rows_loaded == rec.rows_read - len(failing)


def test_quarantine_messages_name_no_value_and_the_worklist_names_them(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """raw.quarantine.message (what reports show) is built from rule and column names only; the
    message naming the values goes to the month's private worklist."""
    month = (
        Month()
        .set("ssd_contacts", "C1", cont_contact_date="31/02/2023")
        .add(
            "ssd_missing",
            miss_table_id="M2",
            miss_missing_episode_start_date="2023-07-12",
            miss_missing_episode_end_date="",
        )
        .add(
            "ssd_missing",
            miss_table_id="M3",
            miss_missing_episode_start_date="2023-07-20",
            miss_missing_episode_end_date="2023-07-21",
        )
        .set("ssd_initial_cp_conference", "I1", icpc_icpc_date="2023-07-15")
        .add("ssd_cla_placement", clap_cla_placement_id="PL3", clap_cla_placement_start_date="2023-02-15")
        .set("ssd_cin_assessments", "A1", cina_assessment_start_date="2023-07-01")
        .add("ssd_contacts", cont_contact_id="C2", cont_person_id="P404")
        .set("ssd_legal_status", "L1", lega_legal_status="")
    )
    worklist = tmp_path / "private" / "worklists" / "2023-07.csv"
    load_extract(con, month.write(tmp_path), JULY, run_id="test-run", today=TODAY, worklist=worklist)
    reasons = {
        (r["table_name"], r["rule"]): r["message"]
        for r in rows(con, "SELECT table_name, rule, message FROM raw.quarantine")
    }
    assert reasons == {
        ("ssd_cla_placement", "501/574"): "clap_cla_placement_start_date is before the same child's earlier "
        "record (clap_cla_placement_id) ended, or while it is still open",
        ("ssd_missing", "501/574"): "miss_missing_episode_start_date is before the same child's earlier record "
        "(miss_table_id) ended, or while it is still open",
        ("ssd_cin_assessments", "1103/2889"): "cina_assessment_start_date is before the referral date of "
        "cina_referral_id",
        ("ssd_contacts", "FK"): "cont_person_id is not found in ssd_person.pers_person_id",
        ("ssd_legal_status", "codes"): "lega_legal_status is empty",
        ("ssd_contacts", "format"): "cont_contact_date is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.fff] or "
        "DD/MM/YYYY)",
        ("ssd_initial_cp_conference", "8875"): "icpc_icpc_date is a Saturday or Sunday",
    }
    for value in ("2023-02-15", "PL1", "2023-03-01", "2023-07-04", "R1", "P404", "31/02", "2023-07-15", "M2"):
        assert not any(value in reason for reason in reasons.values()), value
    messages = {(r["table_name"], r["rule"]): r["message"] for r in read_worklist(worklist)}
    assert messages["ssd_cla_placement", "501/574"] == (
        "clap_cla_placement_start_date 2023-02-15 is before the same child's clap_cla_placement_id PL1 "
        "ended on 2023-03-01"
    )
    assert messages["ssd_cin_assessments", "1103/2889"] == (
        "cina_assessment_start_date 2023-07-01 is before the referral date 2023-07-04 of cina_referral_id R1"
    )
    assert messages["ssd_contacts", "FK"] == "cont_person_id P404 is not found in ssd_person.pers_person_id"
    assert messages["ssd_legal_status", "codes"] == "lega_legal_status is empty"
    assert messages["ssd_contacts", "format"] == (
        "cont_contact_date '31/02/2023' is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.fff] or DD/MM/YYYY)"
    )
    assert messages["ssd_missing", "501/574"] == (
        "miss_missing_episode_start_date 2023-07-20 falls while the same child's miss_table_id M2 is still open"
    )
    assert messages["ssd_initial_cp_conference", "8875"] == "icpc_icpc_date 2023-07-15 is a Saturday"


def read_worklist(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_unreadable_values_are_null_in_raw(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = (
        Month()
        .set("ssd_contacts", "C1", cont_contact_date="yesterday", cont_contact_outcome_json="{bad")
        .set("ssd_cla_placement", "PL2", clap_cla_placement_distance="far")
    )
    load(con, month.write(tmp_path))
    assert con.execute(
        "SELECT cont_contact_date, cont_contact_outcome_json FROM raw.ssd_contacts"
    ).fetchone() == (None, None)
    assert con.execute(
        "SELECT clap_cla_placement_distance FROM raw.ssd_cla_placement WHERE _row_number = 2"
    ).fetchone() == (None,)


def test_json_with_commas_quotes_and_line_breaks(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().write(tmp_path)
    shutil.copy(FORMAT_FIXTURES / "ssd_contacts.csv", folder / "ssd_contacts.csv")
    load(con, folder)
    stored = con.execute(
        "SELECT cont_contact_outcome_json FROM raw.ssd_contacts ORDER BY _row_number"
    ).fetchall()
    assert json.loads(stored[0][0])["COMMENTS"] == 'police, then "school" called'
    assert json.loads(stored[1][0])["COMMENTS"] == "line one, line two"
    assert stored[2][0] is None
    json_failures = {q for q in quarantine(con) if q[3] == "cont_contact_outcome_json"}
    assert json_failures == {("ssd_contacts", "format", "0003", "cont_contact_outcome_json", "{not json", 3)}


def test_exact_duplicate_rows_keep_one(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = (
        Month().duplicate("ssd_contacts", "C1").duplicate("ssd_contacts", "C1").duplicate("ssd_person", "P2")
    )
    result = load(con, month.write(tmp_path))
    q = rows(con, "SELECT * FROM raw.quarantine ORDER BY table_name, row_number")
    assert [
        (
            r["table_name"],
            r["row_number"],
            r["rule"],
            r["record_key"],
            r["column_name"],
            r["value"],
            r["message"],
        )
        for r in q
    ] == [
        ("ssd_contacts", 2, "key", "C1", "cont_contact_id", "C1", "exact duplicate row dropped"),
        ("ssd_contacts", 3, "key", "C1", "cont_contact_id", "C1", "exact duplicate row dropped"),
        ("ssd_person", 4, "key", "P2", "pers_person_id", "P2", "exact duplicate row dropped"),
    ]
    contacts = result.tables["ssd_contacts"]
    assert (
        contacts.rows_read,
        contacts.rows_loaded,
        contacts.rows_quarantined,
        contacts.duplicates_dropped,
    ) == (3, 1, 0, 2)
    assert con.execute("SELECT _row_number, _is_valid FROM raw.ssd_contacts ORDER BY 1").fetchall() == [
        (1, True),
        (2, False),
        (3, False),
    ]
    assert result.quarantine_counts == {("ssd_contacts", "key"): 2, ("ssd_person", "key"): 1}


def test_rows_identical_once_read_are_exact_duplicates(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Identical means every value read is equal: spelling of dates, flags and codes aside."""
    month = Month().add(
        "ssd_cin_assessments", cina_assessment_start_date="05/07/2023", cina_assessment_child_seen="yes"
    )
    month.add("ssd_cin_assessments", cina_assessment_auth_date="2023-07-21")  # same key, other content
    result = load(con, month.write(tmp_path))
    assert quarantine(con) == {
        ("ssd_cin_assessments", "key", "A1", "cina_assessment_id", "A1", 1),
        ("ssd_cin_assessments", "key", "A1", "cina_assessment_id", "A1", 2),  # dropped copy of row 1
        ("ssd_cin_assessments", "key", "A1", "cina_assessment_id", "A1", 3),
    }
    assert result.tables["ssd_cin_assessments"].duplicates_dropped == 1


def test_duplicated_key_with_an_exact_copy_among_them(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month().duplicate("ssd_contacts", "C1").add("ssd_contacts", cont_contact_date="2023-07-06")
    result = load(con, month.write(tmp_path))
    assert quarantine(con) == {
        ("ssd_contacts", "key", "C1", "cont_contact_id", "C1", 1),
        ("ssd_contacts", "key", "C1", "cont_contact_id", "C1", 2),  # the exact copy: dropped
        ("ssd_contacts", "key", "C1", "cont_contact_id", "C1", 3),
    }
    rec = result.tables["ssd_contacts"]
    assert (rec.rows_read, rec.rows_loaded, rec.rows_quarantined, rec.duplicates_dropped) == (3, 0, 2, 1)


@pytest.mark.parametrize("spell", [str, lambda name: f" {name.upper()} "], ids=["as-written", "upper-case-spaced"])
@pytest.mark.parametrize("table", ["ssd_cin_assessments", "ssd_contacts", "ssd_person"])
def test_a_repeated_header_row_is_one_failure_of_its_own(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, table: str, spell: Callable[[str], str]
) -> None:
    """Two exports joined together repeat the header mid-file: that line is quarantined once, as
    a repeated header, not as a failure of every rule its texts break (dates, flags, references);
    repeated twice, both lines are reported so, not one as the other's duplicate."""
    month = Month()
    header = {column: spell(column) for column in month.columns[table]}
    month.rows[table][1:1] = [header]  # line 3, after the first record
    month.rows[table].append(dict(header))
    worklist = tmp_path / "worklist.csv"
    result = load_extract(con, month.write(tmp_path), JULY, run_id="test-run", today=TODAY, worklist=worklist)
    rows_sent = len(BASELINE[table]) + 2
    q = rows(con, "SELECT table_name, row_number, rule, column_name, message FROM raw.quarantine "
                  "ORDER BY table_name, row_number")
    key = next(iter(month.columns[table]))
    assert [tuple(r.values()) for r in q] == [
        (table, 2, "format", key, validity.REPEATED_HEADER_MESSAGE),
        (table, rows_sent, "format", key, validity.REPEATED_HEADER_MESSAGE),
    ]
    rec = result.tables[table]
    assert (rec.rows_read, rec.rows_loaded, rec.rows_quarantined, rec.duplicates_dropped) == (
        rows_sent, rows_sent - 2, 2, 0)
    assert [(w["line_number"], w["rule"], w["message"]) for w in read_worklist(worklist)] == [
        ("3", "format", validity.REPEATED_HEADER_MESSAGE),
        (str(rows_sent + 1), "format", validity.REPEATED_HEADER_MESSAGE),
    ]


# --- reconciliation ----------------------------------------------------------------------------


def broken_month() -> Month:
    """Failures in many tables at once, including duplicates and multi-rule rows."""
    return (
        Month()
        .duplicate("ssd_person", "P1")
        .set("ssd_person", "P2", pers_ethnicity="XXXX")
        .add("ssd_contacts", cont_contact_id="C2", cont_person_id="P404", cont_contact_date="1990-01-01")
        .add("ssd_contacts", cont_contact_id="C3", cont_contact_source_code="", cont_contact_outcome_json="{")
        .duplicate("ssd_contacts", "C3")
        .add("ssd_contacts", cont_contact_id="C4")
        .set("ssd_cin_assessments", "A1", cina_assessment_start_date="2023-07-01")
        .set("ssd_initial_cp_conference", "I1", icpc_icpc_date="2023-07-15")
        .add(
            "ssd_cla_placement",
            clap_cla_placement_id="PL3",
            clap_cla_placement_start_date="2023-02-15",
            clap_cla_placement_end_date="2023-02-20",
            clap_cla_placement_distance="far",
        )
        .set("ssd_cla_episodes", "E1", clae_cla_episode_ceased_reason="")
        .add("ssd_missing", miss_table_id="M2", miss_missing_episode_type="Lost")
        .add("ssd_missing", miss_table_id="M2", miss_missing_episode_type="A")
        .set("ssd_care_leavers", "CL1", clea_care_leaver_latest_contact="2023-09-01")
    )


def test_reconciliation_holds_for_every_table(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = load(con, broken_month().write(tmp_path))
    log = {r["table_name"]: r for r in rows(con, "SELECT * FROM raw.load_log")}
    assert set(log) == {t.name for t in TABLES}
    tables_with_failures = set()
    for table in TABLES:
        entry, rec = log[table.name], result.tables[table.name]
        assert (
            entry["rows_read"]
            == entry["rows_loaded"] + entry["rows_quarantined"] + entry["duplicates_dropped"]
        )
        assert (
            entry["rows_read"],
            entry["rows_loaded"],
            entry["rows_quarantined"],
            entry["duplicates_dropped"],
        ) == (rec.rows_read, rec.rows_loaded, rec.rows_quarantined, rec.duplicates_dropped)
        raw_rows, valid = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _is_valid) FROM raw.{table.name}"
        ).fetchone() or (0, 0)
        assert (raw_rows, valid) == (rec.rows_read, rec.rows_loaded)
        (distinct_failing,) = con.execute(
            "SELECT count(DISTINCT row_number) FROM raw.quarantine WHERE table_name = ?", [table.name]
        ).fetchone() or (0,)
        assert distinct_failing == rec.rows_quarantined + rec.duplicates_dropped
        assert entry["file_name"] == f"{table.name}.csv" and entry["run_id"] == "test-run"
        if rec.rows_quarantined or rec.duplicates_dropped:
            tables_with_failures.add(table.name)
    assert len(tables_with_failures) >= 8
    contacts = result.tables["ssd_contacts"]
    assert (
        contacts.rows_read,
        contacts.rows_loaded,
        contacts.rows_quarantined,
        contacts.duplicates_dropped,
    ) == (5, 2, 2, 1)
    failures = sum(result.quarantine_counts.values())
    assert failures == con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0]  # type: ignore[index]


def test_staging_in_many_small_batches(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = load(con, broken_month().write(tmp_path / "a")).to_metadata()["tables"]
    monkeypatch.setattr(reader, "BATCH_ROWS", 1)
    again = load(con, broken_month().write(tmp_path / "b")).to_metadata()["tables"]
    assert again == expected


# --- extract facts, optional features --------------------------------------------------------


def test_without_manifest_the_extract_date_is_the_load_date(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    result = load(con, Month().write(tmp_path), today=date(2023, 8, 9))
    assert rows(con, "SELECT * FROM raw.extracts") == [
        {
            "extract_month": JULY,
            "la_code": None,
            "period_end": date(2023, 7, 31),
            "extract_date": date(2023, 8, 9),
            "ssd_version": None,
            "source_system": None,
            "has_manifest": False,
            "loaded_at": result.loaded_at,
            "run_id": "test-run",
        }
    ]


def test_manifest_facts_are_recorded_and_its_extract_date_used(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    month = Month().add("ssd_contacts", cont_contact_id="C2", cont_contact_date="2023-08-04")
    folder = month.write(tmp_path)
    month.write(tmp_path, manifest=month.manifest(folder, extract_date="2023-08-05"))
    result = load(con, folder, today=date(2023, 8, 3))
    assert quarantine(con) == set()  # 4 August is not after the manifest's extract date
    assert {t.manifest_verified for t in result.tables.values()} == {VERIFIED_ROWS_AND_CHECKSUM}
    facts = rows(
        con,
        "SELECT la_code, period_end, extract_date, ssd_version, source_system, has_manifest "
        "FROM raw.extracts",
    )
    assert facts == [
        {
            "la_code": "380",
            "period_end": date(2023, 7, 31),
            "extract_date": date(2023, 8, 5),
            "ssd_version": "1.4.5",
            "source_system": "systemc",
            "has_manifest": True,
        }
    ]


# --- the manifest in every form the contract allows -----------------------------------------------
# Any key may be missing; a file's entry may give rows, sha256, both or neither; each value given is
# verified and raw.load_log.manifest_verified says what was.


def verified(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT table_name, manifest_verified FROM raw.load_log").fetchall())


def only(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``doc`` with each file's entry reduced to ``keys``."""
    files = {name: {k: v for k, v in entry.items() if k in keys} for name, entry in doc["files"].items()}
    return doc | {"files": files}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("rows", "sha256"), VERIFIED_ROWS_AND_CHECKSUM),
        (("rows",), VERIFIED_ROWS),
        (("sha256",), VERIFIED_CHECKSUM),
        ((), VERIFIED_NOTHING_LISTED),
    ],
    ids=["both", "rows-only", "sha256-only", "neither"],
)
def test_a_manifest_giving_rows_sha256_both_or_neither_loads(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, keys: tuple[str, ...], expected: str
) -> None:
    month = Month()
    folder = month.write(tmp_path)
    month.write(tmp_path, manifest=only(month.manifest(folder), *keys))
    result = load(con, folder)
    assert result.quarantine_counts == {}
    assert verified(con) == {t.name: expected for t in TABLES}
    assert {t.manifest_verified for t in result.tables.values()} == {expected}
    assert result.to_metadata()["tables"]["ssd_contacts"]["manifest_verified"] == expected
    assert con.execute("SELECT has_manifest FROM raw.extracts").fetchone() == (True,)


def test_each_file_says_what_was_verified(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = month.manifest(folder)
    del doc["files"]["ssd_contacts.csv"]["sha256"]
    del doc["files"]["ssd_person.csv"]["rows"]
    doc["files"]["ssd_missing.csv"] = {}
    doc["files"]["SSD_CLA_REVIEWS.CSV"] = doc["files"].pop("ssd_cla_reviews.csv")  # names match in any case
    del doc["files"]["ssd_care_leavers.csv"]
    month.write(tmp_path, manifest=doc)
    load(con, folder)
    assert verified(con) == {
        **{t.name: VERIFIED_ROWS_AND_CHECKSUM for t in TABLES},
        "ssd_contacts": VERIFIED_ROWS,
        "ssd_person": VERIFIED_CHECKSUM,
        "ssd_missing": VERIFIED_NOTHING_LISTED,
        "ssd_care_leavers": VERIFIED_NOTHING_NOT_LISTED,
    }


@pytest.mark.parametrize(
    "doc",
    [
        {"la_code": "380", "period_end": "2023-07-31", "extract_date": "2023-08-03"},
        {"la_code": "380", "period_end": "2023-07-31", "extract_date": "2023-08-03", "files": None},
        {"files": {}},
    ],
    ids=["no-files-key", "files-null", "files-empty"],
)
def test_a_manifest_without_files_verifies_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, doc: dict[str, Any]
) -> None:
    folder = Month().write(tmp_path, manifest=doc)
    result = load(con, folder)
    assert result.manifest.has_manifest
    assert verified(con) == {t.name: VERIFIED_NOTHING_NOT_LISTED for t in TABLES}


def test_a_manifest_with_no_keys_at_all(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Without period_end the folder's month end is used; without extract_date the rule "future"
    uses the load date (as with no manifest) and raw.extracts records no extract date."""
    month = Month().add("ssd_contacts", cont_contact_id="C2", cont_contact_date="2023-08-05")
    folder = month.write(tmp_path, manifest={})
    load(con, folder, today=date(2023, 8, 4))
    assert verified(con) == {t.name: VERIFIED_NOTHING_NOT_LISTED for t in TABLES}
    assert rows(con, "SELECT la_code, period_end, extract_date, has_manifest FROM raw.extracts") == [
        {"la_code": None, "period_end": date(2023, 7, 31), "extract_date": None, "has_manifest": True}
    ]
    assert {(r[0], r[1], r[2]) for r in quarantine(con)} == {("ssd_contacts", "future", "C2")}


def test_no_manifest_at_all(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = load(con, Month().write(tmp_path))
    assert verified(con) == {t.name: VERIFIED_NO_MANIFEST for t in TABLES}
    assert {t.manifest_verified for t in result.tables.values()} == {VERIFIED_NO_MANIFEST}


@pytest.mark.parametrize("keys", [("rows",), ("rows", "sha256")], ids=["rows-only", "both"])
def test_a_wrong_row_count_still_rejects(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path, keys: tuple[str, ...]
) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = only(month.manifest(folder), *keys)
    doc["files"]["ssd_missing.csv"]["rows"] = 2
    month.write(tmp_path, manifest=doc)
    assert_rejected(loaded, folder, "ssd_missing.csv", "1 data rows but manifest.json says 2")


@pytest.mark.parametrize("keys", [("sha256",), ("rows", "sha256")], ids=["sha256-only", "both"])
def test_a_wrong_checksum_still_rejects(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path, keys: tuple[str, ...]
) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = only(month.manifest(folder), *keys)
    month.set("ssd_missing", "M1", miss_missing_rhi_accepted="Y").write(tmp_path, manifest=doc)
    assert_rejected(loaded, folder, "ssd_missing.csv", "SHA-256 .* differs from manifest.json")


def test_a_file_listed_without_rows_or_checksum_must_still_be_there(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    month = Month().drop_table("ssd_cp_reviews")
    folder = month.write(tmp_path, manifest={"files": {"ssd_cp_reviews.csv": {}}})
    assert_rejected(loaded, folder, "ssd_cp_reviews.csv", "listed in manifest.json but missing")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"rows": "1"}, r"files\['ssd_missing.csv'\].rows is not a non-negative integer: '1'"),
        ({"sha256": "not-a-checksum"}, r"files\['ssd_missing.csv'\].sha256 is not a 64-digit hex SHA-256"),
    ],
)
def test_a_malformed_value_given_rejects_naming_file_and_field(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path, entry: dict[str, Any], reason: str
) -> None:
    folder = Month().write(tmp_path, manifest={"files": {"ssd_missing.csv": entry}})
    assert_rejected(loaded, folder, "manifest.json", reason)


def test_a_warehouse_of_the_previous_version_gains_the_column(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """raw.load_log created before manifest_verified existed: the next load adds the column (its
    old rows keep NULL) and a re-load of a month already there works."""
    old_ddl = LOG_TABLES_DDL["load_log"].replace(", manifest_verified VARCHAR", "")
    assert old_ddl != LOG_TABLES_DDL["load_log"]
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE raw.load_log {old_ddl}")
    con.execute(
        "INSERT INTO raw.load_log VALUES (DATE '2023-06-01', 'ssd_person', 'ssd_person.csv', NULL, "
        "1, 1, 0, 0, TIMESTAMP '2023-07-04 10:00:00', 'old-run')"
    )
    con.execute(
        "INSERT INTO raw.load_log VALUES (DATE '2023-07-01', 'ssd_person', 'ssd_person.csv', NULL, "
        "1, 1, 0, 0, TIMESTAMP '2023-08-04 10:00:00', 'old-run')"
    )
    month = Month()
    folder = month.write(tmp_path)
    month.write(tmp_path, manifest=only(month.manifest(folder), "rows"))
    load(con, folder)
    columns = [r[0] for r in con.execute("DESCRIBE raw.load_log").fetchall()]
    assert columns[-1] == "manifest_verified"
    assert con.execute(
        "SELECT extract_month, count(*), count(manifest_verified), min(manifest_verified) "
        "FROM raw.load_log GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(date(2023, 6, 1), 1, 0, None), (JULY, len(TABLES), len(TABLES), VERIFIED_ROWS)]
    load(con, folder)  # again, now on the migrated table
    assert verified(con) == {t.name: VERIFIED_ROWS for t in TABLES} | {"ssd_person": VERIFIED_ROWS}
    # a new warehouse has the same columns in the same order
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    try:
        load(fresh, folder)
        assert [r[0] for r in fresh.execute("DESCRIBE raw.load_log").fetchall()] == columns
    finally:
        fresh.close()


def test_raw_tables_of_the_previous_version_gain_line_numbers(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Raw tables created before _line_number existed: the next load adds it as the last column
    (rows loaded before keep NULL, and reports show their row numbers instead)."""
    from dagster_project.checks.families.quarantine import row_failures
    from dagster_project.ingest.raw_schema import raw_table_ddl

    con.execute("CREATE SCHEMA raw")
    for table in TABLES:
        old = raw_table_ddl(table).replace(", _line_number BIGINT", "")
        assert old != raw_table_ddl(table)
        con.execute(old)
    con.execute(f"CREATE TABLE raw.quarantine {LOG_TABLES_DDL['quarantine']}")
    con.execute("INSERT INTO raw.ssd_contacts (cont_contact_id, _extract_month, _row_number, _is_valid) "
                "VALUES ('C0', DATE '2023-06-01', 1, false)")
    con.execute("INSERT INTO raw.quarantine VALUES (DATE '2023-06-01', 'ssd_contacts', 1, 'C0', 'key', "
                "'cont_contact_id', 'C0', 'primary key cont_contact_id is not unique')")
    # a report before any new load reads the old tables as they are
    assert row_failures(con, date(2023, 6, 1))[0]["examples"] == [{"line": None, "row": 1, "value": None}]
    load(con, Month().duplicate("ssd_missing", "M1").write(tmp_path))
    for table in TABLES:
        assert [r[0] for r in con.execute(f"DESCRIBE raw.{table.name}").fetchall()][-1] == "_line_number"
    assert con.execute("SELECT _extract_month, _line_number FROM raw.ssd_contacts ORDER BY 1").fetchall() == [
        (date(2023, 6, 1), None), (JULY, 2),
    ]  # fmt: skip
    [june] = row_failures(con, date(2023, 6, 1))
    [july] = row_failures(con, JULY)
    assert june["examples"] == [{"line": None, "row": 1, "value": None}]
    assert (july["message"], july["examples"]) == (
        "exact duplicate row dropped", [{"line": 3, "row": 2, "value": None}]
    )


def test_optional_table_absent(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = load(con, Month().drop_table("ssd_cp_reviews").write(tmp_path))
    assert "ssd_cp_reviews" not in result.tables
    assert con.execute("SELECT count(*) FROM raw.ssd_cp_reviews").fetchone() == (0,)
    assert rows(con, "SELECT feature, available FROM raw.extract_features ORDER BY 1") == [
        {"feature": "ssd_contacts.cont_contact_decision_date", "available": True},
        {"feature": "ssd_cp_reviews", "available": False},
    ]


def test_optional_column_absent(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = load(con, Month().drop_column("ssd_contacts", "cont_contact_decision_date").write(tmp_path))
    assert con.execute("SELECT cont_contact_decision_date FROM raw.ssd_contacts").fetchall() == [(None,)]
    assert result.features["ssd_contacts.cont_contact_decision_date"] is False
    assert result.tables["ssd_contacts"].missing_optional_columns == ("cont_contact_decision_date",)
    assert con.execute(
        "SELECT available FROM raw.extract_features WHERE feature = 'ssd_contacts.cont_contact_decision_date'"
    ).fetchone() == (False,)


def test_other_csv_files_are_ignored(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().write(tmp_path)
    (folder / "ssd_professionals.csv").write_text("prof_id\nX1\n")
    assert load(con, folder).ignored_files == ("ssd_professionals.csv",)


# --- re-load -------------------------------------------------------------------------------------


def without_load_stamps(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for name, content in snapshot(con).items():
        cols = [c[0] for c in con.execute(f"DESCRIBE raw.{name}").fetchall()]
        keep = [i for i, c in enumerate(cols) if c not in ("_loaded_at", "loaded_at", "run_id")]
        out[name] = sorted((tuple(r[i] for i in keep) for r in content), key=repr)
    return out


def test_reloading_the_same_input_gives_the_same_tables(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = broken_month().write(tmp_path)
    load(con, folder)
    first = without_load_stamps(con)
    load_extract(con, folder, JULY, run_id="another-run", today=TODAY)
    assert without_load_stamps(con) == first
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM raw.load_log").fetchone() == (
        len(TABLES),
        1,
    )


def test_reload_replaces_only_that_month(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    june = Month()
    june_folder = june.write(tmp_path, "2023-06")
    load(con, june_folder, month=date(2023, 6, 1), today=date(2023, 8, 3))
    load(con, Month().write(tmp_path))
    load(con, Month().add("ssd_contacts", cont_contact_id="C9").write(tmp_path / "v2"))
    assert con.execute(
        "SELECT _extract_month, count(*) FROM raw.ssd_contacts GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(date(2023, 6, 1), 1), (JULY, 2)]
    assert con.execute(
        "SELECT extract_month, count(*) FROM raw.extracts GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(date(2023, 6, 1), 1), (JULY, 1)]


# --- file-level rejection ------------------------------------------------------------------------


def assert_rejected(con: duckdb.DuckDBPyConnection, folder: Path, file: str, reason: str) -> None:
    """The load is rejected and the warehouse is exactly as before."""
    before = snapshot(con)
    with pytest.raises(ExtractRejected, match=reason) as info:
        load(con, folder)
    assert (info.value.file, info.value.month) == (file, JULY)
    assert str(info.value).startswith(f"2023-07/{file}: " if file else "2023-07: ")
    assert snapshot(con) == before


@pytest.fixture
def loaded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse that already holds July, so a rejected re-load must leave it intact."""
    load(con, broken_month().write(tmp_path / "previous"))
    return con


def test_missing_required_table(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().drop_table("ssd_person").write(tmp_path)
    assert_rejected(con, folder, "ssd_person.csv", "required table is missing")
    assert snapshot(con) == {}  # not even the schema was created


def test_missing_required_column(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().drop_column("ssd_contacts", "cont_contact_source_code").write(tmp_path)
    with pytest.raises(ExtractRejected) as info:
        load(loaded, folder)
    assert str(info.value) == "2023-07/ssd_contacts.csv: required column cont_contact_source_code is missing"
    assert info.value.reason == "required column cont_contact_source_code is missing"


def test_checksum_mismatch(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = month.manifest(folder)
    month.set("ssd_missing", "M1", miss_missing_rhi_accepted="Y").write(tmp_path, manifest=doc)
    assert_rejected(loaded, folder, "ssd_missing.csv", "SHA-256 .* differs from manifest.json")


def test_row_count_mismatch_rolls_back(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = month.manifest(folder)
    doc["files"]["ssd_missing.csv"]["rows"] = 2
    month.write(tmp_path, manifest=doc)
    assert_rejected(loaded, folder, "ssd_missing.csv", "1 data rows but manifest.json says 2")


def test_file_listed_in_manifest_but_absent(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    folder = month.write(tmp_path)
    doc = month.manifest(folder)
    (folder / "ssd_cp_reviews.csv").unlink()
    month.drop_table("ssd_cp_reviews")
    (folder / "manifest.json").write_text(json.dumps(doc))
    assert_rejected(loaded, folder, "ssd_cp_reviews.csv", "listed in manifest.json but missing")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"period_end": "2023-06-30"}, "period_end 2023-06-30 is not the last day"),
        ({"extract_date": "2023-07-28"}, "extract_date 2023-07-28 is before period_end"),
        ({"files": "all of them"}, "'files' is not an object"),
    ],
)
def test_bad_manifest(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    month = Month()
    folder = month.write(tmp_path)
    month.write(tmp_path, manifest=month.manifest(folder, **fields))
    assert_rejected(loaded, folder, "manifest.json", reason)


def test_malformed_manifest(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().write(tmp_path)
    (folder / "manifest.json").write_text("{not json")
    assert_rejected(loaded, folder, "manifest.json", "cannot be read as JSON")


def test_undecodable_file_rolls_back(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    month = Month()
    for i in range(3000):  # the bad byte is far from the header, so it is found while loading
        month.add("ssd_cla_reviews", clar_cla_review_id=f"CR{i + 2}")
    folder = month.write(tmp_path)
    with (folder / "ssd_cla_reviews.csv").open("ab") as f:
        f.write(b"CR\xff,CLA1,P2,,,N\n")
    assert_rejected(loaded, folder, "ssd_cla_reviews.csv", "cannot be read as a UTF-8 CSV")


def test_folder_of_another_month(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = Month().write(tmp_path, "2023-08")
    assert_rejected(loaded, folder, "", "folder 2023-08 is not the folder of month 2023-07")


def test_missing_folder(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    assert_rejected(con, tmp_path / "2023-07", "", "does not exist")


# --- generated months (dagster_project/extracts/generator) ----------------------------------------


def generated(root: Path, *faults: str) -> Path:
    """A small generated July 2023 (scale 0.1), with ``faults`` injected."""
    generate(root, date(2023, 7, 1), date(2023, 7, 1), seed=11, scale=0.1, inject=faults)
    return root / "2023-07"


def test_generated_clean_months_reconcile_and_quarantine_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = generate(tmp_path, date(2023, 6, 1), date(2023, 7, 1), seed=11, scale=0.1)
    assert report.months == ("2023-06", "2023-07")
    for folder in report.months:
        result = load_extract(con, tmp_path / folder, date.fromisoformat(f"{folder}-01"), run_id="gen")
        assert result.quarantine_counts == {}, f"clean generated data broke rules in {folder}"
        assert set(result.tables) == {t.name for t in TABLES}
        for rec in result.tables.values():
            assert rec.reconciles and rec.manifest_verified == VERIFIED_ROWS_AND_CHECKSUM
            assert rec.rows_read == rec.rows_loaded > 0
        assert all(result.features.values())
    assert con.execute("SELECT count(*), bool_and(has_manifest) FROM raw.extracts").fetchone() == (2, True)
    log = con.execute(
        "SELECT bool_and(rows_read = rows_loaded + rows_quarantined + duplicates_dropped), count(*) "
        "FROM raw.load_log"
    ).fetchone()
    assert log == (True, 2 * len(TABLES))


def test_generated_row_faults_are_quarantined(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    faults = ("unparseable_dates", "missing_end_before_start", "overlapping_placements")
    result = load(con, generated(tmp_path, *faults))
    assert set(result.quarantine_counts) == {
        ("ssd_contacts", "format"),
        ("ssd_missing", "356/8608/8630/8925/567"),
        ("ssd_cla_placement", "501/574"),
    }
    values = {
        v
        for (v,) in con.execute("SELECT DISTINCT value FROM raw.quarantine WHERE rule = 'format'").fetchall()
    }
    assert values == set(BAD_DATES)
    assert all(rec.reconciles for rec in result.tables.values())
    contacts = result.tables["ssd_contacts"]
    assert contacts.rows_quarantined == result.quarantine_counts[("ssd_contacts", "format")] > 0


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("missing_column", "required column cont_contact_source_code is missing"),
        ("manifest_row_count", "data rows but manifest.json says"),
    ],
)
def test_generated_file_faults_reject_the_month(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, fault: str, reason: str
) -> None:
    folder = generated(tmp_path, fault)
    with pytest.raises(ExtractRejected, match=reason) as info:
        load(con, folder)
    assert info.value.file == "ssd_contacts.csv"
    assert snapshot(con) == {}
