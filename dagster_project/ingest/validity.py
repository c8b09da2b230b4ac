"""The contract's validity rules as set-based DuckDB SQL over one month's staged rows.

The loader stages every file of the month in a temporary table ``_stg_<table>``: the staging
shape of ``dagster_project.extracts.reader`` plus ``_header`` (repeats the header), ``_dropped`` (an
exact duplicate) and ``_failed`` (fails a rule). This module writes the SQL that

* stages a batch, checking JSON on the way in (``staging_insert_sql``);
* marks rows that repeat the file's header (``mark_repeated_headers_sql``: two exports joined
  together) and reports each once under rule ``format`` (``repeated_headers_sql``); no other rule
  looks at them, since they are not records;
* marks exact duplicate rows, all but the first of each group (``mark_duplicates_sql``), and
  reports them under rule ``key`` (``duplicates_sql``);
* finds every failure of every rule among the rows kept (``failures_sql``), one output row per
  failure with the columns ``rule_sql.FAILURE_COLUMNS``: a value-free reason (what reports show)
  and a message naming the values (what the private worklist shows), see ``rule_sql``;
* marks the failing rows (``mark_failed_sql``).

Rule ids are the keys of ``contract.RULES``. Cross-table rules read the referenced table's file
as sent (every row, valid or not): a reference resolves when its key is present in that file, and
dates are compared with what that file says. Rules never see dropped duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
    TABLES_BY_NAME,
    Column,
    Table,
    code_lists,
)
from dagster_project.extracts.reader import ROW_NUMBER, bad_column, is_parsed, value_columns
from dagster_project.ingest.rule_sql import (
    BEFORE_BIRTH,
    CODES,
    FK,
    FORMAT,
    FUTURE,
    KEY,
    NOT_BEFORE_REFERRAL,
    NOT_BEFORE_S47,
    OVERLAP,
    START_END,
    TOO_EARLY,
    WEEKEND,
    Check,
    RuleContext,
    failure,
    fmt,
    kept,
    row_checks_sql,
    sql_date,
    staging,
)
from dagster_project.warehouse_sql import sql_literal

DUPLICATE_MESSAGE = "exact duplicate row dropped"
REPEATED_HEADER_MESSAGE = "the row repeats the file's header row (were two exports joined?): it is not a record"
MAX_ID_LENGTH = 48
# Record ids (contract: "IDs are strings (up to 48 characters)"): letters, digits and the
# separators case-management systems use inside ids, starting with a letter or digit (so no id
# starts a spreadsheet formula); a GUID may come in braces (docs/decisions.md).
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_./:-]*|\{[A-Za-z0-9][A-Za-z0-9_./:-]*\}"
ID_CHARACTERS = "letters, digits and - _ . / : (a GUID may be in braces)"


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


def mark_repeated_headers_sql(table: Table) -> str:
    """Mark as ``_header`` the rows that repeat the file's header: the key, and a required column
    read as a date, flag, number or JSON, hold their own names, and every other column its name
    or nothing (names compared as the header is matched: case and surrounding spaces aside).

    The required parsed column is tested first: its unreadable text is NULL in almost every row,
    so the scan skips them (0.1 s for 15 million rows, against 2-5 s comparing every key)."""
    stg, key = staging(table.name), table.key
    guard = next((c for c in table.columns if is_parsed(c) and not c.optional), None)
    if guard is None:
        raise ValueError(f"{table.name} has no required date, flag, number or JSON column to find its header by")

    def text(column: Column) -> str:
        typed = f"CAST({column.name} AS VARCHAR)"
        return f"coalesce({typed}, {bad_column(column.name)})" if is_parsed(column) else typed

    def named(column: Column) -> str:
        return f"lower(trim({text(column)})) = {sql_literal(column.name)}"

    others = " AND ".join(f"({text(c)} IS NULL OR {named(c)})" for c in table.columns
                          if c is not guard and c.name != key)
    return (f"UPDATE {stg} SET _header = true WHERE {bad_column(guard.name)} IS NOT NULL AND {named(guard)} "
            f"AND {key} IS NOT NULL AND lower(trim({key})) = {sql_literal(key)} AND {others}")


def repeated_headers_sql(table: Table) -> str:
    """One quarantine row per row that repeats the header (``mark_repeated_headers_sql``)."""
    return _marked_rows_sql(table, FORMAT, REPEATED_HEADER_MESSAGE, "_header")


def _marked_rows_sql(table: Table, rule: str, message: str, mark: str) -> str:
    """One failure of ``rule`` on the key, with the fixed ``message``, per staged row marked ``mark``."""
    return failure(
        table, rule, table.key,
        value=f"r.{table.key}", reason=message, message=sql_literal(message),
        where=f"r.{mark}", source=f"{staging(table.name)} AS r",
    )  # fmt: skip


def mark_duplicates_sql(table: Table) -> str:
    """Mark all but the first of each group of identical rows as ``_dropped`` (rows repeating the
    header aside: each is reported as such).

    Rows are identical when every value read is equal (typed values, unreadable texts and extra
    columns); only rows whose key is shared or empty can be, so only those are compared.
    """
    stg, key = staging(table.name), table.key
    every_value = ", ".join(value_columns(table))
    shared = (f"NOT _header AND ({key} IS NULL OR {key} IN "
              f"(SELECT {key} FROM {stg} GROUP BY {key} HAVING count(*) > 1))")
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
    return _marked_rows_sql(table, KEY, DUPLICATE_MESSAGE, "_dropped")


def mark_failed_sql(table: Table, failures: str) -> str:
    """Set ``_failed`` on the rows that have a row in the ``failures`` table."""
    return (
        f"UPDATE {staging(table.name)} SET _failed = true WHERE {ROW_NUMBER} IN "
        f"(SELECT row_number FROM {failures} WHERE table_name = {sql_literal(table.name)})"
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
        row_checks_sql(table, checks),
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
    empty = f"primary key {key} is empty"
    yield Check(KEY, key, value="NULL", reason=empty, message=sql_literal(empty), where=f"r.{key} IS NULL")


def start_end_rule(table: Table) -> Iterator[Check]:
    """356/8608/8630/8925/567: the end date is not before the start date."""
    if table.start_end is None:
        return
    start, end = table.start_end
    yield Check(
        START_END, end,
        value=f"r.{end}",
        reason=f"{end} is before {start}",
        message=fmt(f"{end} {{}} is before {start} {{}}", f"r.{end}", f"r.{start}"),
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
            reason=f"{column} is a Saturday or Sunday",
            message=fmt(f"{column} {{}} is a {{}}", col, f"dayname({col})"),
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
            reason=f"{name} is before {EARLIEST_EVENT.isoformat()}",
            message=fmt(f"{name} {{}} is before {EARLIEST_EVENT.isoformat()}", col),
            where=f"{col} < {sql_date(EARLIEST_EVENT)}",
        )  # fmt: skip
        yield Check(
            FUTURE, name,
            value=col,
            reason=f"{name} is after the extract date",
            message=fmt(f"{name} {{}} is after the extract date {ctx.extract_date.isoformat()}", col),
            where=f"{col} > {sql_date(ctx.extract_date)}",
        )  # fmt: skip


def codes_rule(table: Table) -> Iterator[Check]:
    """codes: coded columns hold a listed code (values are already canonical); required codes
    are present, the ceased reason once the episode has ceased."""
    for column in table.columns:
        if column.kind != CODE or column.codes is None:
            continue
        name, col = column.name, f"r.{column.name}"
        codes = ", ".join(sql_literal(c) for c in code_lists()[column.codes])
        yield Check(
            CODES, name,
            value=col,
            reason=f"{name} is not a {column.codes} code",
            message=fmt(f"{name} {{}} is not a {column.codes} code", col),
            where=f"{col} IS NOT NULL AND {col} NOT IN ({codes})",
        )  # fmt: skip
        yield from _required_code(table, column)


def _required_code(table: Table, column: Column) -> Iterator[Check]:
    name = column.name
    if column.code_required:
        empty = f"{name} is empty"
        yield Check(
            CODES, name,
            value="NULL", reason=empty, message=sql_literal(empty), where=f"r.{name} IS NULL",
        )  # fmt: skip
    when = CODE_REQUIRED_WHEN.get((table.name, name))
    if when is not None:
        empty = f"{name} is empty although {when} is set"
        yield Check(
            CODES, name,
            value="NULL", reason=empty, message=sql_literal(empty),
            where=f"r.{name} IS NULL AND r.{when} IS NOT NULL",
        )  # fmt: skip


def format_rule(table: Table) -> Iterator[Check]:
    """format: values that cannot be read as their type (original text in ``value``), and ids
    that break the contract's id rule (kept as sent): longer than 48 characters, or holding
    characters other than ``ID_CHARACTERS`` (so ``=1+1`` or ``<script>`` never load)."""
    for column in table.columns:
        name = column.name
        if is_parsed(column):
            bad = f"r.{bad_column(name)}"
            yield Check(
                FORMAT, name,
                value=bad, reason=_format_reason(column), message=_format_message(column, bad),
                where=f"{bad} IS NOT NULL",
            )  # fmt: skip
        elif column.kind == ID:
            col = f"r.{name}"
            yield Check(
                FORMAT, name,
                value=col,
                reason=f"{name} is longer than {MAX_ID_LENGTH} characters",
                message=fmt(f"{name} is longer than {MAX_ID_LENGTH} characters ({{}})", f"length({col})"),
                where=f"length({col}) > {MAX_ID_LENGTH}",
            )  # fmt: skip
            not_an_id = f"{name} holds characters an id may not have (ids are {ID_CHARACTERS})"
            yield Check(
                FORMAT, name,
                value=col,
                reason=not_an_id,
                message=fmt(f"{name} {{}}: {not_an_id}", f"'''' || {col} || ''''"),
                where=f"NOT regexp_full_match({col}, {sql_literal(ID_PATTERN)})",
            )  # fmt: skip


def _format_reason(column: Column) -> str:
    if column.kind == JSON:
        return f"{column.name} is not a valid JSON object"
    what = _DATE_WHAT if column.kind in DATE_KINDS else _FORMAT_WHAT[column.kind]
    return f"{column.name} is not {what}"


def _format_message(column: Column, value: str) -> str:
    if column.kind == JSON:  # the text may be long (COMMENTS): the worklist has it as the value
        return sql_literal(_format_reason(column))
    what = _DATE_WHAT if column.kind in DATE_KINDS else _FORMAT_WHAT[column.kind]
    return fmt(f"{column.name} {{}} is not {what}", f"'''' || {value} || ''''")


# --------------------------------------------------------------------------------------------
# Checks across rows and tables


def key_unique(table: Table) -> Iterator[str]:
    """key: the key is unique among the kept rows (all rows sharing a key fail)."""
    key = table.key
    counted = f"SELECT *, count(*) OVER (PARTITION BY {key}) AS _n FROM {kept(table.name)}"
    yield failure(
        table, KEY, key,
        value=f"r.{key}",
        reason=f"primary key {key} is not unique",
        message=fmt(f"primary key {key} {{}} is not unique: {{}} rows share it", f"r.{key}", "r._n"),
        where=f"r.{key} IS NOT NULL AND r._n > 1", source=f"({counted}) AS r",
    )  # fmt: skip


def fk_rule(table: Table, ctx: RuleContext) -> Iterator[str]:
    """FK: non-NULL references resolve against the keys present in the referenced table's file.

    An anti join, the same rows as ``NOT EXISTS (SELECT 1 FROM parent AS p WHERE p.key = r.col)``
    (NULL equals nothing): DuckDB plans that correlated form as a delim join that first copies
    every column of every row (a contact's outcome JSON included), five times the cost at scale 10.
    """
    for ref in table.references:
        if ref.to_table not in ctx.present:
            continue  # an absent optional table cannot be checked against
        col = f"r.{ref.column}"
        yield failure(
            table, FK, ref.column,
            value=col,
            reason=f"{ref.column} is not found in {ref.to_table}.{ref.to_column}",
            message=fmt(f"{ref.column} {{}} is not found in {ref.to_table}.{ref.to_column}", col),
            where=f"{col} IS NOT NULL",
            source=f"{kept(table.name)} AS r ANTI JOIN {staging(ref.to_table)} AS p ON p.{ref.to_column} = {col}",
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
            f"FROM {kept(parent.name)} GROUP BY 1"
        )
        col = f"r.{check.column}"
        yield failure(
            table, check.rule, check.column,
            value=col,
            reason=f"{check.column} is before the {check.what} of {via}",
            message=fmt(f"{check.column} {{}} is before the {check.what} {{}} of {via} {{}}",
                         col, "p._date", f"r.{via}"),
            where=f"{col} < p._date",
            source=f"{kept(table.name)} AS r JOIN ({parents}) AS p ON p._parent = r.{via}",
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
    births = f"SELECT {ref.to_column} AS _person, min({dob}) AS _dob FROM {kept(people.name)} GROUP BY 1"
    start_column, person_column = table.start_end[0], table.person_column
    start, person = f"r.{start_column}", f"r.{person_column}"
    yield failure(
        table, BEFORE_BIRTH, start_column,
        value=start,
        reason=f"{start_column} is before the date of birth of {person_column}",
        message=fmt(f"{start_column} {{}} is before the date of birth {{}} of {person_column} {{}}",
                     start, "p._dob", person),
        where=f"{start} < p._dob",
        source=f"{kept(table.name)} AS r JOIN ({births}) AS p ON p._person = {person}",
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
        f"FROM {kept(table.name)} WHERE {person} IS NOT NULL AND {start} IS NOT NULL "
        f"WINDOW w AS ({window})"
    )
    still_open = fmt(f"{start} {{}} falls while the same child's {key} {{}} is still open",
                      f"r.{start}", "r._prev.key")  # fmt: skip
    overlaps = fmt(f"{start} {{}} is before the same child's {key} {{}} ended on {{}}",
                    f"r.{start}", "r._prev.key", "r._prev.end")  # fmt: skip
    yield failure(
        table, OVERLAP, start,
        value=f"r.{start}",
        reason=f"{start} is before the same child's earlier record ({key}) ended, or while it is still open",
        message=f"CASE WHEN r._prev.end = {_OPEN_END} THEN {still_open} ELSE {overlaps} END",
        where=f"r.{start} < r._prev.end",
        source=f"({ordered}) AS r",
    )  # fmt: skip
