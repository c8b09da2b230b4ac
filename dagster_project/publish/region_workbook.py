"""The region's benchmark workbook, ``benchmark.xlsx``: an ``About`` sheet, then one sheet per measure.

A measure's sheet has a row per council (its figure in every month of the pool, as it published
it: ``c`` where suppressed, ``n/a`` not available, ``no data``; and its rank in the newest month)
and, under them, the group's median, quartiles, minimum and maximum and how many councils had a
value, month by month. Every number is a row of ``fct_scorecard_benchmark``, written with the
council workbook's cell rules (:mod:`dagster_project.publish.outputs.xlsx`). The same benchmark
gives the same bytes (the workbook is stamped with its newest month).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment

from dagster_project.publish.outputs.data import COUNT
from dagster_project.publish.outputs.xlsx import (
    BOLD,
    GREY,
    excel_number,
    header,
    number_format,
    print_setup,
    put,
    save_reproducibly,
    title,
)
from dagster_project.publish.region_page import POOL_BASIS

NO_VALUE = {"suppressed": "c", "not_available": "n/a", "no_data": "no data"}
RIGHT = Alignment(horizontal="right")
STATISTICS = (("group_median", "Median of the group"), ("group_lower_quartile", "Lower quartile"),
              ("group_upper_quartile", "Upper quartile"), ("group_min", "Lowest"), ("group_max", "Highest"),
              ("councils_with_value", "Councils with a value"))


def _about(wb: Workbook, councils: list[tuple[str, str, str]], months: list) -> None:
    ws = wb.active
    ws.title = "About"
    title(ws, "Regional benchmark", f"{len(councils)} councils, {months[0]:%B %Y} to {months[-1]:%B %Y}")
    lines = (POOL_BASIS,
             "Median and quartiles interpolate between councils (percentile_cont); only councils with a value "
             "count. Rank 1 is the best value by the measure's polarity; equal values share a rank. A month in "
             "which a council's figure is suppressed, or fewer than two councils have a value, has no group "
             "figures and no ranks: they would leave the suppressed councils out.",
             "One sheet per measure, in the scorecard's order.")
    for i, line in enumerate(lines, 4):
        put(ws, i, 1, line)
    header(ws, 8, ("LA code", "council", "region"))
    for i, council in enumerate(councils, 9):
        for col, text in enumerate(council, 1):
            put(ws, i, col, text)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width, ws.column_dimensions["C"].width = 10, 48, 28


def _measure_sheet(wb: Workbook, rows: list[dict], months: list, sheet_name: str) -> None:
    first = rows[0]
    unit, polarity = first["unit"], first["polarity"]
    ws = wb.create_sheet(sheet_name)
    title(ws, first["measure_name"], f"{'Higher' if polarity == 'High' else 'Lower'} is better. Measure id: "
                                     f"{first['measure_id']}")
    header(ws, 4, ["council", "LA code", *(f"{m:%b %Y}" for m in months), f"rank {months[-1]:%b %Y}"])
    by_council: dict[tuple[str, str], dict] = defaultdict(dict)
    group: dict = {}
    for r in rows:
        by_council[(r["la_name"], r["la_code"])][r["month"]] = r
        group[r["month"]] = r
    line = 5
    for (name, code), figures in sorted(by_council.items(), key=lambda kv: kv[0][1]):
        put(ws, line, 1, name)
        put(ws, line, 2, code)
        for col, month in enumerate(months, 3):
            r = figures.get(month)
            if r is None or r["value"] is None:
                text = "not published" if r is None else NO_VALUE.get(r["availability"], r["availability"])
                c = put(ws, line, col, text)
                c.font, c.alignment = GREY, RIGHT
            else:
                put(ws, line, col, excel_number(r["value"], unit), number_format(unit))
        latest = figures.get(months[-1])
        put(ws, line, len(months) + 3, latest["rank_in_group"] if latest else None)
        line += 1
    for key, label in STATISTICS:
        line += key == STATISTICS[0][0]  # a blank row before the group's figures
        put(ws, line, 1, label).font = BOLD
        for col, month in enumerate(months, 3):
            value = group[month][key] if month in group else None
            if key == "councils_with_value":
                put(ws, line, col, value)
            elif value is not None:  # a count's median or quartile can fall between two counts: 10.5
                put(ws, line, col, *((round(value, 1), "#,##0.0") if unit == COUNT
                                     else (excel_number(value, unit), number_format(unit))))
        line += 1
    ws.column_dimensions["A"].width = 48
    ws.freeze_panes = "C5"
    print_setup(ws, "4:4")


def write_workbook(rows: list[dict], path: Path) -> Path:
    """benchmark.xlsx from the benchmark ``rows`` (``region.benchmark_rows``: in the scorecard's measure order)."""
    months = sorted({r["month"] for r in rows})
    councils = sorted({(r["la_code"], r["la_name"], r["region_name"]) for r in rows})
    wb = Workbook()
    _about(wb, councils, months)
    by_measure: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_measure[r["measure_id"]].append(r)
    for i, series in enumerate(by_measure.values(), 1):
        _measure_sheet(wb, series, months, f"{i:02d} {series[0]['measure_id']}"[:31])
    save_reproducibly(wb, path, datetime(months[-1].year, months[-1].month, months[-1].day))
    return path
