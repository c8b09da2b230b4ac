"""The data-quality worklist of an extract month: every quarantined row with its raw values.

The quality report says how many rows of which file failed which rule, and on which lines, but
never what they hold: ids, dates of birth and free text identify children. The council's data
team, who fix the records in the case-management system, need exactly that, as the DfE
validators' error lists give it. So the ingest writes, for each loaded month, one CSV **in the
private zone** (``HomePaths.worklist(month)``: ``<home>/private/worklists/<YYYY-MM>.csv``), with
one row per quarantined row and failed rule (a row failing two rules appears twice):

=============  ===========================================================================
table_name     the SSD table
file_name      the file of the extract folder
line_number    the line of the file the record starts on (the header is line 1)
record_key     the record's primary key, as sent
person_id      the child's person id, as sent (the key itself in ssd_person; empty in a
               table without a person column)
rule           the validity rule (contract, "Validity rules"; ``format``, ``key`` ...)
column_name    the column that fails
value          the failing value, as sent (empty when the value is missing)
message        the whole message, values included
=============  ===========================================================================

The ingest is its only writer (``load_extract``): the CSV is written with DuckDB's COPY from the
load's failures table (no row passes through Python), next to its final name before the load's
transaction commits, and renamed over it after the commit, so it always describes the month as
loaded; a rejected load leaves the previous worklist. A text that a spreadsheet would run as a
formula (``=1+1``: the ids a council sends are not checked yet when they are written here) gets
a ``'`` in front, as in every CSV the warehouse writes (``dagster_project.safe_text``).

``csc-warehouse worklist --month YYYY-MM`` prints it (dagster_project/cli/worklist.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from dagster_project.safe_text import FORMULA_STARTS, PREFIX
from dagster_project.warehouse_sql import sql_literal

WORKLIST_COLUMNS = (
    "table_name", "file_name", "line_number", "record_key", "person_id", "rule", "column_name", "value",
    "message",
)  # fmt: skip
_AS_SENT = ("record_key", "person_id", "column_name", "value", "message")  # text that may start a formula
_MONTH_FILE = re.compile(r"^(\d{4}-\d{2})\.csv$")


def worklist_command(home: Path | str, month: str) -> str:
    """The command that prints the worklist of extract month ``month`` (YYYY-MM) of ``home``."""
    return f"csc-warehouse worklist --home {home} --month {month}"


def _spreadsheet_safe(column: str) -> str:
    starts = ", ".join(sql_literal(c) for c in FORMULA_STARTS)
    return f"CASE WHEN left({column}, 1) IN ({starts}) THEN {sql_literal(PREFIX)} || {column} ELSE {column} END"


def worklist_sql(failures: str, files: dict[str, str]) -> str:
    """The worklist rows from the loader's failures table (``validity.FAILURE_COLUMNS``);
    ``files``: table name -> file name."""
    names = ", ".join(f"({sql_literal(t)}, {sql_literal(f)})" for t, f in sorted(files.items()))
    selected = ", ".join(
        f"{_spreadsheet_safe('f.' + c)} AS {c}" if c in _AS_SENT else f"{'n' if c == 'file_name' else 'f'}.{c}"
        for c in WORKLIST_COLUMNS
    )
    return (
        f"SELECT {selected} FROM {failures} AS f JOIN (VALUES {names}) AS n(table_name, file_name) "
        "ON n.table_name = f.table_name ORDER BY f.table_name, f.line_number, f.rule, f.column_name"
    )


def stage_worklist(con: duckdb.DuckDBPyConnection, failures: str, files: dict[str, str], path: Path) -> Path:
    """Write the worklist beside ``path`` (readable by the service account only) and return where:
    the caller renames it over ``path`` once the load has committed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    staged.touch(mode=0o600)
    con.execute(f"COPY ({worklist_sql(failures, files)}) TO {sql_literal(str(staged))} (FORMAT csv, HEADER true)")
    os.chmod(staged, 0o600)
    return staged


def worklist_months(worklists: Path) -> list[str]:
    """The months (``YYYY-MM``) that have a worklist in the folder ``worklists``."""
    if not worklists.is_dir():
        return []
    return sorted(m.group(1) for p in worklists.iterdir() if (m := _MONTH_FILE.match(p.name)))
