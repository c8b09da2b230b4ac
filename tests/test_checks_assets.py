"""The quality gate as Dagster asset checks: specs, severities, fail-closed, sign-offs in metadata."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
import pytest

from dagster_project.checks import assets as A
from dagster_project.checks.policy import DEFAULT_POLICY, load_policy
from dagster_project.checks.results import FAILED, PASSED, SIGNED_OFF, WARN, Evaluation, Finding
from dagster_project.checks.signoff import record_signoff
from dagster_project.contract import TABLES
from dagster_project.resources import WarehouseResource
from tests import checks_warehouse as T

DEC = date(2023, 12, 1)
POLICY = load_policy(DEFAULT_POLICY)
RHI = [(64, 150), (58, 148), (70, 152), (66, 149), (60, 151), (63, 150), (55, 147), (69, 155), (56, 150),
       (65, 149), (59, 150), (125, 150)]  # fmt: skip


def keys(specs):
    return {(s.asset_key.to_user_string(), s.name) for s in specs}


def test_specs_cover_every_raw_table_and_the_scorecard():
    raw = keys(A.RAW_SPECS)
    for t in TABLES:
        for family in ("gx_suite", "volume_drift", "quarantine_rate", "load_reconciliation"):
            assert (f"raw/{t.name}", family) in raw
    assert {("raw/ssd_contacts", "freshness"), ("raw/extracts", "freshness")} <= raw
    score = keys(A.SCORECARD_SPECS)
    for family in ("completeness", "bounds", "consistency", "history", "restatement"):
        assert ("fct_scorecard", family) in score
    assert ("fct_contacts", "reconciliation") in score
    assert all(s.blocking for s in A.RAW_SPECS + A.SCORECARD_SPECS)


def test_the_monthly_job_runs_the_gate():
    from dagster_project.definitions import MONTHLY_JOB, defs

    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def(MONTHLY_JOB)
    checks = {(k.asset_key.to_user_string(), k.name) for k in job.asset_layer.asset_graph.asset_check_keys}
    assert ("fct_scorecard", "history") in checks
    assert ("raw/ssd_contacts", "gx_suite") in checks


def spec(name="history", asset="fct_scorecard"):
    return dg.AssetCheckSpec(name, asset=dg.AssetKey(asset.split("/")), blocking=True)


def ev(status, severity="hold", subject="rhi_accepted_pct", signoff=None):
    from dagster_project.checks.policy import Severity

    f = Finding(
        "history",
        subject,
        status == PASSED,
        f"{subject}: 83.3% (125/150) vs 42.0%",
        {"value": 83.3, "numerator": 125, "denominator": 150},
        asset_key="fct_scorecard",
    )
    return Evaluation(f, Severity(severity), status, signoff)


def test_failed_holds_and_errors_are_error_severity_failures():
    r = A.check_result(spec(), [ev(PASSED, subject="contacts"), ev(FAILED)], 0.1)
    assert not r.passed and r.severity == dg.AssetCheckSeverity.ERROR
    assert "history.rhi_accepted_pct [hold, failed]: rhi_accepted_pct: 83.3% (125/150)" in r.description
    assert r.metadata["failed"].value == 1 and r.metadata["passed"].value == 1
    assert r.metadata["evidence"].value["history.rhi_accepted_pct"]["numerator"] == 125


def test_warnings_do_not_block():
    r = A.check_result(spec(), [ev(WARN, severity="warn")], 0.1)
    assert not r.passed and r.severity == dg.AssetCheckSeverity.WARN


def test_a_signed_off_hold_passes_with_the_signoff_in_its_metadata():
    from datetime import datetime

    from dagster_project.checks.results import SignOff

    s = SignOff(
        DEC, "history.rhi_accepted_pct", "Jo Bloggs", "new RHI provider", datetime(2024, 1, 8, 10, 30)
    )
    r = A.check_result(spec(), [ev(SIGNED_OFF, signoff=s)], 0.1)
    assert r.passed
    assert r.metadata["signoff history.rhi_accepted_pct"].value.startswith("signed off by Jo Bloggs")
    assert r.metadata["flags"].value[0]["signed_off_by"] == "Jo Bloggs"
    # a single check id's figures are first-class metadata
    assert r.metadata["numerator"].value == 125


def test_a_check_that_cannot_run_fails_closed(tmp_path):
    def broken(con, month, policy):
        return [("history", "fct_scorecard", lambda: 1 / 0), ("bounds", "fct_scorecard", lambda: [])]

    wh = WarehouseResource(home=str(tmp_path), extracts_dir=str(tmp_path))
    evals, _, _ = A.run_gate(wh, DEC, "run-x", broken, POLICY)
    results = {r.check_name: r for r in A.results_for_specs([spec("history"), spec("bounds")], evals, {})}
    assert not results["history"].passed and results["history"].severity == dg.AssetCheckSeverity.ERROR
    assert "could not run: ZeroDivisionError" in results["history"].description
    assert results["bounds"].passed


@pytest.fixture
def home(tmp_path):
    wh = WarehouseResource(home=str(tmp_path / "home"), extracts_dir=str(tmp_path))
    wh.paths.private_dir.mkdir(parents=True)
    con = T.make_warehouse(wh.paths.work_db)
    T.build_consistent(con, DEC)
    con.close()
    return wh


def test_scorecard_gate_on_a_clean_month(home):
    evals, seconds, problem = A.run_gate(home, DEC, "run-1", A._scorecard_families, POLICY)
    assert problem is None
    assert {e.status for e in evals} == {PASSED}
    results = list(A.results_for_specs(A.SCORECARD_SPECS, evals, seconds))
    assert len(results) == len(A.SCORECARD_SPECS) and all(r.passed for r in results)
    con = duckdb.connect(str(home.paths.work_db))
    stored = con.execute("select count(*), count(distinct run_id) from quality.check_results").fetchone()
    con.close()
    assert stored == (len(evals), 1)
    assert (home.paths.work_month_dir(DEC) / "quality_report.html").exists()


def test_scorecard_gate_holds_then_a_signoff_releases(home):
    con = duckdb.connect(str(home.paths.work_db))
    T.fill_scorecard(con, DEC, {"rhi_accepted_pct": RHI})
    con.close()
    evals, seconds, _ = A.run_gate(home, DEC, "run-1", A._scorecard_families, POLICY)
    blocked = {e.check_id for e in evals if e.blocks}
    assert blocked == {"history.rhi_accepted_pct"}
    history = next(
        r for r in A.results_for_specs(A.SCORECARD_SPECS, evals, seconds) if r.check_name == "history"
    )
    assert not history.passed and "83.3% (125/150)" in history.description
    lines = [line for _, line in A.flag_lines("2023-12", evals, home.home)]
    assert any(
        "BLOCKED by history.rhi_accepted_pct" in x
        and "if the data is wrong, fix it at source, then send the extract again" in x
        and f"csc-warehouse signoff --home {home.home} --month 2023-12 --check history.rhi_accepted_pct" in x
        for x in lines
    )
    con = duckdb.connect(str(home.paths.work_db))
    record_signoff(con, POLICY, DEC, "history.rhi_accepted_pct", "Jo Bloggs", "new RHI provider confirmed")
    con.close()
    evals, seconds, _ = A.run_gate(home, DEC, "run-2", A._scorecard_families, POLICY)
    assert not any(e.blocks for e in evals)
    history = next(
        r for r in A.results_for_specs(A.SCORECARD_SPECS, evals, seconds) if r.check_name == "history"
    )
    assert history.passed and "signed off by Jo Bloggs" in history.description


def test_a_held_quarantine_says_fix_the_worklist_rows_first():
    """Rows quarantined beyond the usual are data to fix at source: the worklist lists them; a
    sign-off publishes without them, and the line says so."""
    from dagster_project.checks.policy import Severity

    held = Finding("quarantine_rate", "ssd_contacts", False, "ssd_contacts: 11,083 of 221,664 rows quarantined",
                   asset_key="raw/ssd_contacts")  # fmt: skip
    [(level, line)] = [x for x in A.flag_lines("2023-12", [Evaluation(held, Severity.HOLD, FAILED)], "/srv/csc")
                       if x[0] == "error"]
    assert line.startswith("[2023-12] quality: BLOCKED by quarantine_rate.ssd_contacts")
    assert "csc-warehouse worklist --home /srv/csc --month 2023-12: fix them at source, then send the extract again" \
        in line
    assert "--force" in line and "they stay out of every figure" in line
    assert line.index("worklist") < line.index("csc-warehouse signoff --home /srv/csc --month 2023-12")


def test_a_finding_without_a_spec_of_its_own_still_blocks():
    from dagster_project.checks.policy import Severity

    orphan = Finding("freshness", "ssd_missing", False, "ssd_missing: newest episode 40 days old",
                     asset_key="raw/ssd_missing")  # fmt: skip
    specs = [spec("freshness", "raw/extracts"), spec("freshness", "raw/ssd_contacts")]
    results = list(A.results_for_specs(specs, [Evaluation(orphan, Severity.HOLD, FAILED)], {}))
    assert not results[0].passed and "ssd_missing: newest episode 40 days old" in results[0].description
    assert results[1].passed


def test_a_crash_in_one_table_fails_that_table_and_an_unknown_family_still_blocks():
    from dagster_project.checks.policy import Severity

    crash = Finding(
        "gx_suite", A.CRASHED, False, "gx_suite could not run: boom", asset_key="raw/ssd_contacts"
    )
    lost = Finding("nowhere", A.CRASHED, False, "nowhere could not run: boom", asset_key="raw/nothing")
    specs = [spec("gx_suite", "raw/ssd_person"), spec("gx_suite", "raw/ssd_contacts")]
    evals = [Evaluation(crash, Severity.ERROR, FAILED), Evaluation(lost, Severity.ERROR, FAILED)]
    person, contacts = A.results_for_specs(specs, evals, {})
    assert not contacts.passed and "gx_suite could not run" in contacts.description
    assert not person.passed and "nowhere could not run" in person.description
