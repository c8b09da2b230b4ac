"""scorecard.xlsx from a real pipeline run, read back with openpyxl against the scorecard mart."""

from __future__ import annotations

from datetime import date

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
    SHEETS,
    TABLE_HEADER_ROW,
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
    return int(value) if unit == "count" else pytest.approx(value)


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
        assert header == [MEASURE_HEADER, POLARITY_HEADER, *labels[-n:], DIRECTION_HEADER, FLAGS_HEADER]
    header = tuple(c.value for c in workbook["Numerators and denominators"][TABLE_HEADER_ROW])
    assert header == FIGURES_HEADERS
    assert tuple(c.value for c in workbook["Definitions"][TABLE_HEADER_ROW]) == DEFINITION_HEADERS
    assert "July 2023" in workbook["Scorecard"]["A1"].value


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
    sections = [r[0] for r in workbook["Scorecard"].iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True)
                if r[0] and r[1] is None and not str(r[0]).startswith(("[", "no data", "c:"))]
    assert sections == list(dict.fromkeys(m["section"] for m in measures.values()))


def test_direction_of_travel_reads_against_polarity(workbook, published_home):
    figures, measures, months = _mart(published_home)
    rows = _measure_rows(workbook["Scorecard"])
    checked = 0
    for mid, m in measures.items():
        text = rows[m["measure_name"]][2 + 6]
        prev, last = figures[(mid, months[-2])][0], figures[(mid, months[-1])][0]
        if prev is None or last is None:
            assert text == "no comparison"
            continue
        checked += 1
        if round(prev, 1) == round(last, 1):
            assert text.startswith("► no change")
        else:
            up = last > prev
            verdict = "improving" if up == (m["polarity"] == "High") else "worsening"
            assert text.startswith(("▲ " if up else "▼ ") + verdict), (mid, text)
    assert checked > 15


def test_numerators_and_denominators_sheet(workbook, published_home):
    figures, measures, months = _mart(published_home)
    ws = workbook["Numerators and denominators"]
    rows = [r for r in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True) if r[2]]
    assert len(rows) == len(measures) * 12
    labels = {m.strftime("%b %y"): m for m in months}
    for r in rows:
        section, name, mid, label, value, unit, numerator, denominator, availability = r[:9]
        value_, num_, den_, avail_ = figures[(mid, labels[label])]
        m = measures[mid]
        assert (section, name, unit) == (m["section"], m["measure_name"], m["unit"])
        assert numerator == num_ and availability == avail_
        assert denominator == (None if unit == "count" else den_)
        expected = None if value_ is None else int(value_) if unit == "count" else pytest.approx(value_)
        assert value == expected
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
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows, name
        assert "&P" in ws.oddFooter.center.text
    ws = workbook["Scorecard"]
    assert ws.freeze_panes == "C5"
    assert ws.column_dimensions["A"].width >= 40
    formats = {c.number_format for row in ws.iter_rows(min_row=5, min_col=3, max_col=8) for c in row
               if isinstance(c.value, int | float)}
    assert {"#,##0", '0.0"%"'} <= formats
    assert ws["A4"].font.bold and ws["A4"].fill.fgColor.rgb.endswith("1D3557")


def test_cli_summary_table(published_home):
    out = published_home.public_run_stderr
    assert "csc-warehouse run" in out
    for column in ("month", "outcome", "flags", "files / details"):
        assert column in out
    assert "2023-07" in out and "published" in out
    flat = "".join(out.split())
    assert "scorecard.xlsx" in flat and "public/scorecard.html" in flat
    assert str(published_home.month_dir(LAST)).replace(" ", "") in flat
