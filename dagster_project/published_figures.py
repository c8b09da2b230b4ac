"""What was published: the trail of publications, and "restated", decided here once.

``audit.published_figures`` (written at publication, :mod:`dagster_project.publish.audit`) holds
every figure ever published, with the extract it came from; ``audit.publications`` one row per
publication, confirmed after its commit. The checks (restatement, history against accepted
extracts) and the publish step both read and settle this trail, so it lives below both.

A figure of the working scorecard (``main.fct_scorecard``, from extract M) is **restated** when the
latest publication of the same measure and month from an earlier extract printed a value and the
new extract gives another.
The publication's notes and restatement lists (publish) and the gate's restatement check (checks)
all read :func:`against_published`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.warehouse_sql import fetch_dicts, relation_exists

AUDIT_SCHEMA = "audit"
PUBLISHED_FIGURES = f"{AUDIT_SCHEMA}.published_figures"
PUBLICATIONS = f"{AUDIT_SCHEMA}.publications"
PUBLICATION_MARKER = "publication.json"  # in each published month folder: which run published it

PUBLICATIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {PUBLICATIONS} (
    month DATE NOT NULL, run_id VARCHAR NOT NULL, published_at TIMESTAMP NOT NULL)"""

PUBLISHED_FIGURES_DDL = f"""CREATE TABLE IF NOT EXISTS {PUBLISHED_FIGURES} (
    measure_id VARCHAR NOT NULL, month DATE NOT NULL, value DOUBLE, numerator BIGINT, denominator BIGINT,
    availability VARCHAR, unit VARCHAR, extract_month DATE NOT NULL, run_id VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL)"""


def ensure_trail(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    con.execute(PUBLISHED_FIGURES_DDL)
    con.execute(PUBLICATIONS_DDL)


def publication_marker(month: date, run_id: str, published_at: datetime) -> dict[str, str]:
    """The content of ``<YYYY-MM>/publication.json``, written with the month's files."""
    return {"month": month.strftime("%Y-%m"), "run_id": run_id,
            "published_at": published_at.replace(tzinfo=None).isoformat(timespec="seconds")}


def confirm_publication(con: duckdb.DuckDBPyConnection, month: date, run_id: str, published_at: datetime) -> None:
    """After the commit: the run's recorded figures are now published figures."""
    ensure_trail(con)
    con.execute(f"DELETE FROM {PUBLICATIONS} WHERE run_id = ?", [run_id])
    con.execute(f"INSERT INTO {PUBLICATIONS} VALUES (?, ?, ?)", [month, run_id, published_at.replace(tzinfo=None)])


def settle_publications(con: duckdb.DuckDBPyConnection, published_dir: Path) -> int:
    """Make the trail agree with what is published; returns how many unpublished figures it dropped.

    A run records its figures before its commit (the published copy carries them) and confirms them
    after it. A run killed between the two is settled here from the month folders' markers: a run
    whose month folder is published is confirmed; figures of a run that never published are removed,
    so neither the restatement check nor the trail ever counts a figure nobody was shown.
    """
    ensure_trail(con)
    for marker in sorted(published_dir.glob(f"????-??/{PUBLICATION_MARKER}")):
        info = json.loads(marker.read_text(encoding="utf-8"))
        known = con.execute(f"SELECT count(*) FROM {PUBLICATIONS} WHERE run_id = ?", [info["run_id"]]).fetchone()[0]
        if not known:
            confirm_publication(con, date.fromisoformat(info["month"] + "-01"), info["run_id"],
                                datetime.fromisoformat(info["published_at"]))
    dropped = con.execute(
        f"SELECT count(*) FROM {PUBLISHED_FIGURES} WHERE run_id NOT IN (SELECT run_id FROM {PUBLICATIONS})"
    ).fetchone()[0]
    con.execute(f"DELETE FROM {PUBLISHED_FIGURES} WHERE run_id NOT IN (SELECT run_id FROM {PUBLICATIONS})")
    return dropped




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
