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

from dagster_project.ingest.worklist import worklist_months
from dagster_project.settings import HomePaths
from dagster_project.wording import counted

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


GROUP = ("file_name", "rule", "column_name")  # one table each: what the data team fixes together
SHOWN = ("line_number", "record_key", "person_id", "value", "message")


def print_table(path: Path, month: date, limit: int, console: Console) -> int:
    """The worklist as one table per file, rule and column (the first ``limit`` rows of each; 0:
    all), each row's line, ids, value and message: narrow enough for a terminal, and every rule
    shows its rows however many another has. Returns the number of rows."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    counts: dict[tuple[str, ...], int] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for record in csv.DictReader(f):
            key = tuple(record.get(c) or "" for c in GROUP)
            counts[key] = counts.get(key, 0) + 1
            if not limit or counts[key] <= limit:
                groups.setdefault(key, []).append(record)
    rows = sum(counts.values())
    if rows == 0:
        console.print(f"No row of {month:%Y-%m} failed a validity rule ({path}).")
        return 0
    console.print(f"Data-quality worklist {month:%Y-%m} ({path})")
    for key, records in groups.items():
        file_name, rule, column = key
        shown = f" ({len(records):,} shown)" if len(records) < counts[key] else ""
        title = (f"{file_name}: rule {rule}" + (f" on {column}" if column else "")
                 + f", {counted(counts[key], 'row')}{shown}")
        table = Table(title=_plain(title), title_justify="left", show_lines=False)
        for column_name in SHOWN:  # lines and ids whole, on one line; the value as sent and the message fold
            table.add_column(HEADINGS[column_name], overflow="fold", no_wrap=column_name not in ("value", "message"),
                             justify="right" if column_name == "line_number" else "left")
        for record in records:
            table.add_row(*(_plain(record.get(c) or "") for c in SHOWN))
        console.print(table)
    cut = any(len(records) < counts[key] for key, records in groups.items())
    more = f"; the first {limit} of each rule shown, all with --csv or --limit 0" if cut else ""
    console.print(f"{counted(rows, 'failure')} (one row per quarantined row and rule) in "
                  f"{counted(len(groups), 'group')} of file, rule and column{more}.")
    return rows
