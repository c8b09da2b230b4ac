"""``csc-warehouse explain``: the children and records behind a published figure (drill-through).

The list is ``fct_scorecard_members`` of the analysts' warehouse (``<home>/published/warehouse.duckdb``):
the very rows dbt counts to make each numerator and denominator of ``fct_scorecard`` (a dbt test
checks every count), so the list and the published figure cannot disagree. Nothing is computed
here: the command only reads, filters and prints.

It reads the published warehouse read-only, through the file the link points at now (as the
README tells analysts), so it never blocks a run and never sees a half-written file. The list
names children only by ``child_key`` and records by the case-management system's ids: it is for
staff inside the council (internal), never part of the public variant.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dagster_project.safe_text import safe_text
from dagster_project.settings import HomePaths

PARTS = ("numerator", "denominator")
COLUMNS = (
    "measure_id", "month", "part", "child_key", "record_type", "record_key", "record_date",
    "start_date", "end_date", "due_date", "working_days", "detail",
)  # fmt: skip
HEADINGS = {
    "part": "part", "child_key": "child_key", "record_type": "record", "record_key": "record key",
    "record_date": "date", "start_date": "from", "end_date": "to", "due_date": "due",
    "working_days": "WD", "detail": "detail",
}  # fmt: skip


class ExplainRefused(Exception):
    """Nothing to explain (no published warehouse, unknown measure or month); the message says why
    and lists what is valid."""


@dataclass(frozen=True)
class Figure:
    """A published figure, as fct_scorecard holds it."""

    measure_id: str
    measure_name: str
    month: date
    unit: str
    value: float | None
    numerator: int | None
    denominator: int | None
    availability: str
    extract_month: date

    def describe(self) -> str:
        if self.availability != "available":
            shown = {"no_data": "no data", "not_available": "not available"}.get(self.availability, self.availability)
        elif self.unit == "count":
            shown = f"{self.value:,.0f}"
        else:
            shown = f"{self.value:.1f}%"
        parts = [f"numerator {self.numerator:,}" if self.numerator is not None else "numerator -"]
        if self.unit != "count":
            parts.append(f"denominator {self.denominator:,}" if self.denominator is not None else "denominator -")
        return f"{self.measure_id} {self.month:%Y-%m}: {shown} ({', '.join(parts)})"


def published_warehouse(home: Path) -> Path:
    """The file the published warehouse link points at now (connect to it, not to the link)."""
    link = HomePaths(home.resolve()).published_db
    if not link.exists():
        raise ExplainRefused(f"nothing is published in {link.parent} yet: run `csc-warehouse run` first")
    return Path(os.path.realpath(link))


def _months(con: duckdb.DuckDBPyConnection) -> list[date]:
    return [r[0] for r in con.execute("select distinct month from main.fct_scorecard order by month").fetchall()]


def find_figure(con: duckdb.DuckDBPyConnection, measure: str, month: date) -> Figure:
    """The published figure, or ExplainRefused listing the valid measures or months."""
    measures = [r[0] for r in con.execute(
        "select measure_id from main.dim_measure order by sort_order").fetchall()]
    if measure not in measures:
        raise ExplainRefused(f"unknown measure {measure!r}; the measures are: {', '.join(measures)}")
    months = _months(con)
    if month not in months:
        valid = ", ".join(f"{m:%Y-%m}" for m in months)
        raise ExplainRefused(f"no published figure for {month:%Y-%m}; the published months are: {valid}")
    row = con.execute(
        "select measure_id, measure_name, month, unit, value, numerator, denominator, availability, extract_month "
        "from main.fct_scorecard where measure_id = ? and month = ?", [measure, month]).fetchone()
    return Figure(*row)


def find_members(con: duckdb.DuckDBPyConnection, measure: str, month: date, part: str | None = None) -> list[tuple]:
    """The rows of fct_scorecard_members behind the figure (COLUMNS order): the numerator's
    first, then the denominator's, each by record date and key."""
    where = "measure_id = ? and month = ?" + (" and part = ?" if part else "")
    params = [measure, month, *([part] if part else [])]
    return con.execute(
        f"select {', '.join(COLUMNS)} from main.fct_scorecard_members where {where} "
        "order by case part when 'numerator' then 0 else 1 end, record_date, record_key, child_key",
        params,
    ).fetchall()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(rows: list[tuple], out: TextIO) -> None:
    """The list as CSV (header, then one row per record); text that a spreadsheet would run is
    neutralised (dagster_project.safe_text)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([safe_text(_cell(v)) if isinstance(v, str) else _cell(v) for v in row])


def counts(rows: list[tuple]) -> dict[str, int]:
    """Records per part of the list."""
    out = dict.fromkeys(PARTS, 0)
    for row in rows:
        out[row[COLUMNS.index("part")]] += 1
    return out


SHORT_KEY = 12  # hex characters of child_key on a terminal (48 bits: no two children of a council share them)


def print_table(figure: Figure, rows: list[tuple], part: str | None, limit: int, console: Console) -> None:
    """The records as tables that fit a terminal: one per part (numerator, denominator), child_key
    shortened (--csv has it whole), the record type in the title when it is the same for every
    record, and the columns this measure leaves empty left out (a count of contacts has no due date)."""
    listed = [dict(zip(COLUMNS, row, strict=True)) for row in (rows[:limit] if limit else rows)]
    console.print(f"{figure.measure_name}\n{figure.describe()}")
    for shown_part in PARTS:
        records = [r for r in listed if r["part"] == shown_part]
        if records:
            console.print(_part_table(shown_part, records))
    console.print(_summary(figure, rows, part, limit))


def _part_table(part: str, records: list[dict]) -> Table:
    kinds = {r["record_type"] for r in records}
    one_kind = len(kinds) == 1
    columns = [c for c in HEADINGS if c in ("child_key", "record_key") or (c == "record_type" and not one_kind)
               or (c not in ("part", "record_type") and any(r[c] is not None for r in records))]
    title = f"{part}" + (f" ({kinds.pop()} records)" if one_kind else "") + f": {len(records):,} shown"
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:  # keys and dates whole, on one line; the words fold
        table.add_column(HEADINGS[column], overflow="fold", no_wrap=column not in ("record_type", "detail"),
                         justify="right" if column == "working_days" else "left")
    for values in records:
        shown = {**values, "child_key": (values["child_key"] or "")[:SHORT_KEY]}
        table.add_row(*(Text(_cell(shown[c])) for c in columns))
    return table


def _summary(figure: Figure, rows: list[tuple], part: str | None, limit: int) -> str:
    listed = counts(rows)
    parts = [part] if part else (["numerator"] if figure.unit == "count" else list(PARTS))
    said = "; ".join(f"{listed[p]:,} record(s) in the {p}" for p in parts)
    if figure.availability == "not_available":
        said += " (the figure is not available: the extract lacks the optional data it needs)"
    elif figure.availability == "no_data" and not rows:
        said += " (no data for this month)"
    more = f"; the first {limit} shown, all with --csv or --limit 0" if limit and len(rows) > limit else ""
    return (f"{said}{more}. From {figure.extract_month:%Y-%m}'s extract; internal: children as child_key only "
            f"(its first {SHORT_KEY} characters here, whole with --csv).")


def explain(home: Path, month: date, measure: str, part: str | None, csv_file: Path | None, limit: int,
            console: Console, messages: Console) -> list[tuple]:
    """Print (or write as CSV) the records behind one published figure; returns them."""
    path = published_warehouse(home)
    with duckdb.connect(str(path), read_only=True) as con:
        figure = find_figure(con, measure, month)
        rows = find_members(con, measure, month, part)
    if csv_file is None:
        print_table(figure, rows, part, limit, console)
    elif str(csv_file) == "-":
        write_csv(rows, sys.stdout)
        sys.stdout.flush()
    else:
        with csv_file.open("w", encoding="utf-8", newline="") as out:
            write_csv(rows, out)
        messages.print(f"{figure.describe()}: wrote {len(rows):,} record(s) to {csv_file}")
    return rows
