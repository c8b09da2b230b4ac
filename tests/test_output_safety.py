"""Hostile text is shown, never run: CSV and formula injection (OWASP) and HTML escaping.

A working warehouse (tests/checks_warehouse.py) gets hostile text wherever a person or an extract
can put it: a sign-off's name and reason, check summaries, a quarantined record's id, value and
message, measure names, sections and definitions from the seed. The real writers (scorecard
CSV, workbook and page, internal and public; the quality report) then write the month, and
every file is read back: no formula cell in any workbook, no CSV cell starting with a formula
character (numbers aside), every page escaped. The last test (e2e) signs off a held month through
the CLI with ``--by '=HYPERLINK(...)'`` and reads what the run then publishes.
"""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dagster_project.checks.policy import DEFAULT_POLICY, Severity, load_policy
from dagster_project.checks.results import FAILED, SIGNED_OFF, WARN, Evaluation, Finding, store_evaluations
from dagster_project.checks.signoff import SignOffRefused, record_signoff
from dagster_project.publish.audit import record_published_figures
from dagster_project.publish.outputs import PublicationSettings, write_outputs
from dagster_project.safe_text import FORMULA_STARTS, safe_text
from dagster_project.settings import HomePaths
from tests import checks_warehouse as T
from tests.pipeline_helpers import cli, run

DEC, NOV, OCT = date(2023, 12, 1), date(2023, 11, 1), date(2023, 10, 1)
POLICY = load_policy(DEFAULT_POLICY)
LINK = '=HYPERLINK("http://evil.example","Jo Bloggs")'
SCRIPT = "<script>alert(1)</script>"
HOSTILE = (LINK, "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", SCRIPT)
REASON = "-1+2 children: confirmed with the team " + SCRIPT
UNROUNDED = 81.6 - 1e-12  # a restated figure as arithmetic on doubles may leave it in the trail
NUMBER = re.compile(r"-?\d+(\.\d+)?")  # how the CSVs write numbers


def test_safe_text_prefixes_formula_text_only():
    for text in HOSTILE[:-1]:
        assert safe_text(text) == "'" + text
    assert safe_text(SCRIPT) == SCRIPT  # not a formula: the HTML writers escape it
    assert safe_text("Jo Bloggs") == "Jo Bloggs" and safe_text("") == ""
    assert safe_text(-3.5) == -3.5 and safe_text(-3) == -3 and safe_text(None) is None


def write_month(db: Path, out: Path) -> Path:
    """December's files as the publish step writes them (internal, public, quality report, marts)."""
    con = duckdb.connect(str(db))
    try:
        write_outputs(con, out, DEC, "run-dec", PublicationSettings(public=True))
    finally:
        con.close()
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A working warehouse full of hostile text, its December ready to publish."""
    db = tmp_path_factory.mktemp("hostile") / "w.duckdb"
    con = T.make_warehouse(db)
    try:
        T.build_consistent(con, DEC)
        # the measure catalogue (a seed) with hostile names, a section and a definition
        con.execute("alter table main.dim_measure add column spec_name varchar")
        con.execute("update main.dim_measure set spec_name = measure_name")
        for mid, column, text in (("contacts", "measure_name", "@SUM(A1)"), ("contacts", "spec_name", SCRIPT),
                                  ("contacts", "definition", "=1+1"), ("children_missing", "measure_name", "+1"),
                                  ("away_episodes", "measure_name", "\t=1"), ("returned_home", "section", "-1+2")):
            con.execute(f"update main.dim_measure set {column} = ? where measure_id = ?", [text, mid])
        # November published October's referral rate as 81.6 % (held unrounded, as arithmetic on
        # doubles leaves it): December restates it to 23.0 %
        T.fill_scorecard(con, NOV)
        record_published_figures(con, NOV, "run-nov", datetime(2023, 12, 4, 9))
        con.execute("update audit.published_figures set value = ? "
                    "where measure_id = 'contacts_to_referral_pct' and month = ?", [UNROUNDED, OCT])
        con.execute("delete from main.fct_scorecard where extract_month = ?", [NOV])
        T.set_figure(con, "rhi_accepted_pct", OCT, value=-3.5)  # a negative number stays a number
        # a quarantined record with a hostile id, value and message
        con.execute("insert into raw.quarantine values (?, 'ssd_contacts', 7, '=1+1', 'format', "
                    "'cont_contact_date', '@SUM(A1)', ?)", [DEC, "-1+2 " + SCRIPT])
        # a held figure signed off by a hostile name, and warnings with hostile summaries
        hold = Finding("history", "rhi_accepted_pct", False, "+1", {"value": 40.0},
                       measure_id="rhi_accepted_pct", figure_month=DEC)
        store_evaluations(con, DEC, [Evaluation(hold, Severity.HOLD, FAILED)], "blocked", datetime(2024, 1, 5, 9))
        signoff = record_signoff(con, POLICY, DEC, "history.rhi_accepted_pct", LINK, REASON,
                                 at=datetime(2024, 1, 5, 10))
        warnings = [Finding("volume", mid, False, text, {"note": text}, measure_id=mid, figure_month=DEC)
                    for mid, text in (("contacts", "\t=1"), ("police_contacts", "\r=1"),
                                      ("missing_episodes", "@SUM(A1)"), ("away_episodes", SCRIPT))]
        store_evaluations(con, DEC, [Evaluation(hold, Severity.HOLD, SIGNED_OFF, signoff)]
                          + [Evaluation(w, Severity.WARN, WARN) for w in warnings], "run-dec",
                          datetime(2024, 1, 5, 11))
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def written(hostile_db, tmp_path_factory) -> Path:
    """The month's files, written by the real writers."""
    return write_month(hostile_db, tmp_path_factory.mktemp("written"))


def safe_workbook_cells(path: Path) -> list[openpyxl.cell.Cell]:
    """The workbook's cells with a value, once asserted that none is a formula and no text
    starts a formula."""
    with zipfile.ZipFile(path) as z:
        sheets = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not [s for s in sheets if re.search(r"<f[ >/]", s)]  # no formula element at all
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS)] == []
    return cells


def safe_csv_cells(path: Path) -> list[str]:
    """The CSV's cells, once asserted that none starts a formula (numbers aside)."""
    with path.open(newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert [c for c in cells if c.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(c)] == []
    return cells


@pytest.mark.parametrize("name", ["scorecard.xlsx", "public/scorecard.xlsx"])
def test_no_formula_in_any_workbook(written, name):
    cells = safe_workbook_cells(written / name)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'@SUM(A1)" in texts and "'+1" in texts and "'\t=1" in texts  # measure names, shown as text
    if name == "scorecard.xlsx":
        assert {"'" + LINK, "'" + REASON, SCRIPT} <= set(texts)  # sign-off, summaries
        assert "'\n=1" in texts  # the summary "\r=1" (an XML reader reads a CR as a line feed)
        # numbers stay numbers (a percentage as Excel's fraction: -3.5 % is -0.035)
        assert [c.value for c in cells if c.value == -0.035 and c.data_type == "n"]
        values = [c.value for c in cells]
        # the restated figure at the published precision (81.6 %), not the unrounded double
        assert 0.816 in values and UNROUNDED / 100 not in values and UNROUNDED not in values
    else:
        assert not [t for t in texts if LINK in t or "children: confirmed" in t]  # no names in public


@pytest.mark.parametrize("name", ["scorecard.csv", "public/scorecard.csv", "quality_report.csv"])
def test_no_csv_cell_starts_a_formula(written, name):
    cells = safe_csv_cells(written / name)
    assert "'@SUM(A1)" in cells and "'+1" in cells  # hostile text arrived, neutralised
    if name == "scorecard.csv":
        assert "-3.5" in cells  # a number, not text: left alone
    if name == "quality_report.csv":
        assert {"'" + LINK, "'" + REASON, "'\t=1", "'\r=1"} <= set(cells)


@pytest.mark.parametrize("name", ["scorecard.html", "public/scorecard.html", "quality_report.html"])
def test_every_page_escapes_hostile_text(written, name):
    page = (written / name).read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "@SUM(A1)" in page  # shown as it was given (HTML has no formulas)
    if name != "public/scorecard.html":
        assert "=HYPERLINK(&#34;http://evil.example&#34;" in page and 'HYPERLINK("' not in page


def test_written_again_the_files_are_the_same_bytes(written, hostile_db, tmp_path):
    """No run id or clock time in any file: the workbook's document dates and zip entry times
    are the extract month."""
    with zipfile.ZipFile(written / "scorecard.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 12, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode("utf-8")
    assert re.findall(r"<dcterms:(\w+)[^>]*>([^<]*)<", core) == [("created", "2023-12-01T00:00:00Z"),
                                                                 ("modified", "2023-12-01T00:00:00Z")]
    again = files_of(write_month(hostile_db, tmp_path / "again"))
    first = files_of(written)
    assert set(first) == {
        "scorecard.csv", "scorecard.parquet", "scorecard.xlsx", "scorecard.html", "quality_report.csv",
        "quality_report.html", "public/scorecard.csv", "public/scorecard.parquet", "public/scorecard.xlsx",
        "public/scorecard.html"}
    assert [name for name in first if first[name] != again[name]] == []
    assert b"run-dec" not in first["quality_report.html"] + first["scorecard.html"]


def test_signoff_text_is_validated(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    try:
        T.build_consistent(con, DEC)
        hold = Finding("history", "rhi_accepted_pct", False, "jump", {}, measure_id="rhi_accepted_pct")
        store_evaluations(con, DEC, [Evaluation(hold, Severity.HOLD, FAILED)], "blocked")
        for by, reason, message in (("\t=1", REASON, r"--by holds control characters \(U\+0009\)"),
                                    ("Jo", "\r=1 is fine", r"--reason holds control characters \(U\+000D\)"),
                                    ("Jo\u202eBloggs", REASON, r"U\+202E"),
                                    ("Jo\x00", REASON, r"U\+0000"),
                                    ("   ", REASON, "--by must name"),
                                    ("J" * 101, REASON, "--by is 101 characters long; at most 100"),
                                    ("Jo", "x" * 1001, "--reason is 1001 characters long")):
            with pytest.raises(SignOffRefused, match=message):
                record_signoff(con, POLICY, DEC, "history.rhi_accepted_pct", by, reason)
        s = record_signoff(con, POLICY, DEC, "history.rhi_accepted_pct", "  " + LINK + "  ", REASON)
        assert (s.signed_by, s.reason) == (LINK, REASON)  # stored as the text given
    finally:
        con.close()


@pytest.mark.e2e
def test_a_hostile_signoff_through_the_cli_is_published_as_text(tmp_path):
    """The report's case: ``signoff --by '=HYPERLINK(...)'`` on a held month, then the run that
    publishes it (a month whose every return-home interview was accepted: held by history)."""
    extracts, home = tmp_path / "extracts", tmp_path / "home"
    env = {"CSC_PSEUDONYM_KEY": "output-safety-test-key-0123456789abcdef"}
    res = cli("generate", "--out", str(extracts), "--first", "2023-03", "--last", "2023-03", "--scale", "0.2",
              "--seed", "42", "--inject", "all_rhi_accepted")
    assert res.returncode == 0, res.stderr
    res = run(extracts, home, "--month", "2023-03", env=env)
    held = re.findall(r"BLOCKED by (\S+) \[hold, failed\]", res.stderr)
    assert res.returncode == 3 and "history.rhi_accepted_pct" in held, res.stderr[-3000:]
    for check in held:
        res = cli("signoff", "--home", str(home), "--month", "2023-03", "--check", check, "--by", LINK,
                  "--reason", REASON, env=env)
        assert res.returncode == 0, res.stderr
    res = run(extracts, home, "--month", "2023-03", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    month = HomePaths(home).published_month_dir(date(2023, 3, 1))
    texts = [c.value for c in safe_workbook_cells(month / "scorecard.xlsx") if isinstance(c.value, str)]
    assert "'" + LINK in texts and "'" + REASON in texts  # Quality summary: who signed off and why
    assert {"'" + LINK, "'" + REASON} <= set(safe_csv_cells(month / "quality_report.csv"))
    safe_csv_cells(month / "scorecard.csv")
    for page in ("scorecard.html", "quality_report.html"):
        text = (month / page).read_text(encoding="utf-8")
        assert "<script>alert" not in text and "=HYPERLINK(&#34;http://evil.example&#34;" in text
