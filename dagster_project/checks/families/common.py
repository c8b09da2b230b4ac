"""What every check family shares: month arithmetic, how figures are printed, the scorecard as
the checks read it, the council's accepted extracts, and the one way to build a finding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.results import Finding
from dagster_project.published_figures import PUBLISHED_FIGURES
from dagster_project.warehouse_sql import fetch_dicts, relation_exists

SCORECARD = "main.fct_scorecard"
DIM_MEASURE = "main.dim_measure"
SCORECARD_ASSET = "fct_scorecard"
NO_BASELINE = "no baseline yet"


def raw_asset(table: str) -> str:
    return f"raw/{table}"


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def ym(d: date | None) -> str:
    return "-" if d is None else f"{d:%Y-%m}"


def fmt_count(x: float | int | None) -> str:
    if x is None:
        return "no data"
    return f"{int(round(x)):,}" if float(x).is_integer() else f"{x:,.1f}"


def fmt_pct(value: float | None, num: int | None = None, den: int | None = None) -> str:
    if value is None:
        return "no data"
    text = f"{value:.1f}%"
    if num is not None and den is not None:
        text += f" ({num:,}/{den:,})"
    return text


def fmt_figure(unit: str, value: float | None, num: int | None = None, den: int | None = None) -> str:
    return fmt_pct(value, num, den) if unit == "percent" else fmt_count(value)


def raw_finding(
    family: str, table: str, passed: bool, summary: str, evidence: dict[str, Any], subject: str | None = None
) -> Finding:
    """A finding about one raw table (attached to its Dagster asset ``raw/<table>``); its subject is
    the table unless the check names another (mix.contact_weekdays on ssd_contacts)."""
    return Finding(family, subject or table, passed, summary, {"table": table, **evidence}, asset_key=raw_asset(table))


def figure_finding(
    family: str,
    subject: str,
    passed: bool,
    summary: str,
    evidence: dict[str, Any],
    measure_id: str | None = None,
    figure_month: date | None = None,
    asset_key: str = SCORECARD_ASSET,
) -> Finding:
    """A finding about the figures (attached to the scorecard or the fact table it counts)."""
    return Finding(family, subject, passed, summary, evidence, measure_id, figure_month, asset_key)


def not_in_extract(family: str, table: str, subject: str | None = None) -> Finding:
    """An optional table the month's extract does not have: nothing to check, so the check passes."""
    return raw_finding(family, table, True, f"{table}: not in this extract", {}, subject)


@dataclass(frozen=True)
class Measure:
    measure_id: str
    unit: str  # count | percent
    is_snapshot: bool
    requires_feature: str | None
    name: str


def measures(con: duckdb.DuckDBPyConnection) -> dict[str, Measure]:
    rows = fetch_dicts(
        con,
        f"select measure_id, unit, is_snapshot, requires_feature, measure_name from {DIM_MEASURE} order by sort_order",
    )
    return {
        r["measure_id"]: Measure(r["measure_id"], r["unit"], bool(r["is_snapshot"]), r["requires_feature"] or None,
                                 r["measure_name"])
        for r in rows
    }


def scorecard_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        f"select measure_id, month, value, numerator, denominator, availability, extract_month "
        f"from {SCORECARD} order by measure_id, month",
    )


def accepted_extracts(con: duckdb.DuckDBPyConnection, before: date) -> list[date]:
    """The council's extracts before ``before`` that were accepted (published, signed off or not),
    oldest first: the yardstick of its own normal. A held or rejected month is not in it, so it
    never becomes the baseline of the next."""
    if not relation_exists(con, PUBLISHED_FIGURES):
        return []
    rows = con.execute(
        f"select distinct extract_month from {PUBLISHED_FIGURES} where extract_month < ? order by 1", [before]
    ).fetchall()
    return [r[0] for r in rows]


def latest_loads(con: duckdb.DuckDBPyConnection, months: list[date]) -> dict[tuple[date, str], dict[str, Any]]:
    """The load-log row per (extract month, table): the latest load when a month was loaded twice."""
    if not months:
        return {}
    rows = fetch_dicts(
        con,
        """select * from raw.load_log where list_contains(?, extract_month)
           qualify row_number() over (partition by extract_month, table_name order by loaded_at desc) = 1""",
        [months],
    )
    return {(r["extract_month"], r["table_name"]): r for r in rows}
