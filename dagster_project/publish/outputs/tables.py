"""The scorecard as a table: ``scorecard.csv`` and ``scorecard.parquet``, one row per measure and month.

Both have the same columns in the same order: the documented columns first
(:data:`CSV_COLUMNS`, unchanged), then the figure's status and flags (:data:`STATUS_COLUMNS`,
added at the end so readers of the documented layout are unaffected). The CSV writes numbers at
their published precision and every text cell through :func:`dagster_project.safe_text.safe_text`
(a spreadsheet shows it, never runs it); a suppressed number of the public variant is ``c``.
The Parquet file is typed (dates as DATE, counts as BIGINT, figures as DOUBLE) for pandas, polars,
R or Power BI; its text is as in the warehouse, and a suppressed number is NULL. In both, a row
whose value is suppressed has ``availability`` ``suppressed`` (:attr:`Figure.shown_availability`,
as the workbook and the regional benchmark say it). Percentages are 0-100 in both, as in
``fct_scorecard``.

The Parquet file is written by DuckDB (``COPY ... (FORMAT parquet)``) from an in-memory table
filled (from Arrow columns) in the publication's order, so the same publication gives the same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.publish.outputs.data import COUNT, SUPPRESSED, Figure, Measure, Publication
from dagster_project.publish.outputs.present import FLAG_WORDS
from dagster_project.safe_text import safe_text
from dagster_project.warehouse_sql import sql_literal

CSV_COLUMNS = ("measure_id", "month", "value", "numerator", "denominator", "availability", "measure_name",
               "section", "polarity", "unit", "extract_month")
# fct_scorecard_status's columns, as named there (the earlier values themselves are in the warehouse)
STATUS_COLUMNS = ("target", "amber_band", "target_comparator", "target_source", "rag_status",
                  "direction_vs_previous_month", "direction_vs_same_month_last_year", "flags")
COLUMNS = CSV_COLUMNS + STATUS_COLUMNS
PARQUET_TYPES = {"month": "DATE", "extract_month": "DATE", "value": "DOUBLE", "numerator": "BIGINT",
                 "denominator": "BIGINT", "target": "DOUBLE", "amber_band": "DOUBLE"}
ARROW_TYPES = {"DATE": pa.date32(), "DOUBLE": pa.float64(), "BIGINT": pa.int64(), "VARCHAR": pa.string()}


def _rows(pub: Publication) -> list[tuple[Measure, Figure]]:
    return [(m, pub.figure(m.measure_id, month)) for m in pub.measures for month in pub.months]


def _flags(fig: Figure) -> str | None:
    return ";".join(FLAG_WORDS[f].replace(" ", "_") for f in fig.flags) or None


def _csv_number(value: float | int | None, unit: str, suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED
    if value is None:
        return ""
    return f"{int(value)}" if unit == COUNT else f"{value:.1f}"


def _csv_count(value: int | None, suppressed: bool) -> str:
    return SUPPRESSED if suppressed else ("" if value is None else str(value))


def write_scorecard_csv(pub: Publication, path: Path) -> Path:
    """scorecard.csv, internal or public."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for m, fig in _rows(pub):
            st = fig.status
            w.writerow([
                safe_text(m.measure_id), f"{fig.month:%Y-%m}",
                _csv_number(fig.value, m.unit, fig.is_suppressed("value")),
                _csv_count(fig.numerator, fig.is_suppressed("numerator")),
                _csv_count(fig.denominator, fig.is_suppressed("denominator")),
                *map(safe_text, (fig.shown_availability, m.name, m.section, m.polarity, m.unit)), f"{pub.month:%Y-%m}",
                _csv_number(st.target, m.unit), _csv_number(st.amber_band, m.unit),
                *(safe_text(t or "") for t in (st.target_comparator, st.target_source, st.rag_status,
                                              st.direction_vs_previous_month, st.direction_vs_same_month_last_year,
                                              _flags(fig))),
            ])
    return path


def _parquet_row(pub: Publication, m: Measure, fig: Figure) -> tuple:
    st = fig.status
    return (m.measure_id, fig.month, fig.value, fig.numerator, fig.denominator,
            fig.shown_availability,
            m.name, m.section, m.polarity, m.unit, pub.month, st.target, st.amber_band, st.target_comparator,
            st.target_source, st.rag_status, st.direction_vs_previous_month, st.direction_vs_same_month_last_year,
            _flags(fig))


def write_scorecard_parquet(pub: Publication, path: Path) -> Path:
    """scorecard.parquet, internal or public (the public one is written from suppressed data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f'"{c}" {PARQUET_TYPES.get(c, "VARCHAR")}' for c in COLUMNS)
    values = [_parquet_row(pub, m, fig) for m, fig in _rows(pub)]
    rows = pa.table({c: pa.array([row[i] for row in values], ARROW_TYPES[PARQUET_TYPES.get(c, "VARCHAR")])
                     for i, c in enumerate(COLUMNS)})
    con = duckdb.connect()  # in memory: the file is a function of the publication only
    try:
        con.execute(f"CREATE TABLE scorecard ({columns})")
        # one insert of the rows as columns (executemany ran an insert per row: 0.2-0.4 s a file). The
        # table stays: written from it, a column without NULLs is REQUIRED in the file's schema; written
        # straight from the Arrow table, every column is OPTIONAL (other bytes, another schema)
        con.register("scorecard_rows", rows)
        con.execute("INSERT INTO scorecard SELECT * FROM scorecard_rows")
        con.execute(f"COPY scorecard TO {sql_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    return path
