"""The contract's validity rules as set-based DuckDB SQL over one month's staged rows.

The loader stages every file of the month in a temporary table ``_stg_<table>``: the staging
shape of ``dagster_project.extracts.reader`` plus ``_dropped`` (an exact duplicate) and
``_failed`` (fails a rule). This module writes the SQL that

* stages a batch, checking JSON on the way in (``staging_insert_sql``);
* marks exact duplicate rows, all but the first of each group (``mark_duplicates_sql``), and
  reports them under rule ``key`` (``duplicates_sql``);
* finds every failure of every rule among the rows kept (``failures_sql``), one output row per
  failure with the columns of ``raw.quarantine`` (minus ``extract_month``);
* marks the failing rows (``mark_failed_sql``).

Rule ids are the keys of ``contract.RULES``. Cross-table rules read the referenced table's file
as sent (every row, valid or not): a reference resolves when its key is present in that file, and
dates are compared with what that file says. Rules never see dropped duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from dagster_project.contract import (
    CODE,
    CODE_REQUIRED_WHEN,
    DATE_KINDS,
    DOB,
    EARLIEST_EVENT,
    EVENT,
    FLAG,
    ID,
    JSON,
    NUMBER,
    RULES,
    TABLES_BY_NAME,
    Column,
    Table,
    code_lists,
)
from dagster_project.extracts.reader import ROW_NUMBER, bad_column, is_parsed, value_columns

DUPLICATE_MESSAGE = "exact duplicate row dropped"
MAX_ID_LENGTH = 48
QUARANTINE_COLUMNS = ("table_name", "row_number", "record_key", "rule", "column_name", "value", "message")

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
assert set(ALL_RULES) == set(RULES), "validity.py and contract.RULES disagree"


@dataclass(frozen=True)
class NotBeforeParent:
    """``table.column`` must not be before ``parent_column`` of the ``parent_table`` row it
    references (the referencing column is found in ``Table.references``)."""

    rule: str
    table: str
    column: str
    parent_table: str
    parent_column: str
    what: str  # the parent date, in messages


NOT_BEFORE_PARENT = (
    NotBeforeParent(NOT_BEFORE_REFERRAL, "ssd_cin_assessments", "cina_assessment_start_date",
                    "ssd_cin_episodes", "cine_referral_date", "referral date"),
    NotBeforeParent(NOT_BEFORE_REFERRAL, "ssd_s47_enquiry", "s47e_s47_start_date",
                    "ssd_cin_episodes", "cine_referral_date", "referral date"),
    NotBeforeParent(NOT_BEFORE_S47, "ssd_initial_cp_conference", "icpc_icpc_date",
                    "ssd_s47_enquiry", "s47e_s47_start_date", "S47 start date"),
)  # fmt: skip
# (rule, table, column): the date must be a weekday.
WEEKDAYS_ONLY = ((WEEKEND, "ssd_initial_cp_conference", "icpc_icpc_date"),)

_OPEN_END = "DATE '9999-12-31'"
_FORMAT_WHAT = {FLAG: "a flag (Y/N, Yes/No, TRUE/FALSE, 1/0)", NUMBER: "a finite number"}
_DATE_WHAT = "a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.fff] or DD/MM/YYYY)"


@dataclass(frozen=True)
class RuleContext:
    """What the rules need to know about the month being loaded."""

    extract_date: date
    present: frozenset[str]  # tables whose file is in this extract


def staging(table_name: str) -> str:
    """Name of the temporary staging table of ``table_name``."""
    return f"_stg_{table_name}"


def _kept(table_name: str) -> str:
    return f"(SELECT * FROM {staging(table_name)} WHERE NOT _dropped)"


def sql_text(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def sql_date(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def _fmt(template: str, *args: str) -> str:
    """A DuckDB ``format()`` call: ``template`` has ``{}`` placeholders filled by the SQL ``args``."""
    return f"format({sql_text(template)}{''.join(', ' + a for a in args)})"


def _failure(
    table: Table, rule: str, column: str, *, value: str, message: str, where: str, source: str | None = None
) -> str:
    """SELECT of quarantine rows for the rows of ``source`` (default: the kept rows of
    ``table``), aliased ``r``, that satisfy ``where``. ``value`` and ``message`` are SQL."""
    source = source or f"{_kept(table.name)} AS r"
    return (
        f"SELECT {sql_text(table.name)} AS table_name, r.{ROW_NUMBER} AS row_number, "
        f"CAST(r.{table.key} AS VARCHAR) AS record_key, {sql_text(rule)} AS rule, "
        f"{sql_text(column)} AS column_name, CAST({value} AS VARCHAR) AS value, {message} AS message "
        f"FROM {source} WHERE {where}"
    )


@dataclass(frozen=True)
class Check:
    """A rule checked on each row alone; SQL over the row aliased ``r``."""

    rule: str
    column: str
    value: str
    message: str
    where: str


def _row_checks_sql(table: Table, checks: list[Check]) -> str:
    """One scan of the kept rows for all single-row checks: only failing rows build the list
    of their failures, which is unnested into one quarantine row per failure."""
    failures = ", ".join(
        f"CASE WHEN {c.where} THEN {{'rule': {sql_text(c.rule)}, 'column_name': {sql_text(c.column)}, "
        f"'value': CAST({c.value} AS VARCHAR), 'message': {c.message}}} END"
        for c in checks
    )
    any_failure = " OR ".join(f"({c.where})" for c in checks)
    return (
        f"SELECT {sql_text(table.name)} AS table_name, row_number, record_key, f.rule, f.column_name, "
        f"f.value, f.message FROM (SELECT r.{ROW_NUMBER} AS row_number, CAST(r.{table.key} AS VARCHAR) "
        f"AS record_key, unnest(list_filter([{failures}], lambda x: x IS NOT NULL)) AS f "
        f"FROM {_kept(table.name)} AS r WHERE {any_failure})"
    )


# --------------------------------------------------------------------------------------------
# Staging, duplicates, marking


def staging_insert_sql(table: Table, source: str) -> str:
    """Insert a batch in staging shape from ``source`` into the staging table, checking JSON.

    A JSON column's text must be a JSON object as DuckDB's JSON reader (which dbt uses to read
    it) accepts it; otherwise the value is NULL and its text goes to ``_bad_<column>``.
    """
    names = [c.name for c in table.columns if c.kind == JSON]
    if not names:
        return f"INSERT INTO {staging(table.name)} BY NAME SELECT * FROM {source}"
    checked = ", ".join(
        f"({n} IS NULL OR (json_valid({n}) AND starts_with({n}, '{{'))) AS _ok_{n}" for n in names
    )
    replaced = ", ".join(
        f"CASE WHEN _ok_{n} THEN {n} END AS {n}, CASE WHEN NOT _ok_{n} THEN {n} END AS {bad_column(n)}"
        for n in names
    )
    oks = ", ".join(f"_ok_{n}" for n in names)
    return (
        f"INSERT INTO {staging(table.name)} BY NAME SELECT * EXCLUDE ({oks}) REPLACE ({replaced}) "
        f"FROM (SELECT *, {checked} FROM {source})"
    )


def mark_duplicates_sql(table: Table) -> str:
    """Mark all but the first of each group of identical rows as ``_dropped``.

    Rows are identical when every value read is equal (typed values, unreadable texts and extra
    columns); only rows whose key is shared or empty can be, so only those are compared.
    """
    stg, key = staging(table.name), table.key
    every_value = ", ".join(value_columns(table))
    shared = f"{key} IS NULL OR {key} IN (SELECT {key} FROM {stg} GROUP BY {key} HAVING count(*) > 1)"
    return f"""
        UPDATE {stg} SET _dropped = true
        WHERE {ROW_NUMBER} IN (
            SELECT {ROW_NUMBER} FROM (
                SELECT {ROW_NUMBER},
                       row_number() OVER (PARTITION BY {every_value} ORDER BY {ROW_NUMBER}) AS copy
                FROM {stg} WHERE {shared})
            WHERE copy > 1)"""


def duplicates_sql(table: Table) -> str:
    """One quarantine row per dropped exact duplicate."""
    return _failure(
        table, KEY, table.key,
        value=f"r.{table.key}", message=sql_text(DUPLICATE_MESSAGE),
        where="r._dropped", source=f"{staging(table.name)} AS r",
    )  # fmt: skip


def mark_failed_sql(table: Table, failures: str) -> str:
    """Set ``_failed`` on the rows that have a row in the ``failures`` table."""
    return (
        f"UPDATE {staging(table.name)} SET _failed = true WHERE {ROW_NUMBER} IN "
        f"(SELECT row_number FROM {failures} WHERE table_name = {sql_text(table.name)})"
    )


# --------------------------------------------------------------------------------------------
# The rules


def failures_sql(table: Table, ctx: RuleContext) -> str:
    """Every failure of every rule in ``table``, as one UNION ALL query."""
    return "\nUNION ALL\n".join(rule_queries(table, ctx))


def rule_queries(table: Table, ctx: RuleContext) -> list[str]:
    """The SELECTs finding the failures of ``table``: one for every single-row check, one per
    check that needs other rows (duplicated keys, references, overlaps)."""
    checks = [
        *key_present(table),
        *start_end_rule(table),
        *weekday_rule(table),
        *event_date_rules(table, ctx),
        *codes_rule(table),
        *format_rule(table),
    ]
    return [
        _row_checks_sql(table, checks),
        *key_unique(table),
        *fk_rule(table, ctx),
        *not_before_parent_rule(table, ctx),
        *before_birth_rule(table, ctx),
        *overlap_rule(table),
    ]


# --------------------------------------------------------------------------------------------
# Single-row checks (all of a table's run in one scan, see _row_checks_sql)


def key_present(table: Table) -> Iterator[Check]:
    """key: the key is present."""
    key = table.key
    yield Check(
        KEY, key, value="NULL", message=sql_text(f"primary key {key} is empty"), where=f"r.{key} IS NULL"
    )


def start_end_rule(table: Table) -> Iterator[Check]:
    """356/8608/8630/8925/567: the end date is not before the start date."""
    if table.start_end is None:
        return
    start, end = table.start_end
    yield Check(
        START_END, end,
        value=f"r.{end}",
        message=_fmt(f"{end} {{}} is before {start} {{}}", f"r.{end}", f"r.{start}"),
        where=f"r.{end} < r.{start}",
    )  # fmt: skip


def weekday_rule(table: Table) -> Iterator[Check]:
    """8875: the event is not on a Saturday or Sunday."""
    for rule, name, column in WEEKDAYS_ONLY:
        if name != table.name:
            continue
        col = f"r.{column}"
        yield Check(
            rule, column,
            value=col,
            message=_fmt(f"{column} {{}} is a {{}}", col, f"dayname({col})"),
            where=f"isodow({col}) IN (6, 7)",
        )  # fmt: skip


def event_date_rules(table: Table, ctx: RuleContext) -> Iterator[Check]:
    """353 (no event before 1991-10-14) and future (no event after the extract date); due and
    target dates are not events."""
    for column in table.columns:
        if column.kind != EVENT:
            continue
        name, col = column.name, f"r.{column.name}"
        yield Check(
            TOO_EARLY, name,
            value=col,
            message=_fmt(f"{name} {{}} is before {EARLIEST_EVENT.isoformat()}", col),
            where=f"{col} < {sql_date(EARLIEST_EVENT)}",
        )  # fmt: skip
        yield Check(
            FUTURE, name,
            value=col,
            message=_fmt(f"{name} {{}} is after the extract date {ctx.extract_date.isoformat()}", col),
            where=f"{col} > {sql_date(ctx.extract_date)}",
        )  # fmt: skip


def codes_rule(table: Table) -> Iterator[Check]:
    """codes: coded columns hold a listed code (values are already canonical); required codes
    are present, the ceased reason once the episode has ceased."""
    for column in table.columns:
        if column.kind != CODE or column.codes is None:
            continue
        name, col = column.name, f"r.{column.name}"
        codes = ", ".join(sql_text(c) for c in code_lists()[column.codes])
        yield Check(
            CODES, name,
            value=col,
            message=_fmt(f"{name} {{}} is not a {column.codes} code", col),
            where=f"{col} IS NOT NULL AND {col} NOT IN ({codes})",
        )  # fmt: skip
        yield from _required_code(table, column)


def _required_code(table: Table, column: Column) -> Iterator[Check]:
    name = column.name
    if column.code_required:
        yield Check(
            CODES, name,
            value="NULL", message=sql_text(f"{name} is empty"), where=f"r.{name} IS NULL",
        )  # fmt: skip
    when = CODE_REQUIRED_WHEN.get((table.name, name))
    if when is not None:
        yield Check(
            CODES, name,
            value="NULL", message=sql_text(f"{name} is empty although {when} is set"),
            where=f"r.{name} IS NULL AND r.{when} IS NOT NULL",
        )  # fmt: skip


def format_rule(table: Table) -> Iterator[Check]:
    """format: values that cannot be read as their type (original text in ``value``), and ids
    longer than the contract's 48 characters (kept as sent)."""
    for column in table.columns:
        name = column.name
        if is_parsed(column):
            bad = f"r.{bad_column(name)}"
            yield Check(
                FORMAT, name,
                value=bad, message=_format_message(column, bad), where=f"{bad} IS NOT NULL",
            )  # fmt: skip
        elif column.kind == ID:
            yield Check(
                FORMAT, name,
                value=f"r.{name}",
                message=_fmt(f"{name} is longer than {MAX_ID_LENGTH} characters ({{}})", f"length(r.{name})"),
                where=f"length(r.{name}) > {MAX_ID_LENGTH}",
            )  # fmt: skip


def _format_message(column: Column, value: str) -> str:
    if column.kind == JSON:  # the text may be long and identifying (COMMENTS): not in the message
        return sql_text(f"{column.name} is not a valid JSON object")
    what = _DATE_WHAT if column.kind in DATE_KINDS else _FORMAT_WHAT[column.kind]
    return _fmt(f"{column.name} {{}} is not {what}", f"'''' || {value} || ''''")


# --------------------------------------------------------------------------------------------
# Checks across rows and tables


def key_unique(table: Table) -> Iterator[str]:
    """key: the key is unique among the kept rows (all rows sharing a key fail)."""
    key = table.key
    counted = f"SELECT *, count(*) OVER (PARTITION BY {key}) AS _n FROM {_kept(table.name)}"
    yield _failure(
        table, KEY, key,
        value=f"r.{key}",
        message=_fmt(f"primary key {key} {{}} is not unique: {{}} rows share it", f"r.{key}", "r._n"),
        where=f"r.{key} IS NOT NULL AND r._n > 1", source=f"({counted}) AS r",
    )  # fmt: skip


def fk_rule(table: Table, ctx: RuleContext) -> Iterator[str]:
    """FK: non-NULL references resolve against the keys present in the referenced table's file."""
    for ref in table.references:
        if ref.to_table not in ctx.present:
            continue  # an absent optional table cannot be checked against
        col = f"r.{ref.column}"
        yield _failure(
            table, FK, ref.column,
            value=col,
            message=_fmt(f"{ref.column} {{}} is not found in {ref.to_table}.{ref.to_column}", col),
            where=f"{col} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {staging(ref.to_table)} AS p WHERE p.{ref.to_column} = {col})",
        )  # fmt: skip


def not_before_parent_rule(table: Table, ctx: RuleContext) -> Iterator[str]:
    """1103/2889 (assessment / S47 not before its referral) and 8615 (ICPC not before its S47).

    When the parent key is duplicated in its file, the earliest of its dates is used.
    """
    for check in NOT_BEFORE_PARENT:
        if check.table != table.name or check.parent_table not in ctx.present:
            continue
        via = next(ref.column for ref in table.references if ref.to_table == check.parent_table)
        parent = TABLES_BY_NAME[check.parent_table]
        parents = (
            f"SELECT {parent.key} AS _parent, min({check.parent_column}) AS _date "
            f"FROM {_kept(parent.name)} GROUP BY 1"
        )
        col = f"r.{check.column}"
        yield _failure(
            table, check.rule, check.column,
            value=col,
            message=_fmt(f"{check.column} {{}} is before the {check.what} {{}} of {via} {{}}",
                         col, "p._date", f"r.{via}"),
            where=f"{col} < p._date",
            source=f"{_kept(table.name)} AS r JOIN ({parents}) AS p ON p._parent = r.{via}",
        )  # fmt: skip


def before_birth_rule(table: Table, ctx: RuleContext) -> Iterator[str]:
    """302/586: an episodic table's start is not before the child's date of birth."""
    if not (table.episodic and table.start_end and table.person_column):
        return
    ref = next(r for r in table.references if r.column == table.person_column)
    if ref.to_table not in ctx.present:
        return
    people = TABLES_BY_NAME[ref.to_table]
    dob = next(c.name for c in people.columns if c.kind == DOB)
    births = f"SELECT {ref.to_column} AS _person, min({dob}) AS _dob FROM {_kept(people.name)} GROUP BY 1"
    start_column, person_column = table.start_end[0], table.person_column
    start, person = f"r.{start_column}", f"r.{person_column}"
    yield _failure(
        table, BEFORE_BIRTH, start_column,
        value=start,
        message=_fmt(f"{start_column} {{}} is before the date of birth {{}} of {person_column} {{}}",
                     start, "p._dob", person),
        where=f"{start} < p._dob",
        source=f"{_kept(table.name)} AS r JOIN ({births}) AS p ON p._person = {person}",
    )  # fmt: skip


def overlap_rule(table: Table) -> Iterator[str]:
    """501/574: a child's episodes do not overlap and at most one is open.

    Per child, rows are ordered by start (then end, open last, then key and row number). A row
    fails when it starts before the latest end among the rows ordered before it, an open row
    ending never; starting on the day the previous one ended is allowed. The later-starting row
    is the one reported, naming the earlier row it overlaps (the latest-ending one, then the
    greatest key).
    """
    if not (table.episodic and table.start_end and table.person_column):
        return
    start, end, key, person = *table.start_end, table.key, table.person_column
    window = (
        f"PARTITION BY {person} ORDER BY {start}, {end} NULLS LAST, {key}, {ROW_NUMBER} "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    )
    ordered = (
        f"SELECT *, max({{'end': coalesce({end}, {_OPEN_END}), 'key': {key}}}) OVER w AS _prev "
        f"FROM {_kept(table.name)} WHERE {person} IS NOT NULL AND {start} IS NOT NULL "
        f"WINDOW w AS ({window})"
    )
    still_open = _fmt(f"{start} {{}} is while {key} {{}} of the same child is still open",
                      f"r.{start}", "r._prev.key")  # fmt: skip
    overlaps = _fmt(f"{start} {{}} is before {key} {{}} of the same child ended on {{}}",
                    f"r.{start}", "r._prev.key", "r._prev.end")  # fmt: skip
    yield _failure(
        table, OVERLAP, start,
        value=f"r.{start}",
        message=f"CASE WHEN r._prev.end = {_OPEN_END} THEN {still_open} ELSE {overlaps} END",
        where=f"r.{start} < r._prev.end",
        source=f"({ordered}) AS r",
    )  # fmt: skip
