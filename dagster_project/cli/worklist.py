"""``csc-warehouse worklist``: print a month's data-quality worklist (dagster_project/ingest/worklist.py).

The worklist is private (raw ids, dates of birth, values as sent): it is read from the home's
private zone and printed for the person running the command, the council's data team. As a
table, values are shown as plain text (no console markup, control characters made visible);
with ``--csv`` the file is copied to stdout byte for byte.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dagster_project.ingest.worklist import WORKLIST_COLUMNS, worklist_months
from dagster_project.settings import HomePaths

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HEADINGS = {
    "table_name": "table", "file_name": "file", "line_number": "line", "record_key": "record key",
    "person_id": "person id", "rule": "rule", "column_name": "column", "value": "value", "message": "message",
}  # fmt: skip


class NoWorklist(Exception):
    """The month has no worklist; the message says which months have one."""


def worklist_path(home: Path, month: date) -> Path:
    """The month's worklist, or NoWorklist naming the months that have one."""
    paths = HomePaths(home.resolve())
    path = paths.worklist(month)
    if path.is_file():
        return path
    folder = path.parent
    months = worklist_months(folder)
    which = f"months with one: {', '.join(months)}" if months else "no month has one yet"
    raise NoWorklist(
        f"no worklist for {month:%Y-%m} in {folder} ({which}); the ingest writes a month's worklist "
        "when it loads the month (`csc-warehouse run --month YYYY-MM`)"
    )


def _plain(value: str) -> Text:
    """A cell as sent, shown and never interpreted: no markup, control characters as \\xNN."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value))


def print_csv(path: Path) -> None:
    with path.open("rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
    sys.stdout.buffer.flush()


def print_table(path: Path, month: date, limit: int, console: Console) -> int:
    """The worklist as a table (the first ``limit`` rows; 0: all); returns its number of rows."""
    table = Table(title=f"Data-quality worklist {month:%Y-%m} ({path})", show_lines=False)
    for column in WORKLIST_COLUMNS:
        table.add_column(HEADINGS[column], overflow="fold", justify="right" if column == "line_number" else "left")
    rows = 0
    with path.open(encoding="utf-8", newline="") as f:
        for record in csv.DictReader(f):
            rows += 1
            if limit and rows > limit:
                continue
            table.add_row(*(_plain(record.get(c) or "") for c in WORKLIST_COLUMNS))
    if rows == 0:
        console.print(f"No row of {month:%Y-%m} failed a validity rule ({path}).")
        return 0
    console.print(table)
    shown = min(rows, limit) if limit else rows
    more = f"; the first {shown} shown, all with --csv or --limit 0" if shown < rows else ""
    console.print(f"{rows:,} failures (one row per quarantined row and rule){more}.")
    return rows
