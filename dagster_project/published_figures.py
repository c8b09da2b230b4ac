"""The new scorecard against what was published before: "restated" is decided here, once.

``audit.published_figures`` (written at publication, :mod:`dagster_project.publish.audit`) holds
every figure ever published, with the extract it came from. A figure of the working scorecard
(``main.fct_scorecard``, from extract M) is **restated** when the latest publication of the same
measure and month from an earlier extract printed a value and the new extract gives another.
The publication's notes and restatement lists (publish) and the gate's restatement check (checks)
all read :func:`against_published`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from dagster_project.warehouse_sql import fetch_dicts, relation_exists

PUBLISHED_FIGURES = "audit.published_figures"


def against_published(con: duckdb.DuckDBPyConnection, extract_month: date) -> list[dict[str, Any]]:
    """Every figure of the working scorecard that an extract before ``extract_month`` published:
    the new figure, the latest earlier publication of it (``published_*``, ``published_extract``)
    and ``restated`` (a printed value that the new extract changes)."""
    if not relation_exists(con, PUBLISHED_FIGURES):
        return []
    return fetch_dicts(
        con,
        f"""with last as (
                select * from {PUBLISHED_FIGURES} where extract_month < ?
                qualify row_number() over (
                    partition by measure_id, month order by extract_month desc, published_at desc) = 1
            )
            select s.measure_id, s.month, s.value, s.numerator, s.denominator, s.availability,
                   last.value as published_value, last.numerator as published_numerator,
                   last.denominator as published_denominator, last.extract_month as published_extract,
                   last.unit as published_unit,
                   last.value is not null and s.value is distinct from last.value as restated
            from main.fct_scorecard as s join last using (measure_id, month)
            order by s.measure_id, s.month""",
        [extract_month],
    )
