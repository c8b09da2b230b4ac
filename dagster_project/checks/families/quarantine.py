"""quarantine_rate: rows that failed a validity rule or were dropped as exact duplicates, per table,
against the council's own background of such rows.

Every council has some: the rate of each of its accepted extracts, applied to this month's rows,
is the history; this month's count is judged as a count (``baseline.judge_count``, upward only),
so a steady background never blocks and a new fault (dates unreadable, codes written as
descriptions, placements overlapping) does. With no accepted extract yet: "no baseline yet".

Also :func:`row_failures`, the quarantine of a month as the quality report shows it. Neither
shows what identifies a child: failing records are pointed at by the line of the file they
start on (never their key), messages are the value-free reasons the ingest stores
(``raw.quarantine.message``), and a failing value is shown only where it cannot identify anyone
(:func:`shown_value`); the values themselves are in the month's worklist, in the private zone.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.baseline import judge_count
from dagster_project.checks.families.common import (
    NO_BASELINE,
    accepted_extracts,
    latest_loads,
    not_in_extract,
    raw_finding,
    ym,
)
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding, private_column
from dagster_project.contract import CODE, DUE, EVENT, FLAG, NUMBER, TABLES, TABLES_BY_NAME
from dagster_project.ingest.raw_schema import quarantine_lines_sql
from dagster_project.warehouse_sql import fetch_dicts

# A failing value a report may show: of a code, flag, number or event/due date column (not an id,
# a date of birth, free text or JSON, nor an identifying column), and a short token, not text
# someone typed into the wrong column (dates and numbers must hold a digit).
SHOWN_KINDS = frozenset({CODE, FLAG, NUMBER, EVENT, DUE})
_SHORT_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 /:.+-]{0,19}")
EXAMPLES = 5


def shown_value(table: str, column: str | None, value: str | None) -> str | None:
    """``value`` if a report may show it (see SHOWN_KINDS), else None."""
    t = TABLES_BY_NAME.get(table)
    c = next((c for c in t.columns if c.name == column), None) if t else None
    if value is None or c is None or c.kind not in SHOWN_KINDS or private_column(table, column):
        return None
    if not _SHORT_TOKEN.fullmatch(value) or (c.kind in (EVENT, DUE, NUMBER) and not re.search(r"\d", value)):
        return None
    return value


def row_failures(con: duckdb.DuckDBPyConnection, month: date) -> list[dict[str, Any]]:
    """The month's quarantine by table, rule, column and reason: rows failing, failures, and the
    first few failing records as ``{'line', 'row', 'value'}`` (value None unless shown)."""
    rows = fetch_dicts(
        con,
        f"""select table_name, rule, column_name, message, count(distinct row_number) as rows_failing,
                   count(*) as failures,
                   list({{'line': line_number, 'row': row_number, 'value': value}} order by row_number)
                       [1:{EXAMPLES}] as examples
            from ({quarantine_lines_sql(con, month)})
            group by all order by table_name, rule, column_name, message""",
    )
    for r in rows:
        r["examples"] = [
            {**e, "value": shown_value(r["table_name"], r["column_name"], e["value"])} for e in r["examples"]
        ]
    return rows


def bad_rows(load: dict[str, Any]) -> tuple[int, int]:
    """(rows quarantined or dropped, rows read) of one load."""
    return (load["rows_quarantined"] or 0) + (load["duplicates_dropped"] or 0), load["rows_read"] or 0


def _rules(con: duckdb.DuckDBPyConnection, month: date) -> dict[str, list[dict[str, Any]]]:
    rows = fetch_dicts(
        con,
        f"""select table_name, rule, count(distinct row_number) as rows_failing, count(*) as failures,
                   list(distinct line_number order by line_number)[1:{EXAMPLES}] as example_lines
            from ({quarantine_lines_sql(con, month)}) group by table_name, rule order by table_name, rule""",
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("table_name"), []).append(r)
    return out


def quarantine_rate(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    accepted = accepted_extracts(con, month)
    loads = latest_loads(con, [*accepted, month])
    rules_by_table = _rules(con, month)
    out = []
    for t in TABLES:
        rule = policy.rule("quarantine_rate", t.name)
        load = loads.get((month, t.name))
        if load is None:
            out.append(not_in_extract("quarantine_rate", t.name))
            continue
        bad, read = bad_rows(load)
        rate = bad / read if read else 0.0
        rules = rules_by_table.get(t.name, [])  # example lines of the file, never keys
        past = [bad_rows(loads[(m, t.name)]) for m in accepted[-int(rule["history_extracts"]):]
                if (m, t.name) in loads]
        past_rates = [b / r for b, r in past if r]
        summary = (f"{t.name}: {bad:,} of {read:,} rows quarantined or dropped ({rate:.2%}; "
                   f"{load['rows_quarantined']:,} quarantined, {load['duplicates_dropped']:,} duplicates)")
        if rules:
            summary += "; by rule: " + ", ".join(
                f"{r['rule']} ({r['rows_failing']:,} row{'s' * (r['rows_failing'] != 1)})" for r in rules)
        ev = {"rows_read": read, "rows_quarantined": load["rows_quarantined"],
              "duplicates_dropped": load["duplicates_dropped"], "rate": rate, "by_rule": rules,
              "past_rates": past_rates}
        if not past_rates:
            out.append(raw_finding("quarantine_rate", t.name, True, f"{summary}; {NO_BASELINE}", ev))
            continue
        j = judge_count(bad, [p * read for p in past_rates], z_max=float(rule["z_max"]),
                        min_abs_change=float(rule["min_rows"]), one_sided="up")
        summary += (f"; its last {len(past_rates)} accepted extracts had {min(past_rates):.2%}-{max(past_rates):.2%}"
                    f"; up to {j.high:,.0f} failing rows accepted at this size")
        if j.flagged:
            summary += ": more rows fail than this council's usual background"
        ev |= {**j.evidence, "expected_rows": j.expected, "usual_high_rows": j.high,
               "previous_extract": ym(accepted[-1]) if accepted else None}
        out.append(raw_finding("quarantine_rate", t.name, not j.flagged, summary, ev))
    return out
