"""The audit trail: every figure ever published, restatements with their size, and sign-offs.

Called by the publish step inside write-audit-publish, on the working warehouse:

* :func:`record_published_figures` — the month's scorecard as published (measure, month, value,
  numerator, denominator, extract month, run, time) into ``audit.published_figures``; call it
  before the published copy is built so the copy carries the trail, and :func:`forget_run` if the
  publish then fails;
* :func:`create_figure_notes` — a temporary table ``figure_notes(measure_id, month, flag, note)``
  to print beside each figure: sign-offs (who, when, why), warnings, restatements;
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

from dagster_project.checks.results import QUALITY_SCHEMA, SIGNED_OFF, WARN, SignOff, ensure_quality_schema
from dagster_project.checks.signoff import signoffs_for_month
from dagster_project.published_figures import (
    AUDIT_SCHEMA,
    PUBLICATIONS,
    PUBLISHED_FIGURES,
    against_published,
    ensure_trail,
)
from dagster_project.warehouse_sql import fetch_dicts

RESTATEMENTS = f"{AUDIT_SCHEMA}.restatements"
# Each (measure, month) in extract order; a restatement is a publication whose value differs from
# the previous extract's publication of the same figure. change is in the figure's unit
# (percentage points for percentages).
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
    value - previous_value as change,
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


def month_signoffs(con: duckdb.DuckDBPyConnection, month: date) -> dict[str, SignOff]:
    return signoffs_for_month(con, month)


def _months_of(evidence: dict[str, Any], family: str) -> list[str]:
    """Months a finding's evidence names (restatements name several)."""
    if family == "restatement":
        return [str(r.get("month"))[:10] for r in evidence.get("restated", [])]
    if family in ("bounds", "consistency", "reconciliation"):
        return [str(r.get("month"))[:10] for r in evidence.get("violations", [])]
    return []


def create_figure_notes(con: duckdb.DuckDBPyConnection, month: date, run_id: str) -> int:
    """TEMP table ``figure_notes(measure_id, month, flag, note)``: what to print beside a figure.

    ``flag`` is ``signed_off`` (a hold a person accepted: who, when, why), ``warning`` (a warn check
    flagged it) or ``restated`` (an earlier extract published another value). One row per figure;
    several notes are joined with " | ". Join it to the scorecard on (measure_id, month).
    """
    ensure_quality_schema(con)
    ensure_audit_schema(con)
    notes: dict[tuple[str, str], list[tuple[str, str]]] = {}
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
        ev = json.loads(e["evidence"]) if e["evidence"] else {}
        months = _months_of(ev, e["family"]) or [str(e["figure_month"] or month)[:10]]
        if e["status"] == SIGNED_OFF and e["check_id"] in signed:
            s = signed[e["check_id"]]
            text = f"{e['check_id']}: {e['summary']} - {s.as_text()}"
            flag = "signed_off"
        else:
            text = f"{e['check_id']}: {e['summary']}"
            flag = "warning"
        for m in dict.fromkeys(months):
            notes.setdefault((e["measure_id"], m), []).append((flag, text))
    restated = [r for r in against_published(con, month) if r["restated"]]
    for r in restated:
        was = (
            "no data"
            if r["published_value"] is None
            else f"{r['published_value']:.1f}%"
            if r["published_unit"] == "percent"
            else f"{r['published_value']:,.0f}"
        )
        notes.setdefault((r["measure_id"], str(r["month"])[:10]), []).append(
            ("restated", f"restated: published as {was} in the scorecard of {r['published_extract']:%Y-%m}")
        )
    order = {"signed_off": 0, "warning": 1, "restated": 2}
    rows = []
    for (mid, m), items in sorted(notes.items()):
        items.sort(key=lambda i: order[i[0]])
        rows.append((mid, date.fromisoformat(m), items[0][0], " | ".join(t for _, t in items)))
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
    for table, comment in AUDIT_COMMENTS.items():
        kind = "VIEW" if table == RESTATEMENTS else "TABLE"
        con.execute(f"COMMENT ON {kind} {alias}.{table} IS '{comment}'")
    return [PUBLISHED_FIGURES, PUBLICATIONS, f"{AUDIT_SCHEMA}.signoffs", RESTATEMENTS]


AUDIT_COMMENTS = {
    PUBLISHED_FIGURES: "Every figure ever published: measure, month, value, numerator, denominator, the extract "
    "month that published it, the run and the time. What a committee was told: filter on extract_month.",
    PUBLICATIONS: "One row per publication of a month: the run that published it and when.",
    f"{AUDIT_SCHEMA}.signoffs": "Held quality checks a named person signed off: who, when, why, which figures.",
    RESTATEMENTS: "Published figures a later extract changed, with the previous and new values and the change.",
}
