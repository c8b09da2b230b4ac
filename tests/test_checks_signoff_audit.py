"""Sign-offs turn a hold into a pass; the audit trail answers "what did we publish?"; the quality
report shows every flag with its figures."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import duckdb
import pytest

from dagster_project.checks import families as pl
from dagster_project.checks.policy import DEFAULT_POLICY, load_policy
from dagster_project.checks.report import read_dbt_tests, write_quality_report
from dagster_project.checks.results import FAILED, PASSED, SIGNED_OFF, evaluate, store_evaluations
from dagster_project.checks.signoff import SignOffRefused, record_signoff, signoffs_for_month
from dagster_project.cli.signoff import signoff
from dagster_project.publish.audit import (
    copy_audit_tables,
    create_figure_notes,
    forget_run,
    published_as_of,
    record_published_figures,
    restatements,
    signoffs,
)
from dagster_project.settings import HomePaths
from tests import checks_warehouse as T
from tests.pipeline_helpers import cli

DEC = date(2023, 12, 1)
NOV = date(2023, 11, 1)
POLICY = load_policy(DEFAULT_POLICY)
RHI = [*T.RHI_HISTORY, T.RHI_JUMP]  # 83 % in December: the history check's jump


def run_history(con, run_id):
    evals = evaluate(pl.history(con, DEC, POLICY), POLICY, signoffs_for_month(con, DEC))
    store_evaluations(con, DEC, evals, run_id)
    return {e.check_id: e for e in evals}


@pytest.fixture
def held(tmp_path):
    """A December whose return-home-interview rate jumped from ~41 % to 83 %: held by history."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.build_consistent(con, DEC)
    T.fill_scorecard(con, DEC, {"rhi_accepted_pct": RHI})
    yield con
    con.close()


def test_signoff_turns_a_hold_into_a_pass(held):
    first = run_history(held, "run-1")["history.rhi_accepted_pct"]
    assert first.status == FAILED and first.blocks
    s = record_signoff(
        held,
        POLICY,
        DEC,
        "history.rhi_accepted_pct",
        "Jo Bloggs",
        "Missing team confirmed: new RHI provider from December",
        at=datetime(2024, 1, 8, 10, 30),
    )
    assert s.summary == first.finding.summary  # the figures that were signed off
    assert s.evidence["value"] == pytest.approx(83.3, abs=0.01)  # the figure as published
    second = run_history(held, "run-2")["history.rhi_accepted_pct"]
    assert second.status == SIGNED_OFF and not second.blocks
    assert second.signoff.signed_by == "Jo Bloggs"
    assert "signed off by Jo Bloggs on 2024-01-08 10:30 UTC" in second.line()
    # the sign-off is for that month and check only
    assert run_history(held, "run-2b")["history.contacts"].status == PASSED
    [row] = signoffs(held, DEC)
    assert (row["check_id"], row["signed_by"], row["evaluated_run_id"]) == (
        "history.rhi_accepted_pct",
        "Jo Bloggs",
        "run-1",
    )


def test_signoff_accepts_the_dagster_spelling(held):
    run_history(held, "run-1")
    s = record_signoff(held, POLICY, DEC, "history__rhi_accepted_pct", "Jo Bloggs", "confirmed with the team")
    assert s.check_id == "history.rhi_accepted_pct"


@pytest.mark.parametrize(
    "check, by, reason, message",
    [
        ("bounds.rhi_accepted_pct", "Jo", "because it is fine", "error check"),
        ("history.contacts", "Jo", "because it is fine", "passed in its latest evaluation"),
        ("restatement.contacts", "Jo", "because it is fine", "has not been evaluated"),
        ("history.rhi_accepted_pct", " ", "because it is fine", "--by must name"),
        ("history.rhi_accepted_pct", "Jo", "ok", "--reason must say why"),
        ("history", "Jo", "because it is fine", "not a check id"),
        ("nonsense.x", "Jo", "because it is fine", "unknown check"),
    ],
)
def test_signoff_refusals(held, check, by, reason, message):
    run_history(held, "run-1")
    with pytest.raises(SignOffRefused, match=message):
        record_signoff(held, POLICY, DEC, check, by, reason)
    assert signoffs(held) == []


def test_refusal_names_the_blocking_checks(held):
    run_history(held, "run-1")
    with pytest.raises(SignOffRefused, match=r"checks blocking 2023-12: history.rhi_accepted_pct \(hold\)"):
        record_signoff(held, POLICY, DEC, "history.contacts", "Jo", "because it is fine")


def test_warn_checks_need_no_signoff(tmp_path, held, monkeypatch):
    policy = tmp_path / "p.yml"
    policy.write_text(
        DEFAULT_POLICY.read_text().replace("  history:\n    severity: hold", "  history:\n    severity: warn")
    )
    with pytest.raises(SignOffRefused, match="warn check"):
        record_signoff(held, load_policy(policy), DEC, "history.rhi_accepted_pct", "Jo", "because it is fine")


def test_cli_signoff_records_in_the_home_warehouse(tmp_path):
    paths = HomePaths(tmp_path / "home")
    paths.private_dir.mkdir(parents=True)
    con = T.make_warehouse(paths.work_db)
    T.build_consistent(con, DEC)
    T.fill_scorecard(con, DEC, {"rhi_accepted_pct": RHI})
    run_history(con, "run-1")
    con.close()
    signoff(paths.home, "2023-12", "history.rhi_accepted_pct", "Jo Bloggs", "new RHI provider confirmed")
    with pytest.raises(SignOffRefused, match="error check"):
        signoff(paths.home, "2023-12", "bounds.contacts", "Jo Bloggs", "new RHI provider confirmed")
    con = duckdb.connect(str(paths.work_db))
    assert list(signoffs_for_month(con, DEC)) == ["history.rhi_accepted_pct"]
    con.close()
    with pytest.raises(SignOffRefused, match="run the month first"):
        signoff(tmp_path / "empty", "2023-12", "history.x", "Jo", "because of reasons")


@pytest.mark.parametrize(
    "by, reason, message",
    [
        ("Jo\tBloggs", "new RHI provider confirmed", "--by holds control characters (U+0009)"),
        ("Jo Bloggs", "confirmed\n=HYPERLINK(1)", "--reason holds control characters (U+000A)"),
        ("", "new RHI provider confirmed", "--by must name the person signing off"),
        ("Jo Bloggs", "x" * 1001, "--reason is 1001 characters long; at most 1000 are allowed"),
    ],
)
def test_cli_signoff_refuses_bad_text_with_exit_2(tmp_path, by, reason, message):
    res = cli("signoff", "--home", str(tmp_path), "--month", "2023-12", "--check", "history.rhi_accepted_pct",
              "--by", by, "--reason", reason)
    assert res.returncode == 2, res.stderr
    assert message in " ".join(res.stderr.split())


# ---- audit trail ----------------------------------------------------------------------------------


def publish(con, month, run_id, at, figures=None):
    con.execute("delete from main.fct_scorecard")
    T.fill_scorecard(con, month, figures)
    return record_published_figures(con, month, run_id, at)


def test_every_published_figure_is_kept_and_restatements_listed(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    assert publish(con, date(2023, 8, 1), "run-aug", datetime(2023, 9, 5, 9)) == 29 * 12
    contacts = [1000] * 11 + [1000]
    publish(
        con, date(2023, 9, 1), "run-sep", datetime(2023, 10, 4, 9), {"contacts": [1000] * 10 + [1040, 990]}
    )
    # "what did we tell the committee in August?" -> the scorecard of extract 2023-08
    aug = published_as_of(con, date(2023, 8, 1))
    assert len(aug) == 348 and {r["run_id"] for r in aug} == {"run-aug"}
    aug_contacts = {r["month"]: r["value"] for r in aug if r["measure_id"] == "contacts"}
    assert aug_contacts[date(2023, 8, 1)] == 1000
    # September's extract restated August's contacts: 1,000 -> 1,040
    [r] = restatements(con, "contacts")
    assert (r["month"], r["previous_extract_month"], r["extract_month"]) == (
        date(2023, 8, 1),
        date(2023, 8, 1),
        date(2023, 9, 1),
    )
    assert (r["previous_value"], r["value"], r["change"]) == (1000, 1040, 40)
    assert r["relative_change"] == pytest.approx(0.04)
    assert r["unit"] == "count"
    # one query in SQL too
    assert con.execute("select count(*) from audit.restatements").fetchone()[0] == 1
    assert contacts  # (the untouched months are not restatements)


def test_a_restatement_s_change_is_at_the_figures_precision(tmp_path):
    """19.3 % restated as 19.6 % is a change of 0.3 points, not the 0.3000000000000007 of the
    difference of two doubles."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    usual = T.DEFAULT_FIGURES["rhi_accepted_pct"]
    nov, dec = [usual] * 12, [usual] * 12
    nov[10] = (193, 1000)  # October 2023 in November's window
    dec[9] = (196, 1000)  # the same month in December's
    publish(con, NOV, "run-1", datetime(2023, 12, 4, 9), {"rhi_accepted_pct": nov})
    publish(con, DEC, "run-2", datetime(2024, 1, 4, 9), {"rhi_accepted_pct": dec})
    [r] = restatements(con, "rhi_accepted_pct")
    assert (r["month"], r["previous_value"], r["value"]) == (date(2023, 10, 1), 19.3, 19.6)
    assert r["change"] == 0.3


def test_republishing_a_month_keeps_both_publications_and_forget_run(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    publish(con, NOV, "run-1", datetime(2023, 12, 4, 9))
    publish(con, NOV, "run-2", datetime(2023, 12, 6, 9))
    assert con.execute("select count(distinct run_id) from audit.published_figures").fetchone()[0] == 2
    assert {r["run_id"] for r in published_as_of(con, NOV)} == {"run-2"}  # the latest
    assert record_published_figures(con, NOV, "run-2", datetime(2023, 12, 6, 10)) == 348  # idempotent
    forget_run(con, "run-2")
    assert {r["run_id"] for r in published_as_of(con, NOV)} == {"run-1"}


def test_figure_notes_put_signoffs_and_restatements_beside_the_figure(held):
    # November published RHI of September as 40 %; December restates it and holds December's jump
    held.execute("delete from main.fct_scorecard")
    T.fill_scorecard(held, NOV)
    record_published_figures(held, NOV, "run-nov", datetime(2023, 12, 4, 9))
    held.execute("delete from main.fct_scorecard")
    T.fill_scorecard(held, DEC, {"rhi_accepted_pct": RHI})
    run_history(held, "run-1")
    record_signoff(held, POLICY, DEC, "history.rhi_accepted_pct", "Jo Bloggs", "new RHI provider confirmed")
    run_history(held, "run-2")
    assert create_figure_notes(held, DEC, "run-2") > 0
    notes = {(m, d): (f, n) for m, d, f, n in held.execute("select * from figure_notes").fetchall()}
    flag, note = notes[("rhi_accepted_pct", DEC)]
    assert flag == "signed_off"
    assert "history.rhi_accepted_pct: rhi_accepted_pct 2023-12: 83.3% (125/150)" in note
    assert "signed off by Jo Bloggs" in note and "new RHI provider confirmed" in note
    flag, note = notes[("rhi_accepted_pct", date(2023, 9, 1))]
    assert flag == "restated" and "published as 40.0% in the scorecard of 2023-11" in note
    assert ("contacts", DEC) not in notes


def test_audit_tables_travel_to_the_published_copy(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    publish(con, NOV, "run-1", datetime(2023, 12, 4, 9))
    publish(con, DEC, "run-2", datetime(2024, 1, 4, 9), {"contacts": [1000] * 10 + [1100, 1000]})
    con.execute(f"attach '{tmp_path / 'pub.duckdb'}' as pub")
    copy_audit_tables(con, "pub")
    con.execute("detach pub")
    con.close()
    pub = duckdb.connect(str(tmp_path / "pub.duckdb"), read_only=True)
    assert pub.execute("select count(*) from audit.published_figures").fetchone()[0] == 696
    assert pub.execute("select measure_id, change from audit.restatements").fetchall() == [
        ("contacts", 100.0)
    ]
    assert pub.execute("select count(*) from audit.signoffs").fetchone()[0] == 0
    pub.close()


# ---- quality report -------------------------------------------------------------------------------


def test_quality_report_shows_every_flag_with_its_figures(held, tmp_path):
    held.execute(
        "update raw.load_log set rows_quarantined = 2, rows_read = rows_read + 2 "
        "where table_name = 'ssd_contacts'"
    )
    held.executemany(
        "insert into raw.quarantine values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (DEC, "ssd_contacts", 7, "C7", "format", "cont_contact_date", "31/02/2023", "not a date"),
            (
                DEC,
                "ssd_contacts",
                9,
                "C9",
                "format",
                "cont_contact_outcome_json",
                '{"COMMENTS": "Mrs Smith',
                "bad JSON",
            ),
            (DEC, "ssd_person", 3, "P-000123", "353", "pers_dob", "1850-01-01", "before 1991-10-14"),
        ],
    )
    evals = evaluate(
        pl.scorecard_findings(held, DEC, POLICY) + pl.raw_findings(held, DEC, POLICY), POLICY, {}
    )
    store_evaluations(held, DEC, evals, "run-9")
    run_results = tmp_path / "run_results.json"
    run_results.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "test.csc_warehouse.not_null_fct_scorecard_month.1a",
                        "status": "pass",
                        "failures": 0,
                    },
                    {
                        "unique_id": "test.csc_warehouse.scorecard_value_range.2b",
                        "status": "warn",
                        "failures": 3,
                        "message": "Got 3 results, configured to warn if != 0",
                    },
                    {"unique_id": "model.csc_warehouse.fct_scorecard", "status": "success"},
                ]
            }
        )
    )
    html, csv_path = write_quality_report(held, DEC, "run-9", tmp_path / "out", dbt_run_results=run_results)
    text = html.read_text()
    assert "blocked" in text
    assert "history.rhi_accepted_pct" in text and "83.3% (125/150)" in text
    assert "quarantine_rate.ssd_contacts" in text
    assert "scorecard_value_range" in text and "Got 3 results" in text  # dbt warn shows
    assert "not_null_fct_scorecard_month" not in text  # passing dbt tests are only counted
    # row-level failures by rule and table; identifying and free-text values never shown
    assert "31/02/2023" in text
    assert "Mrs Smith" not in text and "P-000123" not in text and "1850-01-01" not in text
    rows = list(csv.DictReader(csv_path.open()))
    sections = {r["section"] for r in rows}
    assert sections == {"check", "dbt_test", "row_failures", "load_log"}
    rhi = next(r for r in rows if r["id"] == "history.rhi_accepted_pct")
    assert (rhi["severity"], rhi["status"]) == ("hold", "failed")
    assert json.loads(rhi["evidence"])["numerator"] == 125
    assert not any("Mrs Smith" in json.dumps(r) for r in rows)
    contacts_load = next(r for r in rows if r["section"] == "load_log" and r["id"] == "ssd_contacts")
    assert contacts_load["status"] == "reconciles"
    assert "quarantined 2" in contacts_load["summary"]
    assert "verified against the manifest: rows and checksum" in contacts_load["summary"]
    assert "<th>verified against the manifest</th>" in text and "<td>rows and checksum</td>" in text
    assert "The month stopped at the checks of its extract" not in text  # its figures were checked


def test_a_report_of_a_month_held_at_its_extract_says_the_rest_did_not_run(held, tmp_path):
    held.execute("update raw.load_log set rows_quarantined = 900, rows_read = rows_read + 900 "
                 "where table_name = 'ssd_contacts'")
    evals = evaluate(pl.raw_findings(held, DEC, POLICY), POLICY, {})  # the raw checks only: held there
    store_evaluations(held, DEC, evals, "run-held")
    html, _ = write_quality_report(held, DEC, "run-held", tmp_path, outcome="blocked")
    text = " ".join(html.read_text().split())
    assert "<b>The month stopped at the checks of its extract</b>: the dbt build and the checks of its figures " \
        "did not run" in text
    assert "<b>hold</b> blocks until the data is fixed and sent again, or a named person" in text


def test_quality_report_of_a_clean_month(held, tmp_path):
    T.fill_scorecard(held, DEC)
    evals = evaluate(pl.scorecard_findings(held, DEC, POLICY), POLICY, {})
    store_evaluations(held, DEC, evals, "run-ok")
    html, _ = write_quality_report(held, DEC, "run-ok", tmp_path, outcome="published")
    text = html.read_text()
    assert "No check flagged anything." in text and "No row failed a validity rule." in text
    assert "published" in text
    # the published report leaves the run and the time to publication.json; the working one names them
    assert "run-ok" not in text and "publication.json" in text and " UTC." not in text
    html, _ = write_quality_report(held, DEC, "run-ok", tmp_path / "work", with_run=True)
    assert "run <code>run-ok</code>, generated " in html.read_text()


def test_read_dbt_tests_without_results():
    assert read_dbt_tests(None) == []
