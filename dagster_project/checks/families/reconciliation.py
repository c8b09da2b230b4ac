"""Reconciliation: every row accounted for, and every count equal to the rows it counts.

* ``load_reconciliation`` (per raw table, a law): rows read = rows loaded + quarantined +
  duplicates dropped, and the rows loaded are the valid rows in the raw table.
* ``reconciliation`` (figures, a law): each scorecard count in :data:`RECONCILIATIONS` equals the
  count of its fact rows, and the fact rows of :data:`FACT_SOURCES` equal the valid raw rows of
  the extract, month by month: the same month's contacts can never be printed as two numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.families.common import (
    SCORECARD,
    figure_finding,
    fmt_count,
    latest_loads,
    not_in_extract,
    raw_finding,
    ym,
)
from dagster_project.checks.families.quarantine import bad_rows
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.contract import TABLES, add_months
from dagster_project.warehouse_sql import fetch_dicts, relation_exists


def load_reconciliation(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """rows read = loaded + quarantined + dropped, and rows loaded = valid rows in the raw table."""
    loads = latest_loads(con, [month])
    out = []
    for t in TABLES:
        load = loads.get((month, t.name))
        if load is None:
            out.append(not_in_extract("load_reconciliation", t.name))
            continue
        valid = con.execute(
            f"select count(*) from raw.{t.name} where _extract_month = ? and _is_valid", [month]
        ).fetchone()[0]
        parts = (load["rows_loaded"] or 0) + bad_rows(load)[0]
        passed = load["rows_read"] == parts and load["rows_loaded"] == valid
        summary = (
            f"{t.name}: read {load['rows_read']:,} = loaded {load['rows_loaded']:,} + quarantined "
            f"{load['rows_quarantined']:,} + duplicates {load['duplicates_dropped']:,}"
            f"{'' if load['rows_read'] == parts else f' (sum {parts:,}: does not reconcile)'}; "
            f"valid rows in raw.{t.name}: {valid:,}"
        )
        ev = {
            "file": load["file_name"],
            "rows_read": load["rows_read"],
            "rows_loaded": load["rows_loaded"],
            "rows_quarantined": load["rows_quarantined"],
            "duplicates_dropped": load["duplicates_dropped"],
            "valid_rows_in_raw": valid,
        }
        out.append(raw_finding("load_reconciliation", t.name, passed, summary, ev))
    return out


@dataclass(frozen=True)
class Reconciliation:
    """A scorecard figure against a count of fact rows per month (SQL over the fact table)."""

    subject: str
    measure_id: str
    figure: str  # value | numerator | denominator
    fact: str  # main.<fact table>
    month_column: str
    where: str = "true"
    count: str = "count(*)"

    @property
    def counted(self) -> str:
        """What the fact count is, in words: 'rows of fct_contacts', or 'distinct child_key of ...'."""
        what = "rows" if self.count == "count(*)" else self.count.removeprefix("count(").removesuffix(")")
        return f"{what} of {self.fact}"


RECONCILIATIONS: tuple[Reconciliation, ...] = (
    Reconciliation("contacts", "contacts", "value", "fct_contacts", "contact_month"),
    Reconciliation(
        "police_contacts", "police_contacts", "value", "fct_contacts", "contact_month", "is_police"
    ),
    Reconciliation(
        "police_contacts_advice",
        "police_contacts_advice",
        "value",
        "fct_contacts",
        "contact_month",
        "is_police and is_advice",
    ),
    Reconciliation(
        "private_fostering",
        "private_fostering",
        "value",
        "fct_contacts",
        "contact_month",
        "is_private_fostering",
    ),
    Reconciliation("referrals", "rereferrals_12m_pct", "denominator", "fct_referrals", "referral_month"),
    Reconciliation(
        "missing_episodes", "missing_episodes", "value", "fct_missing_episodes", "start_month", "is_missing"
    ),
    Reconciliation(
        "children_missing",
        "children_missing",
        "value",
        "fct_missing_episodes",
        "start_month",
        "is_missing",
        "count(distinct child_key)",
    ),
    Reconciliation(
        "away_episodes", "away_episodes", "value", "fct_missing_episodes", "start_month", "is_away"
    ),
    Reconciliation(
        "returned_home", "returned_home", "value", "fct_periods_of_care", "end_month", "is_returned_home"
    ),
)

# fact table -> (raw table, date column of the fact's month): the fact's rows of extract M dated in
# each scorecard month against the valid raw rows of extract M dated in that month.
FACT_SOURCES: dict[str, tuple[str, str, str]] = {
    "fct_contacts": ("ssd_contacts", "contact_month", "cont_contact_date"),
    "fct_referrals": ("ssd_cin_episodes", "referral_month", "cine_referral_date"),
    "fct_missing_episodes": ("ssd_missing", "start_month", "miss_missing_episode_start_date"),
}


def reconciliation(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Scorecard counts = counts of fact rows; fact rows = valid raw rows of the extract."""
    first, last = add_months(month, -11), month
    out = []
    for rec in RECONCILIATIONS:
        ev: dict[str, Any] = {
            "measure_id": rec.measure_id,
            "figure": rec.figure,
            "fact": rec.fact,
            "filter": rec.where,
        }
        if not relation_exists(con, f"main.{rec.fact}"):
            out.append(
                figure_finding(
                    "reconciliation",
                    rec.subject,
                    False,
                    f"{rec.fact} does not exist",
                    ev,
                    measure_id=rec.measure_id,
                    asset_key=rec.fact,
                )
            )
            continue
        rows = fetch_dicts(
            con,
            f"""with facts as (
                    select {rec.month_column} as month, {rec.count} as fact_rows
                    from main.{rec.fact} where {rec.where} and {rec.month_column} between ? and ?
                    group by 1
                )
                select s.month, s.{rec.figure} as figure, coalesce(f.fact_rows, 0) as fact_rows
                from {SCORECARD} as s left join facts as f on s.month = f.month
                where s.measure_id = ? and s.availability = 'available'
                order by s.month""",
            [first, last, rec.measure_id],
        )
        bad = [r for r in rows if r["figure"] is None or int(r["figure"]) != r["fact_rows"]]
        ev["months"] = rows
        if not rows:
            out.append(
                figure_finding(
                    "reconciliation",
                    rec.subject,
                    True,
                    f"{rec.measure_id}: no available figures to reconcile",
                    ev,
                    measure_id=rec.measure_id,
                    asset_key=rec.fact,
                )
            )
            continue
        cur = rows[-1]
        if bad:
            items = [
                f"{ym(b['month'])}: scorecard {fmt_count(b['figure'])} vs {fmt_count(b['fact_rows'])} "
                f"{rec.counted}"
                for b in bad
            ]
            summary = f"{rec.measure_id} {rec.figure} does not match its fact rows: " + "; ".join(items[:3])
            out.append(
                figure_finding(
                    "reconciliation",
                    rec.subject,
                    False,
                    summary,
                    ev,
                    measure_id=rec.measure_id,
                    figure_month=bad[-1]["month"],
                    asset_key=rec.fact,
                )
            )
        else:
            out.append(
                figure_finding(
                    "reconciliation",
                    rec.subject,
                    True,
                    f"{rec.measure_id} {rec.figure} = {rec.counted} in all 12 months "
                    f"({ym(cur['month'])}: {fmt_count(cur['figure'])})",
                    ev,
                    measure_id=rec.measure_id,
                    asset_key=rec.fact,
                )
            )
    for fact, (raw_table, fact_month, raw_date) in FACT_SOURCES.items():
        subject = f"{fact}_rows"
        if not relation_exists(con, f"main.{fact}"):
            out.append(
                figure_finding("reconciliation", subject, False, f"{fact} does not exist", {}, asset_key=fact)
            )
            continue
        rows = fetch_dicts(
            con,
            f"""with f as (
                    select {fact_month} as month, count(*) as n from main.{fact}
                    where {fact_month} between ? and ? group by 1
                ), r as (
                    select cast(date_trunc('month', {raw_date}) as date) as month, count(*) as n
                    from raw.{raw_table}
                    where _extract_month = ? and _is_valid and {raw_date} >= ? and {raw_date} < ?
                    group by 1
                )
                select coalesce(f.month, r.month) as month, coalesce(f.n, 0) as fact_rows,
                       coalesce(r.n, 0) as raw_rows
                from f full join r on f.month = r.month order by 1""",
            [first, last, month, first, add_months(last, 1)],
        )
        bad = [r for r in rows if r["fact_rows"] != r["raw_rows"]]
        ev = {"fact": fact, "raw_table": raw_table, "months": rows}
        if bad:
            items = [
                f"{ym(b['month'])}: {b['fact_rows']:,} rows of {fact} vs {b['raw_rows']:,} valid rows of "
                f"raw.{raw_table}"
                for b in bad
            ]
            out.append(
                figure_finding(
                    "reconciliation",
                    subject,
                    False,
                    "; ".join(items[:3]),
                    ev,
                    figure_month=bad[-1]["month"],
                    asset_key=fact,
                )
            )
        else:
            total = sum(r["fact_rows"] for r in rows)
            out.append(
                figure_finding(
                    "reconciliation",
                    subject,
                    True,
                    f"{fact}: {total:,} rows in the 12 months = valid rows of raw.{raw_table}",
                    ev,
                    asset_key=fact,
                )
            )
    return out
