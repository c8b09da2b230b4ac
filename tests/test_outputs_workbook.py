"""scorecard.xlsx from a real pipeline run, read back with openpyxl against the scorecard mart.

Numbers are as Excel expects them: a percentage is a fraction (19.8 % is 0.198 in ``0.0%``), a
count an integer, a month a date."""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb
import openpyxl
import pytest

from dagster_project.publish.outputs.workbook import (
    DEFINITION_HEADERS,
    DIRECTION_HEADER,
    FIGURES_HEADERS,
    FLAGS_HEADER,
    MEASURE_HEADER,
    POLARITY_HEADER,
    RAG_HEADER,
    SHEETS,
    TABLE_HEADER_ROW,
    TARGET_HEADER,
    YEAR_HEADER,
)
from tests.outputs_pipeline import FIRST, LAST, XDIST_GROUP

pytestmark = XDIST_GROUP


def _mart(home) -> tuple[dict, dict, list[date]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("select measure_id, month, value, numerator, denominator, availability "
                           "from fct_scorecard").fetchall()
        figures = {(r[0], r[1]): r[2:] for r in rows}
        cur = con.execute("select * from dim_measure order by sort_order")
        names = [d[0] for d in cur.description]
        measures = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()
    return figures, measures, sorted({m for _, m in figures})


def _expected_cell(fig, unit: str):
    value, _, _, availability = fig
    if availability == "not_available":
        return "n/a"
    if value is None:
        return "no data"
    return int(value) if unit == "count" else pytest.approx(value / 100)  # 19.8 % is 0.198


def _measure_rows(ws) -> dict[str, list]:
    """Rows of a scorecard sheet by measure name (section rows have nothing in column B)."""
    rows = {}
    for row in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True):
        if row[0] and row[1] in ("High", "Low"):
            rows[row[0]] = list(row)
    return rows


@pytest.fixture(scope="module")
def workbook(published_home):
    return openpyxl.load_workbook(published_home.month_dir(LAST) / "scorecard.xlsx")


def test_every_published_month_has_a_workbook(published_home):
    for month in (FIRST, LAST):
        assert (published_home.month_dir(month) / "scorecard.xlsx").is_file()
        assert (published_home.month_dir(month) / "scorecard.html").is_file()


def test_sheets_and_headers(workbook, published_home):
    assert workbook.sheetnames == list(SHEETS)
    _, _, months = _mart(published_home)
    labels = [m.strftime("%b %y") for m in months]
    assert len(labels) == 12 and labels[-1] == "Jul 23"
    for sheet, n in (("Scorecard", 6), ("Scorecard 12 months", 12)):
        header = [c.value for c in workbook[sheet][TABLE_HEADER_ROW]]
        assert header == [MEASURE_HEADER, POLARITY_HEADER, *labels[-n:], TARGET_HEADER, RAG_HEADER,
                          DIRECTION_HEADER, YEAR_HEADER, FLAGS_HEADER]
    header = [c.value for c in workbook["Committee summary"][TABLE_HEADER_ROW]]
    assert header == [MEASURE_HEADER, "Good is", "Jul 23", TARGET_HEADER, RAG_HEADER, "vs Jun 23", "vs Jul 22",
                      "Trend Aug 22 to Jul 23", "Flags"]
    header = tuple(c.value for c in workbook["Numerators and denominators"][TABLE_HEADER_ROW])
    assert header == FIGURES_HEADERS
    assert tuple(c.value for c in workbook["Definitions"][TABLE_HEADER_ROW]) == DEFINITION_HEADERS
    assert "July 2023" in workbook["Scorecard"]["A1"].value
    assert workbook.active.title == "Committee summary"  # the workbook opens on the summary


def test_the_reports_table_matches_the_mart(workbook, published_home):
    figures, measures, months = _mart(published_home)
    for sheet, n in (("Scorecard", 6), ("Scorecard 12 months", 12)):
        rows = _measure_rows(workbook[sheet])
        assert set(rows) == {m["measure_name"] for m in measures.values()}
        for mid, m in measures.items():
            row = rows[m["measure_name"]]
            assert row[1] == m["polarity"]
            for i, month in enumerate(months[-n:]):
                assert row[2 + i] == _expected_cell(figures[(mid, month)], m["unit"]), (sheet, mid, month)
    # sections in the report's order, each followed by its measures
    for sheet in ("Committee summary", "Scorecard"):
        table = []
        for r in workbook[sheet].iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True):
            if not any(r):
                break  # the key follows the table after an empty row
            table.append(r)
        sections = [r[0] for r in table if r[1] is None]
        assert sections == list(dict.fromkeys(m["section"] for m in measures.values()))
        assert len(table) == len(sections) + len(measures)


def _status(home, month: date) -> dict[str, dict]:
    """fct_scorecard_status of ``month`` by measure, as the published warehouse holds it."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        cur = con.execute("select * from fct_scorecard_status where month = ?", [month])
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()


RAG = {"green": ("● Green", "009E73"), "amber": ("◆ Amber", "E69F00"), "red": ("■ Red", "D55E00")}
DIRECTION = {"better": "▲ better", "worse": "▼ worse", "same": "► same", None: None}


def _committee_rows(ws) -> dict[str, tuple]:
    return {row[0].value: row for row in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1)
            if row[1].value in ("↑ High", "↓ Low")}


def test_committee_summary_shows_the_status_model(workbook, published_home):
    """Latest figure, target, RAG and direction as fct_scorecard_status gives them (never recomputed);
    a figure with no target has no colour; the RAG colour always comes with its shape and word."""
    figures, measures, months = _mart(published_home)
    status = _status(published_home, months[-1])
    rows = _committee_rows(workbook["Committee summary"])
    assert set(rows) == {m["measure_name"] for m in measures.values()}
    coloured = 0
    for mid, m in measures.items():
        name, good, latest, target, rag, vs_previous, vs_year, trend, _ = rows[m["measure_name"]]
        st = status[mid]
        assert good.value == ("↑ High" if m["polarity"] == "High" else "↓ Low")
        assert latest.value == _expected_cell(figures[(mid, months[-1])], m["unit"])
        if st["target"] is None:
            assert target.value == "no target" and rag.fill.fill_type is None
        else:
            expected = int(st["target"]) if m["unit"] == "count" else pytest.approx(st["target"] / 100)
            assert target.value == expected and target.number_format.startswith(('"≥ "', '"≤ "'))
        if st["rag_status"] is None:
            assert rag.fill.fill_type is None
        else:
            word, colour = RAG[st["rag_status"]]
            assert rag.value == word and rag.fill.fgColor.rgb.endswith(colour)
            coloured += 1
        assert vs_previous.value == DIRECTION[st["direction_vs_previous_month"]]
        assert vs_year.value == DIRECTION[st["direction_vs_same_month_last_year"]]
        assert len(trend.value) == 12 and trend.font.name == "Consolas"
    assert coloured == sum(st["rag_status"] is not None for st in status.values())


def test_numbers_are_typed_as_excel_expects(workbook, published_home):
    units = {m["measure_name"]: m["unit"] for m in _mart(published_home)[1].values()}
    ws = workbook["Scorecard 12 months"]
    header = [c.value for c in ws[TABLE_HEADER_ROW]]
    for row in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1):
        if row[1].value not in ("High", "Low"):
            continue
        unit = units[row[0].value]
        for cell in row[2:header.index(TARGET_HEADER)]:
            if isinstance(cell.value, str):
                assert cell.value in ("no data", "n/a"), cell
            elif unit == "percent":
                assert 0 <= cell.value <= 1 and cell.number_format.startswith("0.0%"), cell  # a fraction
            else:
                assert isinstance(cell.value, int) and cell.number_format.startswith("#,##0"), cell
    months = [r[3] for r in workbook["Numerators and denominators"].iter_rows(min_row=TABLE_HEADER_ROW + 1,
                                                                               values_only=True) if r[2]]
    assert months and all(isinstance(m, datetime) and m.day == 1 for m in months)  # months are dates


def test_numerators_and_denominators_sheet(workbook, published_home):
    figures, measures, months = _mart(published_home)
    ws = workbook["Numerators and denominators"]
    rows = [r for r in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True) if r[2]]
    assert len(rows) == len(measures) * 12
    status = {(mid, month): st for month in months for mid, st in _status(published_home, month).items()}
    for r in rows:
        section, name, mid, month, value, unit, numerator, denominator, availability = r[:9]
        value_, num_, den_, avail_ = figures[(mid, month.date())]
        m = measures[mid]
        assert (section, name, unit) == (m["section"], m["measure_name"], m["unit"])
        assert numerator == num_ and availability == avail_
        assert denominator == (None if unit == "count" else den_)
        expected = None if value_ is None else _expected_cell((value_, num_, den_, avail_), unit)
        assert value == (expected if value_ is not None else ("n/a" if avail_ == "not_available" else "no data"))
        st = status[(mid, month.date())]
        assert r[11] == (RAG[st["rag_status"]][0] if st["rag_status"] else None)
        assert r[12] == DIRECTION[st["direction_vs_previous_month"]]
    assert ws.auto_filter.ref.startswith(f"A{TABLE_HEADER_ROW}:")


def test_definitions_come_from_the_catalogue(workbook, published_home):
    _, measures, _ = _mart(published_home)
    sheet = workbook["Definitions"]
    rows = {r[3]: r for r in sheet.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True)}
    for mid, m in measures.items():
        assert rows[mid][1] == m["measure_name"] and rows[mid][2] == m["spec_name"]
        assert rows[mid][4] == m["polarity"] and rows[mid][8] == m["definition"]


def test_quality_summary(workbook):
    ws = workbook["Quality summary"]
    summary = {r[0]: r[1] for r in ws.iter_rows(min_row=4, max_row=10, values_only=True) if r[0]}
    assert summary["Outcome"] == "published"
    assert summary["Checks failed (blocking)"] == 0
    assert summary["Passed"] > 50


def test_formatted_for_printing(workbook):
    for name in SHEETS:
        ws = workbook[name]
        assert ws.freeze_panes, name
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows, name
        assert "&P" in ws.oddFooter.center.text
    committee = workbook["Committee summary"]
    assert committee.page_setup.fitToHeight == 1  # one page: fit to one page wide and one page tall
    area = committee.print_area
    assert area and area.replace("$", "").startswith("'Committee summary'!A1:I")
    last_row = int(re.search(r"(\d+)$", area).group(1))
    assert last_row > TABLE_HEADER_ROW + 29 + 4  # the measures, their sections and the key
    assert committee.column_dimensions["A"].width >= 60
    ws = workbook["Scorecard"]
    assert ws.freeze_panes == "C5"
    assert ws.column_dimensions["A"].width >= 40
    formats = {c.number_format for row in ws.iter_rows(min_row=5, min_col=3, max_col=8) for c in row
               if isinstance(c.value, int | float)}
    assert {"#,##0", "0.0%"} <= formats
    assert ws["A4"].font.bold and ws["A4"].fill.fgColor.rgb.endswith("1D3557")


def test_cli_summary_table(published_home):
    out = published_home.public_run_stderr
    assert "csc-warehouse run" in out
    for column in ("month", "outcome", "checks", "files / details"):
        assert column in out
    assert "2023-07" in out and "published" in out
    flat = "".join(out.split())
    assert "scorecard.xlsx" in flat and "public/scorecard.html" in flat
    assert str(published_home.month_dir(LAST)).replace(" ", "") in flat


def test_a_run_prints_no_python_warning(published_home):
    """The terminal shows a run's progress lines and its summary, nothing of Python's own: its
    multiprocessing warned of leaked semaphores at exit when dbt's adapter outlived the build."""
    for out in (published_home.first_run_stderr, published_home.public_run_stderr):
        assert not re.search(r"\w+Warning: ", out), out[-3000:]
