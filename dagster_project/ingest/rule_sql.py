"""SQL building blocks of the validity rules (``dagster_project.ingest.validity``).

A rule is a SELECT over a month's staged rows (``_stg_<table>``, aliased ``r``) returning one row
per failure with the columns ``FAILURE_COLUMNS``: :func:`failure` for a rule that needs other
rows or tables, :class:`Check` for one that looks at a row alone (all of a table's checks run in
one scan, :func:`row_checks_sql`).

Each failure has two texts. ``reason`` is built from the rule and the column names only
("clae_cla_episode_start_date is before the date of birth of clae_person_id"): it is what
``raw.quarantine.message`` holds and what any report shows, since the values of a failing row
identify a child (ids, dates of birth, free text). ``message`` also names the values
("clae_cla_episode_start_date 2005-07-26 is before the date of birth 2006-08-30 of clae_person_id
P01800"): it goes, with the raw values, the line of the file and the person, only to the month's
data-quality worklist in the private zone (``dagster_project.ingest.worklist``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dagster_project.contract import RULES, Table
from dagster_project.extracts.reader import LINE_NUMBER, ROW_NUMBER
from dagster_project.warehouse_sql import sql_literal

# A failure as the rules find it (the loader's failures table, the worklist) ...
FAILURE_COLUMNS = (
    "table_name", "row_number", "line_number", "record_key", "person_id", "rule", "column_name", "value",
    "reason", "message",
)  # fmt: skip
# ... and as raw.quarantine keeps it (after extract_month): the value-free reason is its message.
QUARANTINE_COLUMNS = ("table_name", "row_number", "record_key", "rule", "column_name", "value", "reason")

# Rule ids (contract.RULES keys).
KEY = "key"
FK = "FK"
START_END = "356/8608/8630/8925/567"
NOT_BEFORE_REFERRAL = "1103/2889"
NOT_BEFORE_S47 = "8615"
WEEKEND = "8875"
BEFORE_BIRTH = "302/586"
OVERLAP = "501/574"
TOO_EARLY = "353"
FUTURE = "future"
CODES = "codes"
FORMAT = "format"
ALL_RULES = (KEY, FK, START_END, NOT_BEFORE_REFERRAL, NOT_BEFORE_S47, WEEKEND, BEFORE_BIRTH, OVERLAP)
ALL_RULES += (TOO_EARLY, FUTURE, CODES, FORMAT)
assert set(ALL_RULES) == set(RULES), "rule_sql.py and contract.RULES disagree"


@dataclass(frozen=True)
class RuleContext:
    """What the rules need to know about the month being loaded."""

    extract_date: date
    present: frozenset[str]  # tables whose file is in this extract


def staging(table_name: str) -> str:
    """Name of the temporary staging table of ``table_name``."""
    return f"_stg_{table_name}"


def kept(table_name: str) -> str:
    """The rows the rules look at: not a dropped duplicate, not a repeat of the header."""
    return f"(SELECT * FROM {staging(table_name)} WHERE NOT _dropped AND NOT _header)"


def sql_date(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def fmt(template: str, *args: str) -> str:
    """A DuckDB ``format()`` call: ``template`` has ``{}`` placeholders filled by the SQL ``args``."""
    return f"format({sql_literal(template)}{''.join(', ' + a for a in args)})"


def person_sql(table: Table) -> str:
    """SQL of the row's person id (the key of ssd_person), or NULL for a table without one."""
    column = table.person_column or (table.key if table.name == "ssd_person" else None)
    return f"CAST(r.{column} AS VARCHAR)" if column else "CAST(NULL AS VARCHAR)"


def failure(
    table: Table, rule: str, column: str, *, value: str, reason: str, message: str, where: str,
    source: str | None = None,
) -> str:
    """SELECT of failures (``FAILURE_COLUMNS``) for the rows of ``source`` (default: the kept
    rows of ``table``), aliased ``r``, that satisfy ``where``. ``value`` and ``message`` are SQL,
    ``reason`` is text naming no value."""
    source = source or f"{kept(table.name)} AS r"
    return (
        f"SELECT {sql_literal(table.name)} AS table_name, r.{ROW_NUMBER} AS row_number, "
        f"r.{LINE_NUMBER} AS line_number, CAST(r.{table.key} AS VARCHAR) AS record_key, "
        f"{person_sql(table)} AS person_id, {sql_literal(rule)} AS rule, {sql_literal(column)} AS column_name, "
        f"CAST({value} AS VARCHAR) AS value, {sql_literal(reason)} AS reason, {message} AS message "
        f"FROM {source} WHERE {where}"
    )  # fmt: skip


@dataclass(frozen=True)
class Check:
    """A rule checked on each row alone; SQL over the row aliased ``r`` (``reason`` is text)."""

    rule: str
    column: str
    value: str
    reason: str
    message: str
    where: str


def row_checks_sql(table: Table, checks: list[Check]) -> str:
    """One scan of the kept rows for all single-row checks: only failing rows build the list
    of their failures, which is unnested into one failure row per failure."""
    failures = ", ".join(
        f"CASE WHEN {c.where} THEN {{'rule': {sql_literal(c.rule)}, 'column_name': {sql_literal(c.column)}, "
        f"'value': CAST({c.value} AS VARCHAR), 'reason': {sql_literal(c.reason)}, 'message': {c.message}}} END"
        for c in checks
    )
    any_failure = " OR ".join(f"({c.where})" for c in checks)
    return (
        f"SELECT {sql_literal(table.name)} AS table_name, row_number, line_number, record_key, person_id, f.rule, "
        f"f.column_name, f.value, f.reason, f.message FROM (SELECT r.{ROW_NUMBER} AS row_number, "
        f"r.{LINE_NUMBER} AS line_number, CAST(r.{table.key} AS VARCHAR) AS record_key, "
        f"{person_sql(table)} AS person_id, "
        f"unnest(list_filter([{failures}], lambda x: x IS NOT NULL)) AS f "
        f"FROM {kept(table.name)} AS r WHERE {any_failure})"
    )


