"""Flags, sign-offs and restatements marked on the figure itself (workbook and page).

Starts from the working warehouse of the real pipeline run, records a signed-off hold, a warning
and an earlier publication of a figure with another value through the quality gate's own
functions (sign-off, audit trail), then writes the outputs again and reads them back.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import duckdb
import openpyxl
import pytest

from dagster_project.checks.policy import Severity, current_policy
from dagster_project.checks.results import FAILED, SIGNED_OFF, WARN, Evaluation, Finding, store_evaluations
from dagster_project.checks.signoff import record_signoff
from dagster_project.publish.audit import record_published_figures
from dagster_project.publish.outputs import PublicationSettings, write_outputs
from dagster_project.publish.outputs.workbook import TABLE_HEADER_ROW
from tests.outputs_pipeline import XDIST_GROUP

pytestmark = XDIST_GROUP

JUL, JUN, MAY = date(2023, 7, 1), date(2023, 6, 1), date(2023, 5, 1)
SIGNER, REASON = "Pat Analyst", "Checked against the case files: a real rise after the new triage rota"


@pytest.fixture(scope="module")
def flagged(published_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("flags")
    db = root / "work.duckdb"
    shutil.copy(published_home.home / "private" / "warehouse.duckdb", db)
    con = duckdb.connect(str(db))
    try:
        run_id = con.execute("select run_id from quality.check_results where month = ? "
                             "order by checked_at desc limit 1", [JUL]).fetchone()[0]
        hold = Finding("history", "contacts_to_referral_pct", False,
                       "contacts_to_referral_pct moved 9.1 points against its 12-month history",
                       {"value": 30.0}, measure_id="contacts_to_referral_pct", figure_month=JUL)
        now = datetime.now(UTC).replace(tzinfo=None)  # later than the run's own evaluations
        store_evaluations(con, JUL, [Evaluation(hold, Severity.HOLD, FAILED)], "blocked-run",
                          now + timedelta(minutes=1))
        signoff = record_signoff(con, current_policy(), JUL, "history.contacts_to_referral_pct", SIGNER,
                                 REASON, at=now + timedelta(minutes=2))
        warning = Finding("history", "police_contacts", False, "police_contacts 40% above its 12-month mean",
                          {}, measure_id="police_contacts", figure_month=JUN)
        evaluations = [Evaluation(hold, Severity.HOLD, SIGNED_OFF, signoff),
                       Evaluation(warning, Severity.WARN, WARN)]
        store_evaluations(con, JUL, evaluations, run_id, now + timedelta(minutes=3))
        # the trail holds exactly one earlier publication, made here (the pipeline's own records of
        # June and July would restate other figures too and blur what each assertion is about)
        con.execute("delete from audit.published_figures")
        record_published_figures(con, JUN, "june-run", datetime(2023, 7, 4, 9))
        con.execute("update audit.published_figures set value = value + 7 "
                    "where run_id = 'june-run' and measure_id = 'contacts' and month = ?", [MAY])
        was = con.execute("select value from audit.published_figures where run_id = 'june-run' "
                          "and measure_id = 'contacts' and month = ?", [MAY]).fetchone()[0]
        out = root / "out"
        write_outputs(con, out, JUL, run_id, PublicationSettings(public=True))
    finally:
        con.close()
    return out, was


def _cell(ws, measure_name: str, label: str):
    header = [c.value for c in ws[TABLE_HEADER_ROW]]
    col = header.index(label) + 1
    for row in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1):
        if row[0].value == measure_name:
            return ws.cell(row=row[0].row, column=col)
    raise AssertionError(measure_name)


RAG_COLOURS = ("009E73", "E69F00", "D55E00")  # the only fills a figure's status may bring


def _neutral(cell, style: str) -> None:
    """A flag's style: an outline of ``style`` in the neutral grey on every side, and no fill
    (a fill is what readers take for performance: RAG)."""
    assert cell.fill.fill_type is None, cell.fill
    for side in (cell.border.left, cell.border.right, cell.border.top, cell.border.bottom):
        assert side.style == style and side.color.rgb.endswith("404040"), side


def test_marks_outlines_and_comments_in_the_workbook(flagged):
    out, was = flagged
    wb = openpyxl.load_workbook(out / "scorecard.xlsx")
    ws = wb["Scorecard"]
    signed = _cell(ws, "Reduced % in contacts resulting in a referral", "Jul 23")
    assert signed.number_format == '0.0%" [s]"'
    assert isinstance(signed.value, float) and 0 < signed.value < 1  # a fraction, shown as a percentage
    assert SIGNER in signed.comment.text and REASON in signed.comment.text
    _neutral(signed, "double")
    warned = _cell(ws, "Number of contacts from the police", "Jun 23")
    assert warned.number_format == '#,##0" [w]"' and "40% above" in warned.comment.text
    _neutral(warned, "mediumDashed")
    ws12 = wb["Scorecard 12 months"]
    restated = _cell(ws12, "Reduction in the number of contacts", "May 23")
    assert restated.number_format == '#,##0" [r]"'
    assert f"published as {was:,.0f} in the scorecard of 2023-06" in restated.comment.text
    _neutral(restated, "dotted")
    notes = _cell(ws, "Reduced % in contacts resulting in a referral", "Flags and notes").value
    assert "Jul 23 [s]" in notes and SIGNER in notes
    committee = wb["Committee summary"]
    latest = next(r for r in committee.iter_rows() if r[0].value == "Reduced % in contacts resulting in a referral")
    assert latest[2].number_format == '0.0%" [s]"'
    assert latest[8].value == "[s]" and latest[8].comment.text == "signed off: Jul 23"  # one line, and in words
    _neutral(latest[2], "double")
    # the key says what each outline means, in the outline itself
    key = {c.value[:3]: c for row in committee.iter_rows(max_col=1) for c in row
           if isinstance(c.value, str) and c.value.startswith("[")}
    assert set(key) == {"[w]", "[s]", "[r]"}
    _neutral(key["[s]"], "double")
    for ws in wb.worksheets:  # no flagged figure anywhere carries a RAG colour
        for row in ws.iter_rows():
            for c in row:
                if c.comment is not None:
                    assert not (c.fill.fill_type and c.fill.fgColor.rgb[-6:] in RAG_COLOURS), c.coordinate
    quality = [r for r in wb["Quality summary"].iter_rows(values_only=True)
               if r[0] and str(r[0]).startswith("history.")]
    signed_row = next(r for r in quality if r[0] == "history.contacts_to_referral_pct")
    assert signed_row[2] == "signed_off" and signed_row[5] == SIGNER and signed_row[7] == REASON
    assert isinstance(signed_row[6], datetime)  # when it was signed off, as a date and time
    restatements = [r for r in wb["Quality summary"].iter_rows(values_only=True)
                    if r[0] == "Reduction in the number of contacts" and r[1] == datetime(2023, 5, 1)]
    assert restatements and restatements[0][2] == datetime(2023, 6, 1) and restatements[0][3] == was


def test_flags_explained_on_the_page(flagged):
    out, was = flagged
    html = (out / "scorecard.html").read_text(encoding="utf-8")
    assert SIGNER in html and REASON in html
    assert '<span class="mark"> [s]</span>' in html and '<span class="mark"> [w]</span>' in html
    assert f"published as {was:,.0f} in the scorecard of Jun 2023" in html
    # a flag is an outline, never a fill, and the key says what each outline means
    assert 'class="n flag flag-signed_off"' in html and 'class="n flag flag-warning"' in html
    assert "td.flag-signed_off, .key .flag-signed_off { outline-style: double; }" in html
    assert "--restated" not in html and "#e2efda" not in html.lower()  # the old green fill of a restatement
    for flag, word in (("signed_off", "double"), ("warning", "dashed"), ("restated", "dotted")):
        assert f'<span class="flagbox flag-{flag}">' in html and f"{word} outline" in html


def test_public_variant_keeps_marks_but_no_names_or_figures_in_notes(flagged):
    out, _ = flagged
    wb = openpyxl.load_workbook(out / "public" / "scorecard.xlsx")
    cell = _cell(wb["Scorecard"], "Reduced % in contacts resulting in a referral", "Jul 23")
    assert "[s]" in cell.number_format and "signed off" in cell.comment.text
    for path in (out / "public" / "scorecard.html", out / "public" / "scorecard.csv"):
        text = path.read_text(encoding="utf-8")
        assert SIGNER not in text and REASON not in text and "40% above" not in text
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                texts = [str(c.value or ""), c.comment.text if c.comment else ""]
                assert not any(SIGNER in t or REASON in t or "published as" in t for t in texts)
