"""The audit trail: every figure ever published, restatements with their size, and sign-offs.

Called by the publish step inside write-audit-publish, on the working warehouse:

* :func:`record_published_figures` — the month's scorecard as published (measure, month, value,
  numerator, denominator, extract month, run, time) into ``audit.published_figures``; call it
  before the published copy is built so the copy carries the trail, and :func:`forget_run` if the
  publish then fails;
* :func:`figure_notes` — what to print beside each figure (sign-offs: who, when, why; warnings;
  restatements), from the run's evaluations and restated figures (the publication reads it once:
  :mod:`dagster_project.publish.outputs.data`); :func:`create_figure_notes` gives the same as a
  temporary table ``figure_notes(measure_id, month, flag, note)``;
* :func:`copy_audit_tables` — the trail, with table and column comments, into the analysts' copy;
* :func:`restatements`, :func:`published_as_of`, :func:`signoffs` — the questions people ask.

"What did we tell the committee in August?" is one query::

    select * from audit.published_figures where extract_month = '2023-08-01'

and ``audit.restatements`` lists every figure a later extract changed, with the change.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from dagster_project.checks.results import QUALITY_SCHEMA, SIGNED_OFF, WARN, ensure_quality_schema
from dagster_project.checks.signoff import signoffs_for_month
from dagster_project.published_figures import (
    AUDIT_SCHEMA,
    PUBLICATIONS,
    PUBLISHED_FIGURES,
    against_published,
    ensure_trail,
)
from dagster_project.warehouse_sql import fetch_dicts, sql_literal, transaction

RESTATEMENTS = f"{AUDIT_SCHEMA}.restatements"
# Each (measure, month) in extract order; a restatement is a publication whose value differs from
# the previous extract's publication of the same figure. change is in the figure's unit
# (percentage points for percentages), to one decimal place like the figures (without the round
# a difference of doubles reads 0.30000000000001137).
RESTATEMENTS_VIEW = f"""CREATE OR REPLACE VIEW {RESTATEMENTS} AS
with per_extract as (
    select * from {PUBLISHED_FIGURES}
    qualify row_number() over (partition by measure_id, month, extract_month order by published_at desc) = 1
),
sequenced as (
    select
        per_extract.*,
        lag(extract_month) over w as previous_extract_month,
        lag(value) over w as previous_value,
        lag(numerator) over w as previous_numerator,
        lag(denominator) over w as previous_denominator,
        lag(availability) over w as previous_availability
    from per_extract
    window w as (partition by measure_id, month order by extract_month)
)
select
    measure_id, month, unit, previous_extract_month, extract_month, previous_value, value,
    round(value - previous_value, 1) as change,
    case when previous_value <> 0 then (value - previous_value) / abs(previous_value) end as relative_change,
    previous_numerator, numerator, previous_denominator, denominator, previous_availability, availability,
    run_id, published_at
from sequenced
where previous_extract_month is not null and value is distinct from previous_value"""


def ensure_audit_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_trail(con)
    con.execute(RESTATEMENTS_VIEW)


def record_published_figures(
    con: duckdb.DuckDBPyConnection,
    month: date,
    run_id: str,
    published_at: datetime | None = None,
) -> int:
    """Record every figure of the month's scorecard as published by ``run_id``; returns the count.

    Idempotent per run (a retried publish step records its figures once).
    """
    ensure_audit_schema(con)
    at = (published_at or datetime.now(UTC)).replace(tzinfo=None)
    con.execute(f"DELETE FROM {PUBLISHED_FIGURES} WHERE run_id = ?", [run_id])
    con.execute(
        f"""INSERT INTO {PUBLISHED_FIGURES}
            SELECT s.measure_id, s.month, s.value, s.numerator, s.denominator, s.availability, m.unit,
                   ?, ?, ?
            FROM main.fct_scorecard AS s LEFT JOIN main.dim_measure AS m USING (measure_id)""",
        [month, run_id, at],
    )
    return con.execute(f"SELECT count(*) FROM {PUBLISHED_FIGURES} WHERE run_id = ?", [run_id]).fetchone()[0]


def forget_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Remove a run's figures when its publish did not complete (nothing of it was published)."""
    ensure_audit_schema(con)
    con.execute(f"DELETE FROM {PUBLISHED_FIGURES} WHERE run_id = ?", [run_id])




def published_as_of(con: duckdb.DuckDBPyConnection, extract_month: date) -> list[dict[str, Any]]:
    """The scorecard as last published from ``extract_month``'s extract (what the committee saw)."""
    ensure_audit_schema(con)
    return fetch_dicts(
        con,
        f"""select * from {PUBLISHED_FIGURES} where extract_month = ?
            qualify published_at = max(published_at) over ()
            order by measure_id, month""",
        [extract_month],
    )


def restatements(
    con: duckdb.DuckDBPyConnection, measure_id: str | None = None, extract_month: date | None = None
) -> list[dict[str, Any]]:
    """Published figures a later extract changed, with the size of the change."""
    ensure_audit_schema(con)
    where, params = [], []
    if measure_id is not None:
        where.append("measure_id = ?")
        params.append(measure_id)
    if extract_month is not None:
        where.append("extract_month = ?")
        params.append(extract_month)
    clause = f"where {' and '.join(where)}" if where else ""
    return fetch_dicts(
        con, f"select * from {RESTATEMENTS} {clause} order by measure_id, month, extract_month", params
    )


def signoffs(con: duckdb.DuckDBPyConnection, month: date | None = None) -> list[dict[str, Any]]:
    """Sign-offs (who, when, why, which figures), of one month or all."""
    ensure_quality_schema(con)
    clause, params = ("where month = ?", [month]) if month is not None else ("", [])
    rows = fetch_dicts(con, f"select * from {QUALITY_SCHEMA}.signoffs {clause} order by month, signed_at", params)
    for r in rows:
        r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else None
    return rows


def _months_of(evidence: dict[str, Any], family: str) -> list[str]:
    """Months a finding's evidence names (restatements name several)."""
    if family == "restatement":
        return [str(r.get("month"))[:10] for r in evidence.get("restated", [])]
    if family in ("bounds", "consistency", "reconciliation"):
        return [str(r.get("month"))[:10] for r in evidence.get("violations", [])]
    return []


FLAG_ORDER = ("signed_off", "warning", "restated")  # most important first


def _was(row: dict[str, Any]) -> str:
    value = row["published_value"]
    if value is None:
        return "no data"
    return f"{value:.1f}%" if row["published_unit"] == "percent" else f"{value:,.0f}"


def figure_notes(evaluations: list[dict[str, Any]], restated: list[dict[str, Any]],
                 month: date) -> dict[tuple[str, date], list[tuple[str, str]]]:
    """What to print beside each figure, by (measure_id, month): ``(flag, text)`` pairs, most
    important first. A pure function of what the run's checks said and what it restates.

    ``evaluations``: the run's check evaluations (:func:`dagster_project.checks.report.collect`:
    ``check_id``, ``family``, ``status``, ``summary``, parsed ``evidence``, ``measure_id``,
    ``figure_month``, ``signoff``); only ``signed_off`` and ``warn`` ones about a measure count.
    ``restated``: rows of :func:`dagster_project.published_figures.against_published` whose
    ``restated`` is true. ``flag`` is ``signed_off`` (a hold a person accepted: who, when, why),
    ``warning`` (a warn check flagged it) or ``restated`` (an earlier extract published another
    value).
    """
    notes: dict[tuple[str, date], list[tuple[str, str]]] = {}
    for e in evaluations:
        if e["status"] not in (SIGNED_OFF, WARN) or not e.get("measure_id"):
            continue
        months = _months_of(e.get("evidence") or {}, e["family"]) or [str(e.get("figure_month") or month)[:10]]
        s = e.get("signoff")
        if e["status"] == SIGNED_OFF and s is not None:
            flag, text = "signed_off", f"{e['check_id']}: {e['summary']} - {s.as_text()}"
        else:
            flag, text = "warning", f"{e['check_id']}: {e['summary']}"
        for m in dict.fromkeys(months):
            notes.setdefault((e["measure_id"], date.fromisoformat(m)), []).append((flag, text))
    for r in restated:
        notes.setdefault((r["measure_id"], r["month"]), []).append(
            ("restated", f"restated: published as {_was(r)} in the scorecard of {r['published_extract']:%Y-%m}"))
    for items in notes.values():
        items.sort(key=lambda i: FLAG_ORDER.index(i[0]))
    return dict(sorted(notes.items()))


def create_figure_notes(con: duckdb.DuckDBPyConnection, month: date, run_id: str) -> int:
    """TEMP table ``figure_notes(measure_id, month, flag, note)``: :func:`figure_notes` of the
    run as a table, one row per figure (``flag`` the most important, the notes joined with " | ").
    Join it to the scorecard on (measure_id, month)."""
    ensure_quality_schema(con)
    ensure_audit_schema(con)
    evaluations = fetch_dicts(
        con,
        f"""select check_id, family, status, summary, evidence, measure_id, figure_month
            from {QUALITY_SCHEMA}.check_results
            where month = ? and run_id = ? and status in ('{SIGNED_OFF}', '{WARN}')
                and measure_id is not null""",
        [month, run_id],
    )
    signed = signoffs_for_month(con, month)
    for e in evaluations:
        e["evidence"] = json.loads(e["evidence"]) if e["evidence"] else {}
        e["signoff"] = signed.get(e["check_id"]) if e["status"] == SIGNED_OFF else None
    restated = [r for r in against_published(con, month) if r["restated"]]
    rows = [(mid, m, items[0][0], " | ".join(t for _, t in items))
            for (mid, m), items in figure_notes(evaluations, restated, month).items()]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE figure_notes "
        "(measure_id VARCHAR, month DATE, flag VARCHAR, note VARCHAR)"
    )
    if rows:
        con.executemany("INSERT INTO figure_notes VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def copy_audit_tables(con: duckdb.DuckDBPyConnection, alias: str, publishing: tuple | None = None) -> list[str]:
    """Copy the audit trail and sign-offs into an attached database (the analysts' published copy).

    ``publishing``: (month, run_id, published_at) of the publication this copy is part of; its
    figures are recorded but not yet confirmed (the swap confirms them), and the copy lists it.
    """
    ensure_audit_schema(con)
    ensure_quality_schema(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.{AUDIT_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {alias}.{PUBLISHED_FIGURES} AS SELECT * FROM {PUBLISHED_FIGURES}")
    con.execute(f"CREATE OR REPLACE TABLE {alias}.{PUBLICATIONS} AS SELECT * FROM {PUBLICATIONS}")
    if publishing is not None:
        m, run_id, at = publishing
        con.execute(f"DELETE FROM {alias}.{PUBLICATIONS} WHERE run_id = ?", [run_id])
        con.execute(f"INSERT INTO {alias}.{PUBLICATIONS} VALUES (?, ?, ?)", [m, run_id, at.replace(tzinfo=None)])
    con.execute(
        f"CREATE OR REPLACE TABLE {alias}.{AUDIT_SCHEMA}.signoffs AS SELECT * FROM {QUALITY_SCHEMA}.signoffs"
    )
    # a view resolves its tables in its own database: this one reads the copy's published_figures
    con.execute(RESTATEMENTS_VIEW.replace(f"VIEW {RESTATEMENTS}", f"VIEW {alias}.{RESTATEMENTS}"))
    comment_audit_tables(con, alias)
    return [PUBLISHED_FIGURES, PUBLICATIONS, f"{AUDIT_SCHEMA}.signoffs", RESTATEMENTS]


def comment_audit_tables(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Table and column comments of the audit trail in the attached database ``alias`` (analysts
    read them with ``duckdb_tables()`` / ``duckdb_columns()`` and in the docs site), in one
    transaction (one commit to the file)."""
    with transaction(con):
        for table, comment in AUDIT_COMMENTS.items():
            kind = "VIEW" if table == RESTATEMENTS else "TABLE"
            con.execute(f"COMMENT ON {kind} {alias}.{table} IS {sql_literal(comment)}")
        for table, columns in AUDIT_COLUMN_COMMENTS.items():
            for column, comment in columns.items():
                con.execute(f'COMMENT ON COLUMN {alias}.{table}."{column}" IS {sql_literal(comment)}')


AUDIT_COMMENTS = {
    PUBLISHED_FIGURES: "Every figure ever published: measure, month, value, numerator, denominator, the extract "
    "month that published it, the run and the time. What a committee was told: filter on extract_month.",
    PUBLICATIONS: "One row per publication of a month: the run that published it and when.",
    f"{AUDIT_SCHEMA}.signoffs": "Held quality checks a named person signed off: who, when, why, which figures.",
    RESTATEMENTS: "Published figures a later extract changed, with the previous and new values and the change.",
}

_FIGURE = {
    "measure_id": "Measure id (-> dim_measure).",
    "month": "The month the figure is for (first day).",
    "unit": "count or percent (from dim_measure when it was published).",
}
_PUBLICATION = {
    "run_id": "The Dagster run that published it (publication.json in the month folder names the same run).",
    "published_at": "When it was published (UTC).",
}
AUDIT_COLUMN_COMMENTS: dict[str, dict[str, str]] = {
    PUBLISHED_FIGURES: {
        **_FIGURE,
        "value": "The figure as published: the count, or the percentage (0-100, one decimal place); NULL when "
                 "there was no figure (see availability).",
        "numerator": "The count (count measures) or the numerator (percentages) as published.",
        "denominator": "The denominator of a percentage as published; NULL for count measures.",
        "availability": "available, no_data or not_available, as in fct_scorecard when it was published.",
        "extract_month": "The extract (month M) whose scorecard published the figure: what the committee of that "
                         "month was told.",
        **_PUBLICATION,
    },
    PUBLICATIONS: {
        "month": "The month (extract) published (first day).",
        **_PUBLICATION,
    },
    f"{AUDIT_SCHEMA}.signoffs": {
        "month": "The month (extract) whose run the sign-off lets publish (first day).",
        "check_id": "The held quality check signed off (family.subject, as in quality_policy.yml).",
        "signed_by": "Who signed it off, as given to csc-warehouse signoff --by.",
        "reason": "Why the figures are right, as given to --reason.",
        "signed_at": "When it was signed off (UTC).",
        "severity": "The check's severity in the policy when it was signed off (hold).",
        "summary": "What the check found when it was signed off (its figures).",
        "evidence": "The check's evidence when it was signed off (JSON): the figures behind the summary.",
        "measure_id": "The measure the check is about (-> dim_measure); NULL when it is about no one measure.",
        "figure_month": "The month of the figure the check is about (first day), when it is about one.",
        "evaluated_run_id": "The run whose failed evaluation was signed off.",
    },
    RESTATEMENTS: {
        **_FIGURE,
        "previous_extract_month": "The extract that published the figure before.",
        "extract_month": "The later extract that published another value.",
        "previous_value": "The value published before.",
        "value": "The value the later extract published.",
        "change": "value - previous_value, in the figure's unit (percentage points for percentages), "
                  "to one decimal place.",
        "relative_change": "change / |previous_value|; NULL when previous_value is 0.",
        "previous_numerator": "The numerator published before.",
        "numerator": "The numerator the later extract published.",
        "previous_denominator": "The denominator published before.",
        "denominator": "The denominator the later extract published.",
        "previous_availability": "The availability published before.",
        "availability": "The availability the later extract published.",
        **_PUBLICATION,
    },
}
