"""The dbt project: structure (parse + manifest), and the front-door and help-and-protection
measures on small hand-made extracts.

1. ``dbt parse``, then the manifest: every model is described, every documented column has a
   description, every model has a key test (``unique`` + ``not_null`` on one column, or
   ``unique_combination_of_columns``, or a ``column_rules`` test with a ``key``), and no mart
   carries a person id.
2. Two hand-made extract folders (2024-02 and 2024-03) are written as CSV per the extract
   contract, loaded with the real ingest (``load_extract``), and the whole dbt project is built
   for extract month 2024-03 and then 2024-02. Every front-door and help-and-protection measure
   of ``fct_scorecard`` is compared, for every one of the twelve months, with figures worked out
   by hand below (SCORECARD.md definitions). The data is built around the edge rules: weekends
   and bank holidays (Christmas 2023, Easter 2024) in working days, month boundaries, 29 February
   and the 12-month clamp, the 1900-01-01 placeholder, transfer-in conferences, the optional
   decision-date column and ssd_cp_reviews table, zero denominators, and rows recorded late or
   deleted by a later extract. Every built relation's columns must match its documentation.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import TABLES
from dagster_project.ingest.load import load_extract
from tests.pipeline_helpers import TEST_KEY

pytestmark = pytest.mark.xdist_group("dbt_project")

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = REPO_ROOT / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")

FEB, MAR = "2024-02", "2024-03"
EXTRACT_DATES = {FEB: date(2024, 3, 4), MAR: date(2024, 4, 3)}
BOTH = (FEB, MAR)


def run_dbt(args: list[str], target: Path, db: Path, month: str) -> subprocess.CompletedProcess:
    """dbt on the warehouse ``db`` for an extract month, given as the pipeline gives it
    (``$CSC_EXTRACT_MONTH``: a later build of another month re-parses nothing)."""
    cmd = [DBT, *args, "--profiles-dir", ".", "--target-path", str(target / "target"),
           "--log-path", str(target / "logs")]
    env = {**os.environ, "CSC_WAREHOUSE_DB": str(db), "DBT_TARGET": "duckdb", "CSC_PSEUDONYM_KEY": TEST_KEY,
           "CSC_EXTRACT_MONTH": f"{month}-01"}
    result = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result


# --------------------------------------------------------------------------------------------
# 1. Structure


@pytest.fixture(scope="module")
def manifest() -> dict:
    """The project's manifest, as the code location parses it when stale (models/dbt.py)."""
    from dagster_project.models.dbt import dbt_project

    return json.loads(Path(dbt_project.manifest_path).read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "csc_warehouse"}


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        attached = node.get("attached_node")
        if attached:
            out.setdefault(manifest["nodes"][attached]["name"], []).append(node)
    return out


def test_every_model_and_column_is_documented(manifest):
    models = _models(manifest)
    assert len(models) >= 30
    undocumented = [name for name, n in models.items() if not n["description"].strip()]
    assert not undocumented, f"models without a description: {undocumented}"
    no_columns = [name for name, n in models.items() if not n["columns"]]
    assert not no_columns, f"models without documented columns: {no_columns}"
    bare = [f"{name}.{col}" for name, n in models.items() for col, c in n["columns"].items()
            if not c["description"].strip()]
    assert not bare, f"columns without a description: {bare}"


def test_every_model_has_a_key_test(manifest):
    """A view whose rows another model stores (``meta.stored_in``) is tested there: that model must
    have the key test and select from the view."""
    tests = _tests_by_model(manifest)
    missing = []
    models = _models(manifest)
    for name, node in models.items():
        stored_in = node["config"].get("meta", {}).get("stored_in")
        if stored_in:
            assert node["config"]["materialized"] == "view", name
            assert f"model.csc_warehouse.{name}" in models[stored_in]["depends_on"]["nodes"], name
            name = stored_in
        kinds: dict[str | None, set[str]] = {}
        for t in tests.get(name, []):
            kinds.setdefault(t.get("column_name"), set()).add(t["test_metadata"]["name"])
        has_combination = any("unique_combination_of_columns" in k for k in kinds.values())
        has_unique_not_null = any({"unique", "not_null"} <= k for col, k in kinds.items() if col)
        has_key_rule = any(t["test_metadata"]["name"] == "column_rules" and t["test_metadata"]["kwargs"].get("key")
                           for t in tests.get(name, []))
        if not (has_combination or has_unique_not_null or has_key_rule):
            missing.append(name)
    assert not missing, f"models without a key test: {missing}"


def test_marts_carry_no_person_ids(manifest):
    identifying = ("person_id", "forename", "surname", "upn", "postcode", "comments", "dob")
    for name, node in _models(manifest).items():
        if not node["original_file_path"].replace("\\", "/").startswith("models/marts"):
            continue
        bad = [c for c in node["columns"] if any(word in c for word in identifying)]
        assert not bad, f"{name} documents identifying columns {bad}"


def test_generic_tests_and_macros_exist(manifest):
    macros = {m["name"] for m in manifest["macros"].values() if m["package_name"] == "csc_warehouse"}
    for name in ("test_accepted_codes", "test_expression_is_true", "test_unique_combination_of_columns",
                 "to_flag", "pseudonymise", "join_working_day", "working_days_between", "months_before"):
        assert name in macros, name
    units = [n for n in manifest.get("unit_tests", {}).values() if n["package_name"] == "csc_warehouse"]
    assert len(units) >= 10


# --------------------------------------------------------------------------------------------
# 2. Hand-made extracts
#
# Bank holidays used below (seed bank_holidays): Mon 25 and Tue 26 Dec 2023, Mon 1 Jan 2024,
# Fri 29 Mar 2024 (Good Friday), Mon 1 Apr 2024 (Easter Monday).
# WD(a, b) = number of working days d with a < d <= b.

PEOPLE = {"P1": "2010-05-17", "P2": "2008-02-29", "P3": "2012-01-31", "P4": "2013-06-01",
          "P5": "2011-11-11", "P6": "2009-09-09", "P7": "2014-03-03", "P8": "2015-07-07"}

# Contacts: (id, person, date, source, outcome JSON, decision date, extracts)
# Working days to decision (WD):
#   K1  Fri 22 Dec -> Wed 27 Dec: 23, 24 weekend, 25, 26 bank holidays, 27 = 1  -> within
#   K2  Fri 22 Dec -> Thu 28 Dec: 27, 28 = 2                                      -> not
#   K3  Fri 29 Dec -> Tue 2 Jan: 30, 31 weekend, 1 Jan bank holiday, 2 Jan = 1    -> within
#   K4  Sun 31 Dec -> Tue 2 Jan: 1 Jan bank holiday, 2 Jan = 1                    -> within
#   K5  Mon 1 Jan (a bank holiday) -> no decision date                            -> not
#   K6  Thu 29 Feb -> Fri 1 Mar = 1                                               -> within
#   K7  Thu 28 Mar -> Tue 2 Apr: Good Friday, weekend, Easter Monday, 2 Apr = 1   -> within
#   K8  31 Mar 2023 (outside the 2024-03 scorecard's window, inside 2024-02's)
#   K9  Mon 3 Apr 2023 -> same day = 0                                            -> within
#   K10 Fri 15 Mar -> Tue 19 Mar: 18, 19 = 2                                      -> not
#   K11 Tue 5 Mar -> same day = 0; no outcome JSON (every flag false)             -> within
#   K12 Wed 15 Nov -> Thu 16 Nov = 1; recorded late: only in the 2024-03 extract  -> within
#   K99 15 Jan 2024, police: in the 2024-02 extract only (deleted by 2024-03)
#   K13 2 Apr 2024, in the 2024-03 extract (taken 3 Apr): April's, in no month shown
# The 2024-02 extract has no cont_contact_decision_date column at all.
CONTACTS = [
    ("K1", "P1", "2023-12-22", "6", {"NEW_REFERRAL_FLAG": "N", "ADVICE_FLAG": "Y"}, "2023-12-27", BOTH),
    ("K2", "P2", "2023-12-22", "6", {"NEW_REFERRAL_FLAG": "No", "ADVICE_FLAG": "Yes",
                                     "COMMENTS": "Mum rang, worried"}, "2023-12-28", BOTH),
    ("K3", "P3", "2023-12-29", "1A", {"NEW_REFERRAL_FLAG": "Y", "NUMBER_OF_OUTCOMES": "1"}, "2024-01-02",
     BOTH),
    ("K4", "P1", "2023-12-31", "5A", {"PRIVATE_FOSTERING_FLAG": "TRUE"}, "2024-01-02", BOTH),
    ("K5", "P4", "2024-01-01", "6", {"NEW_REFERRAL_FLAG": "1", "ADVICE_FLAG": "0"}, "", BOTH),
    ("K6", "P5", "2024-02-29", "6", {"ADVICE_FLAG": "y"}, "2024-03-01", BOTH),
    ("K7", "P5", "2024-03-28", "2A", {"NEW_REFERRAL_FLAG": "Y"}, "2024-04-02", (MAR,)),
    ("K8", "P6", "2023-03-31", "6", {"NFA_FLAG": "Y"}, "2023-03-31", BOTH),
    ("K9", "P6", "2023-04-03", "6", {"NEW_REFERRAL_FLAG": "N"}, "2023-04-03", BOTH),
    ("K10", "P7", "2024-03-15", "6", {"ADVICE_FLAG": "Y"}, "2024-03-19", (MAR,)),
    ("K11", "P8", "2024-03-05", "10", None, "2024-03-05", (MAR,)),
    ("K12", "P2", "2023-11-15", "6", {"ADVICE_FLAG": "Y", "NEW_REFERRAL_FLAG": "Y"}, "2023-11-16", (MAR,)),
    ("K99", "P3", "2024-01-15", "6", {}, "", (FEB,)),
    # dated after the end of March but before the extract date: belongs to April, not shown
    ("K13", "P8", "2024-04-02", "6", {"NEW_REFERRAL_FLAG": "Y"}, "2024-04-02", (MAR,)),
]

# Referrals: (id, person, date, extracts). Re-referral = another referral of the child dated
# on or after 12 months before (same day-of-month, clamped) and strictly before this one.
#   R2  29 Feb 2024; 12 months before = 28 Feb 2023 (clamped); R1 on 28 Feb 2023 -> yes
#   R4  29 Feb 2024; R3 on 27 Feb 2023 is before 28 Feb 2023                    -> no
#   R6  31 Mar 2024; 12 months before = 31 Mar 2023; R5 on that day             -> yes
#   R7, R8 both 10 May 2023 (same child, same day): neither is strictly before  -> no, no
#   R9  1 Jun 2023; R7/R8 on 10 May 2023                                         -> yes
#   R10 20 Nov 2023, first referral of P5; recorded late (2024-03 extract only)  -> no
#   R12 1 Dec 2023; 12 months before = 1 Dec 2022 = R11                          -> yes
#   R5  31 Mar 2023, first referral of P3 (in the 2024-02 scorecard's window)    -> no
REFERRALS = [
    ("R1", "P1", "2023-02-28", BOTH), ("R2", "P1", "2024-02-29", BOTH),
    ("R3", "P2", "2023-02-27", BOTH), ("R4", "P2", "2024-02-29", BOTH),
    ("R5", "P3", "2023-03-31", BOTH), ("R6", "P3", "2024-03-31", (MAR,)),
    ("R7", "P4", "2023-05-10", BOTH), ("R8", "P4", "2023-05-10", BOTH),
    ("R9", "P4", "2023-06-01", BOTH),
    ("R10", "P5", "2023-11-20", (MAR,)),
    ("R11", "P6", "2022-12-01", BOTH), ("R12", "P6", "2023-12-01", BOTH),
]

# Assessments: (id, person, referral, start, authorisation, extracts)
#   A1 start Thu 1 Jun 2023 -> Thu 3 Aug 2023: WD 45 (referral R9 1 Jun: 45)   -> within, within
#   A2 start Thu 1 Jun 2023 -> Fri 4 Aug 2023: WD 46 (referral: 46)            -> not, not
#   A3 start Mon 22 Jan 2024 -> Mon 25 Mar 2024: WD 45; referral R12 1 Dec 2023
#      -> 25 Mar 2024 is far more than 45                                       -> within, not
#   A4 start Fri 1 Dec 2023 -> Wed 7 Feb 2024: WD 45 across Christmas (25, 26 Dec and 1 Jan
#      are not working days; without them it would be 42) (referral same day) -> within, within
#   A5 authorisation 1900-01-01 (SystemC placeholder, read as NULL)             -> not counted
#   A6 start Fri 1 Dec 2023 -> Thu 8 Feb 2024: WD 46                            -> not, not
#   A7 open (no authorisation)                                                  -> not counted
ASSESSMENTS = [
    ("A1", "P4", "R9", "2023-06-01", "2023-08-03", BOTH),
    ("A2", "P4", "R9", "2023-06-01", "2023-08-04", BOTH),
    ("A3", "P6", "R12", "2024-01-22", "2024-03-25", (MAR,)),
    ("A4", "P6", "R12", "2023-12-01", "2024-02-07", BOTH),
    ("A5", "P6", "R12", "2023-12-01", "1900-01-01", BOTH),
    ("A6", "P6", "R12", "2023-12-01", "2024-02-08", BOTH),
    ("A7", "P4", "R9", "2023-06-01", "", BOTH),
]

S47S = [("S1", "P4", "R9", "2023-06-01"), ("S2", "P6", "R12", "2023-12-01")]

# ICPCs: (id, person, s47, referral, date, transfer-in, outcome CP flag)
#   I1 S47 Thu 1 Jun -> Thu 22 Jun 2023: WD 15                       -> within; plan Y
#   I2 S47 Thu 1 Jun -> Fri 23 Jun 2023: WD 16                       -> not; plan N
#   I3 S47 Fri 1 Dec -> Fri 22 Dec 2023: WD 15                       -> within; plan Y
#   I4 S47 Fri 1 Dec -> Wed 27 Dec 2023: WD 16 (25, 26 Dec are bank holidays) -> not; plan Y
#   I5 transfer-in, 28 Dec 2023                                      -> out of both measures
#   I6 Wed 3 Jan 2024, outcome empty: WD 21                          -> not; no plan
ICPCS = [
    ("I1", "P4", "S1", "R9", "2023-06-22", "N", "Y"),
    ("I2", "P4", "S1", "R9", "2023-06-23", "N", "N"),
    ("I3", "P6", "S2", "R12", "2023-12-22", "N", "Y"),
    ("I4", "P6", "S2", "R12", "2023-12-27", "", "Y"),
    ("I5", "P6", "S2", "R12", "2023-12-28", "Y", "Y"),
    ("I6", "P6", "S2", "R12", "2024-01-03", "N", ""),
]

CP_PLANS = [("CPP1", "P4", "R9", "I1", "2023-06-22", "NEG"), ("CPP2", "P6", "R12", "I3", "2023-12-22", "PHY")]

# CP reviews, only in the 2024-02 extract (the 2024-03 extract has no ssd_cp_reviews file):
#   V1 held on its due date 14 Sep 2023 -> on time;  V2 a day late (Dec 2023) -> not;
#   V3 held 20 Feb 2024, due 15 Mar 2024 -> on time; V4 no due date (Feb 2024) -> not on time.
CP_REVIEWS = [
    ("V1", "P4", "CPP1", "2023-09-14", "2023-09-14"),
    ("V2", "P4", "CPP1", "2023-12-14", "2023-12-15"),
    ("V3", "P6", "CPP2", "2024-03-15", "2024-02-20"),
    ("V4", "P6", "CPP2", "", "2024-02-21"),
]


def person_id(child: str) -> str:
    return f"pid-{child}"


def extract_rows(month: str) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {t.name: [] for t in TABLES}
    for pid, dob in PEOPLE.items():
        rows["ssd_person"].append({"pers_person_id": person_id(pid), "pers_sex": "F",
                                   "pers_ethnicity": "WBRI",
                                   "pers_dob": dob, "pers_forename": "Name" + pid})
    for cid, pid, day, source, outcome, decision, months in CONTACTS:
        if month in months:
            row = {"cont_contact_id": cid, "cont_person_id": person_id(pid), "cont_contact_date": day,
                   "cont_contact_source_code": source,
                   "cont_contact_outcome_json": json.dumps(outcome) if outcome is not None else ""}
            if month == MAR:  # the decision-date extension column only in the 2024-03 extract
                row["cont_contact_decision_date"] = decision
            rows["ssd_contacts"].append(row)
    for rid, pid, day, months in REFERRALS:
        if month in months:
            rows["ssd_cin_episodes"].append({"cine_referral_id": rid, "cine_person_id": person_id(pid),
                                             "cine_referral_date": day, "cine_referral_source_code": "6"})
    for aid, pid, rid, start, auth, months in ASSESSMENTS:
        if month in months:
            rows["ssd_cin_assessments"].append({
                "cina_assessment_id": aid, "cina_person_id": person_id(pid), "cina_referral_id": rid,
                "cina_assessment_start_date": start, "cina_assessment_auth_date": auth,
                "cina_assessment_child_seen": "Y"})
    for sid, pid, rid, start in S47S:
        rows["ssd_s47_enquiry"].append({"s47e_s47_enquiry_id": sid, "s47e_person_id": person_id(pid),
                                        "s47e_referral_id": rid, "s47e_s47_start_date": start})
    for iid, pid, sid, rid, day, transfer, outcome in ICPCS:
        rows["ssd_initial_cp_conference"].append({
            "icpc_icpc_id": iid, "icpc_person_id": person_id(pid), "icpc_s47_enquiry_id": sid,
            "icpc_referral_id": rid,
            "icpc_icpc_date": day, "icpc_icpc_transfer_in": transfer, "icpc_icpc_outcome_cp_flag": outcome})
    for plid, pid, rid, iid, start, category in CP_PLANS:
        rows["ssd_cp_plans"].append({"cppl_cp_plan_id": plid, "cppl_person_id": person_id(pid),
                                     "cppl_referral_id": rid,
                                     "cppl_icpc_id": iid, "cppl_cp_plan_start_date": start,
                                     "cppl_cp_plan_initial_category": category})
    if month == FEB:
        for vid, pid, plid, due, held in CP_REVIEWS:
            rows["ssd_cp_reviews"].append({"cppr_cp_review_id": vid, "cppr_person_id": person_id(pid),
                                           "cppr_cp_plan_id": plid, "cppr_cp_review_due": due,
                                           "cppr_cp_review_date": held})
    else:
        del rows["ssd_cp_reviews"]  # the optional table is absent from the 2024-03 extract
    return rows


def write_extract(root: Path, month: str) -> Path:
    folder = root / month
    folder.mkdir(parents=True)
    for table in TABLES:
        data = extract_rows(month)
        if table.name not in data:
            continue
        header = [c.name for c in table.columns if not c.optional]
        for row in data[table.name]:
            header += [k for k in row if k not in header]
        with (folder / table.file_name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=header, restval="")
            writer.writeheader()
            writer.writerows(data[table.name])
    return folder


# --------------------------------------------------------------------------------------------
# Expected figures. value, numerator, denominator, availability per (measure, month); months
# not listed have no events: counts 0, percentages 0/0 -> 'no_data'.

COUNTS = ("contacts", "police_contacts", "police_contacts_advice", "private_fostering")
MEASURES = (
    "contacts", "contacts_to_referral_pct", "contacts_decided_1wd_pct", "police_contacts",
    "police_contacts_pct", "police_contacts_advice", "police_contacts_advice_pct", "private_fostering",
    "rereferrals_12m_pct", "assessments_45wd_pct", "assessments_45wd_from_referral_pct", "icpc_15wd_pct",
    "icpc_to_cp_plan_pct", "cp_reviews_on_time_pct",
)


def pct(numerator: int, denominator: int) -> tuple:
    return (round(100.0 * numerator / denominator, 1), numerator, denominator, "available")


def count(n: int) -> tuple:
    return (float(n), n, None, "available")


def months_to(month: str) -> list[str]:
    year, mon = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(12):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return sorted(out)


# Scorecard built from extract 2024-03 (months 2023-04 .. 2024-03).
EXPECTED_MAR = {
    # Apr 2023: K9 (police, no referral, no advice, decided same day)
    ("contacts", "2023-04"): count(1),
    ("contacts_to_referral_pct", "2023-04"): pct(0, 1),
    ("contacts_decided_1wd_pct", "2023-04"): pct(1, 1),
    ("police_contacts", "2023-04"): count(1),
    ("police_contacts_pct", "2023-04"): pct(1, 1),
    ("police_contacts_advice_pct", "2023-04"): pct(0, 1),
    # Nov 2023: K12, recorded late, counts in its own month
    ("contacts", "2023-11"): count(1),
    ("contacts_to_referral_pct", "2023-11"): pct(1, 1),
    ("contacts_decided_1wd_pct", "2023-11"): pct(1, 1),
    ("police_contacts", "2023-11"): count(1),
    ("police_contacts_pct", "2023-11"): pct(1, 1),
    ("police_contacts_advice", "2023-11"): count(1),
    ("police_contacts_advice_pct", "2023-11"): pct(1, 1),
    # Dec 2023: K1 K2 K3 K4 (K4 on Sunday 31 Dec still counts in December)
    ("contacts", "2023-12"): count(4),
    ("contacts_to_referral_pct", "2023-12"): pct(1, 4),  # K3 -> 25.0
    ("contacts_decided_1wd_pct", "2023-12"): pct(3, 4),  # K1 K3 K4 -> 75.0
    ("police_contacts", "2023-12"): count(2),  # K1 K2
    ("police_contacts_pct", "2023-12"): pct(2, 4),  # 50.0
    ("police_contacts_advice", "2023-12"): count(2),  # Y and Yes
    ("police_contacts_advice_pct", "2023-12"): pct(2, 2),  # 100.0
    ("private_fostering", "2023-12"): count(1),  # K4 TRUE
    # Jan 2024: K5 ("1" -> referral, "0" -> no advice, no decision date); K99 deleted
    ("contacts", "2024-01"): count(1),
    ("contacts_to_referral_pct", "2024-01"): pct(1, 1),
    ("contacts_decided_1wd_pct", "2024-01"): pct(0, 1),
    ("police_contacts", "2024-01"): count(1),
    ("police_contacts_pct", "2024-01"): pct(1, 1),
    ("police_contacts_advice_pct", "2024-01"): pct(0, 1),
    # Feb 2024: K6 on 29 Feb
    ("contacts", "2024-02"): count(1),
    ("contacts_to_referral_pct", "2024-02"): pct(0, 1),
    ("contacts_decided_1wd_pct", "2024-02"): pct(1, 1),
    ("police_contacts", "2024-02"): count(1),
    ("police_contacts_pct", "2024-02"): pct(1, 1),
    ("police_contacts_advice", "2024-02"): count(1),
    ("police_contacts_advice_pct", "2024-02"): pct(1, 1),
    # Mar 2024: K7 (referral, within over Easter), K10 (police advice, 2 WD), K11 (no JSON)
    ("contacts", "2024-03"): count(3),
    ("contacts_to_referral_pct", "2024-03"): pct(1, 3),  # 33.3
    ("contacts_decided_1wd_pct", "2024-03"): pct(2, 3),  # 66.7
    ("police_contacts", "2024-03"): count(1),
    ("police_contacts_pct", "2024-03"): pct(1, 3),  # 33.3
    ("police_contacts_advice", "2024-03"): count(1),
    ("police_contacts_advice_pct", "2024-03"): pct(1, 1),
    # re-referrals: May R7 R8 (0/2), Jun R9 (1/1), Nov R10 late (0/1), Dec R12 (1/1),
    # Feb R2 yes R4 no (1/2), Mar R6 (1/1)
    ("rereferrals_12m_pct", "2023-05"): pct(0, 2),
    ("rereferrals_12m_pct", "2023-06"): pct(1, 1),
    ("rereferrals_12m_pct", "2023-11"): pct(0, 1),
    ("rereferrals_12m_pct", "2023-12"): pct(1, 1),
    ("rereferrals_12m_pct", "2024-02"): pct(1, 2),
    ("rereferrals_12m_pct", "2024-03"): pct(1, 1),
    # assessments by authorisation month: Aug A1 yes A2 no; Feb A4 yes A6 no; Mar A3 yes / no
    ("assessments_45wd_pct", "2023-08"): pct(1, 2),
    ("assessments_45wd_from_referral_pct", "2023-08"): pct(1, 2),
    ("assessments_45wd_pct", "2024-02"): pct(1, 2),
    ("assessments_45wd_from_referral_pct", "2024-02"): pct(1, 2),
    ("assessments_45wd_pct", "2024-03"): pct(1, 1),
    ("assessments_45wd_from_referral_pct", "2024-03"): pct(0, 1),
    # ICPCs: Jun I1 I2; Dec I3 I4 (I5 transfer-in out); Jan I6
    ("icpc_15wd_pct", "2023-06"): pct(1, 2),
    ("icpc_to_cp_plan_pct", "2023-06"): pct(1, 2),
    ("icpc_15wd_pct", "2023-12"): pct(1, 2),
    ("icpc_to_cp_plan_pct", "2023-12"): pct(2, 2),
    ("icpc_15wd_pct", "2024-01"): pct(0, 1),
    ("icpc_to_cp_plan_pct", "2024-01"): pct(0, 1),
}
# no ssd_cp_reviews in the 2024-03 extract: not available in every month
NOT_AVAILABLE = (None, None, None, "not_available")
EXPECTED_MAR.update({("cp_reviews_on_time_pct", m): NOT_AVAILABLE for m in months_to(MAR)})

# Scorecard built from extract 2024-02 (months 2023-03 .. 2024-02): no decision-date column,
# ssd_cp_reviews present; K7 K10 K11 K12, R6 R10 and A3 are not in it yet; K99 is.
EXPECTED_FEB = {
    ("contacts", "2023-03"): count(1),  # K8
    ("contacts_to_referral_pct", "2023-03"): pct(0, 1),
    ("police_contacts", "2023-03"): count(1),
    ("police_contacts_pct", "2023-03"): pct(1, 1),
    ("police_contacts_advice_pct", "2023-03"): pct(0, 1),
    ("contacts", "2023-04"): count(1),  # K9
    ("contacts_to_referral_pct", "2023-04"): pct(0, 1),
    ("police_contacts", "2023-04"): count(1),
    ("police_contacts_pct", "2023-04"): pct(1, 1),
    ("police_contacts_advice_pct", "2023-04"): pct(0, 1),
    ("contacts", "2023-12"): count(4),
    ("contacts_to_referral_pct", "2023-12"): pct(1, 4),
    ("police_contacts", "2023-12"): count(2),
    ("police_contacts_pct", "2023-12"): pct(2, 4),
    ("police_contacts_advice", "2023-12"): count(2),
    ("police_contacts_advice_pct", "2023-12"): pct(2, 2),
    ("private_fostering", "2023-12"): count(1),
    ("contacts", "2024-01"): count(2),  # K5 and K99 (police, empty outcome)
    ("contacts_to_referral_pct", "2024-01"): pct(1, 2),
    ("police_contacts", "2024-01"): count(2),
    ("police_contacts_pct", "2024-01"): pct(2, 2),
    ("police_contacts_advice_pct", "2024-01"): pct(0, 2),
    ("contacts", "2024-02"): count(1),
    ("contacts_to_referral_pct", "2024-02"): pct(0, 1),
    ("police_contacts", "2024-02"): count(1),
    ("police_contacts_pct", "2024-02"): pct(1, 1),
    ("police_contacts_advice", "2024-02"): count(1),
    ("police_contacts_advice_pct", "2024-02"): pct(1, 1),
    # re-referrals: Mar 2023 R5 (first of P3) 0/1; May 0/2; Jun 1/1; Dec 1/1; Feb 1/2
    ("rereferrals_12m_pct", "2023-03"): pct(0, 1),
    ("rereferrals_12m_pct", "2023-05"): pct(0, 2),
    ("rereferrals_12m_pct", "2023-06"): pct(1, 1),
    ("rereferrals_12m_pct", "2023-12"): pct(1, 1),
    ("rereferrals_12m_pct", "2024-02"): pct(1, 2),
    ("assessments_45wd_pct", "2023-08"): pct(1, 2),
    ("assessments_45wd_from_referral_pct", "2023-08"): pct(1, 2),
    ("assessments_45wd_pct", "2024-02"): pct(1, 2),
    ("assessments_45wd_from_referral_pct", "2024-02"): pct(1, 2),
    ("icpc_15wd_pct", "2023-06"): pct(1, 2),
    ("icpc_to_cp_plan_pct", "2023-06"): pct(1, 2),
    ("icpc_15wd_pct", "2023-12"): pct(1, 2),
    ("icpc_to_cp_plan_pct", "2023-12"): pct(2, 2),
    ("icpc_15wd_pct", "2024-01"): pct(0, 1),
    ("icpc_to_cp_plan_pct", "2024-01"): pct(0, 1),
    # CP reviews: Sep V1 (1/1), Dec V2 (0/1), Feb V3 yes V4 no (1/2)
    ("cp_reviews_on_time_pct", "2023-09"): pct(1, 1),
    ("cp_reviews_on_time_pct", "2023-12"): pct(0, 1),
    ("cp_reviews_on_time_pct", "2024-02"): pct(1, 2),
}
# the 2024-02 extract has no decision-date column: not available in every month
EXPECTED_FEB.update({("contacts_decided_1wd_pct", m): NOT_AVAILABLE for m in months_to(FEB)})


def expected_rows(expected: dict, month: str) -> dict[tuple[str, str], tuple]:
    out = {}
    for measure in MEASURES:
        for m in months_to(month):
            default = count(0) if measure in COUNTS else (None, 0, 0, "no_data")
            out[(measure, m)] = expected.get((measure, m), default)
    return out


# --------------------------------------------------------------------------------------------
# Build


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("dbt_project")
    db = work / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        for month in (FEB, MAR):
            folder = write_extract(work / "extracts", month)
            result = load_extract(con, folder, date.fromisoformat(f"{month}-01"), today=EXTRACT_DATES[month])
            quarantined = con.execute(
                "select table_name, row_number, rule, message from raw.quarantine where extract_month = ?",
                [date.fromisoformat(f"{month}-01")]).fetchall()
            assert not quarantined, quarantined
            assert result.features["ssd_cp_reviews"] is (month == FEB)
    scorecards = {}
    for month in (MAR, FEB):  # 2024-02 last: its marts are the ones left in the file
        # unit tests do not depend on the data: run them once
        run_dbt(["build"] if month == MAR else ["build", "--exclude", "test_type:unit"], work, db, month)
        with duckdb.connect(str(db), read_only=True) as con:
            scorecards[month] = scorecard(con)
            if month == MAR:
                scorecards["columns"] = columns_by_relation(con)
    run_dbt(["docs", "generate", "--no-compile"], work, db, FEB)  # the catalog query works on the warehouse
    return {"db": db, **scorecards}


def scorecard(con) -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        "select measure_id, strftime(month, '%Y-%m'), value, numerator, denominator, availability"
        " from main.fct_scorecard").fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def columns_by_relation(con) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema in ('main', 'staging', 'intermediate') order by table_name, ordinal_position"
    ).fetchall():
        out.setdefault(table, []).append(column)
    return out


@pytest.mark.parametrize("measure", MEASURES)
def test_scorecard_2024_03(warehouse, measure):
    expected = {k: v for k, v in expected_rows(EXPECTED_MAR, MAR).items() if k[0] == measure}
    actual = {k: v for k, v in warehouse[MAR].items() if k[0] == measure}
    assert actual == expected


@pytest.mark.parametrize("measure", MEASURES)
def test_scorecard_2024_02_restated_by_the_next_extract(warehouse, measure):
    expected = {k: v for k, v in expected_rows(EXPECTED_FEB, FEB).items() if k[0] == measure}
    actual = {k: v for k, v in warehouse[FEB].items() if k[0] == measure}
    assert actual == expected


def test_scorecard_has_every_measure_for_twelve_months(warehouse):
    measures = {r["measure_id"] for r in csv.DictReader((REPO_ROOT / "seeds" / "measures.csv").open())}
    assert set(warehouse[MAR]) == {(m, month) for m in measures for month in months_to(MAR)}


def test_every_built_column_is_documented(warehouse, manifest):
    models = _models(manifest)
    mismatched = {}
    for name, columns in warehouse["columns"].items():
        if name not in models:
            continue
        documented = set(models[name]["columns"])
        if set(columns) != documented:
            mismatched[name] = {"undocumented": sorted(set(columns) - documented),
                                "documented but not built": sorted(documented - set(columns))}
    assert not mismatched, mismatched


def test_marts_hold_no_person_ids_or_free_text(warehouse):
    with duckdb.connect(str(warehouse["db"]), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()]
        for table in tables:
            rows = con.execute(f'select * from main."{table}"').fetchall()
            text = " ".join(str(v) for row in rows for v in row)
            for secret in ("pid-", "NameP", "Mum rang", "2010-05-17"):
                assert secret not in text, (table, secret)


def test_every_published_table_and_column_is_described(warehouse, manifest):
    """What the analysts' warehouse publishes (every relation dbt builds in schema main, copied
    with its comments by the publish step) is described: each model and each built column has a
    non-empty description in its yml (the manifest), persist_docs writes them as comments, and
    the built relations carry them."""
    models = _models(manifest)
    with duckdb.connect(str(warehouse["db"]), read_only=True) as con:
        tables = con.execute("select table_name, comment from duckdb_tables()"
            " where database_name = current_database() and schema_name = 'main' and not internal").fetchall()
        columns = con.execute(
            "select table_name, column_name, comment from duckdb_columns()"
            " where database_name = current_database() and schema_name = 'main' and not internal").fetchall()
    published = {table for table, _ in tables}
    assert {"fct_scorecard", "fct_scorecard_members", "fct_scorecard_status", "dim_code", "dim_measure"} <= published
    for table in published:
        node = models[table]
        assert node["description"].strip(), table
        assert node["config"]["persist_docs"] == {"relation": True, "columns": True}, table
    undescribed = [f"{t}.{c}" for t, c, _ in columns
                   if not models[t]["columns"].get(c, {}).get("description", "").strip()]
    assert not undescribed, undescribed
    assert not [t for t, comment in tables if not (comment or "").strip()]
    assert not [f"{t}.{c}" for t, c, comment in columns if not (comment or "").strip()]


def test_scorecard_members_and_status_on_the_hand_made_extracts(warehouse):
    """The 2024-02 build: the records behind figures worked out by hand above, and the status."""
    with duckdb.connect(str(warehouse["db"]), read_only=True) as con:
        members = {}
        for measure, month, part, key, start, end, wd in con.execute(
            "select measure_id, strftime(month, '%Y-%m'), part, record_key, start_date, end_date, working_days"
            " from main.fct_scorecard_members"
        ).fetchall():
            members.setdefault((measure, month, part), {})[key] = (start, end, wd)
        status = {(r[0], r[1]): r[2:] for r in con.execute(
            "select measure_id, strftime(month, '%Y-%m'), value, target, rag_status, previous_month_value,"
            " direction_vs_previous_month from main.fct_scorecard_status").fetchall()}
    # Dec 2023 contacts K1 K2 K3 K4; K99 (January) is not December's
    assert set(members[("contacts", "2023-12", "numerator")]) == {"K1", "K2", "K3", "K4"}
    assert set(members[("police_contacts_advice_pct", "2023-12", "denominator")]) == {"K1", "K2"}
    # Feb 2024 assessments: A4 within 45 WD across Christmas, A6 46 WD
    assert members[("assessments_45wd_pct", "2024-02", "denominator")] == {
        "A4": (date(2023, 12, 1), date(2024, 2, 7), 45), "A6": (date(2023, 12, 1), date(2024, 2, 8), 46)}
    assert set(members[("assessments_45wd_pct", "2024-02", "numerator")]) == {"A4"}
    # Dec 2023 ICPCs: I3 (15 WD) within, I4 (16 WD) not, I5 transfer-in in neither list
    assert members[("icpc_15wd_pct", "2023-12", "denominator")] == {
        "I3": (date(2023, 12, 1), date(2023, 12, 22), 15), "I4": (date(2023, 12, 1), date(2023, 12, 27), 16)}
    # re-referrals of February 2024: R2 (previous R1 on 28 Feb 2023) and R4 (R3 too early)
    assert members[("rereferrals_12m_pct", "2024-02", "denominator")] == {
        "R2": (date(2023, 2, 28), date(2024, 2, 29), None), "R4": (date(2023, 2, 27), date(2024, 2, 29), None)}
    assert set(members[("rereferrals_12m_pct", "2024-02", "numerator")]) == {"R2"}
    # no decision-date column in the 2024-02 extract: nothing listed for the figure not available
    assert not [k for k in members if k[0] == "contacts_decided_1wd_pct"]
    # the shipped target of icpc_15wd_pct (seeds/measure_targets.csv) is 81.4, High: Jan 2024 0/1
    # -> 0.0 is red and worse than December's 50.0; December is red, and November has no figure
    # (0/0, no data) -> no direction
    assert status[("icpc_15wd_pct", "2024-01")] == (0.0, 81.4, "red", 50.0, "worse")
    assert status[("icpc_15wd_pct", "2023-12")] == (50.0, 81.4, "red", None, None)
    assert status[("contacts", "2024-02")] == (1.0, None, None, 2.0, "better")  # Low: fewer contacts
    assert status[("contacts", "2023-12")][2:] == (None, 0.0, "worse")  # no target; 0 -> 4 contacts
