"""Plausibility checks: SQL over the working warehouse that compares and verifies figures.

A measure is defined once, in dbt. These checks never recompute a definition: they read
``fct_scorecard`` (and ``dim_measure``), compare figures with each other, with their own past and
with what was published before, and where a check needs a count they count fact rows in SQL.

Two groups, each a list of :class:`~dagster_project.checks.results.Finding`:

* :func:`raw_findings` (after ingest): ``volume_drift``, ``quarantine_rate``,
  ``load_reconciliation`` per raw table, ``freshness`` of busy tables and of the extract date;
* :func:`scorecard_findings` (after dbt): ``completeness``, ``bounds``, ``consistency``,
  ``reconciliation``, ``history``, ``restatement``.

Thresholds come from the policy (``quality_policy.yml``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding, private_column
from dagster_project.contract import TABLES, TABLES_BY_NAME, month_end
from dagster_project.warehouse_sql import fetch_dicts, relation_exists

SCORECARD = "main.fct_scorecard"
DIM_MEASURE = "main.dim_measure"
PUBLISHED_FIGURES = "audit.published_figures"
SCORECARD_ASSET = "fct_scorecard"


def raw_asset(table: str) -> str:
    return f"raw/{table}"


def add_months(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


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






# --------------------------------------------------------------------------------------------
# raw layer
# --------------------------------------------------------------------------------------------


def _latest_loads(con: duckdb.DuckDBPyConnection, month: date) -> dict[str, dict[str, Any]]:
    """The month's load-log row per table (the latest load when a month was loaded twice)."""
    rows = fetch_dicts(
        con,
        """select * from raw.load_log where extract_month = ?
           qualify row_number() over (partition by table_name order by loaded_at desc) = 1""",
        [month],
    )
    return {r["table_name"]: r for r in rows}


def previous_extract(con: duckdb.DuckDBPyConnection, month: date) -> date | None:
    """The extract to compare with: the latest earlier extract that was published, else the latest
    earlier one loaded (a blocked, truncated month is not the yardstick for the next one)."""
    if relation_exists(con, PUBLISHED_FIGURES):
        published = con.execute(
            f"""select max(l.extract_month) from raw.load_log as l
                where l.extract_month < ?
                    and l.extract_month in (select extract_month from {PUBLISHED_FIGURES})""",
            [month],
        ).fetchone()[0]
        if published is not None:
            return published
    return con.execute(
        "select max(extract_month) from raw.load_log where extract_month < ?", [month]
    ).fetchone()[0]


def volume_drift(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Rows in each table's file against the previous loaded extract."""
    now = _latest_loads(con, month)
    prev_month = previous_extract(con, month)
    before = _latest_loads(con, prev_month) if prev_month else {}
    out = []
    for t in TABLES:
        rule = policy.rule("volume_drift", t.name)
        cur, prev = now.get(t.name), before.get(t.name)
        ev: dict[str, Any] = {
            "table": t.name,
            "extract_month": ym(month),
            "previous_extract": ym(prev_month),
            "rows": cur["rows_read"] if cur else None,
            "previous_rows": prev["rows_read"] if prev else None,
            "max_drop": rule["max_drop"],
            "max_growth": rule["max_growth"],
            "min_rows_change": rule["min_rows_change"],
        }
        if cur is None:
            why = "optional table absent from this extract" if not t.required else "table not loaded"
            out.append(
                Finding(
                    "volume_drift",
                    t.name,
                    t.required is False,
                    f"{t.name}: {why}",
                    ev,
                    asset_key=raw_asset(t.name),
                )
            )
            continue
        if prev is None:
            why = "first loaded extract" if prev_month is None else f"absent from extract {ym(prev_month)}"
            out.append(
                Finding(
                    "volume_drift",
                    t.name,
                    True,
                    f"{t.name}: {cur['rows_read']:,} rows; nothing to compare ({why})",
                    ev,
                    asset_key=raw_asset(t.name),
                )
            )
            continue
        n, p = cur["rows_read"], prev["rows_read"]
        change = (n - p) / p if p else (math.inf if n else 0.0)
        ev["change"] = change
        big_enough = abs(n - p) >= rule["min_rows_change"]
        passed = not big_enough or (-rule["max_drop"] <= change <= rule["max_growth"])
        pct = f"{change:+.1%}" if math.isfinite(change) else "new"
        summary = f"{t.name}: {n:,} rows in extract {ym(month)} against {p:,} in {ym(prev_month)} ({pct})"
        if not passed:
            limit = rule["max_drop"] if change < 0 else rule["max_growth"]
            summary += f", beyond the {'drop' if change < 0 else 'growth'} limit of {limit:.0%}"
            if change < 0:
                summary += ": a truncated transfer?"
        out.append(Finding("volume_drift", t.name, passed, summary, ev, asset_key=raw_asset(t.name)))
    return out


def _bad_rows(load: dict[str, Any] | None) -> tuple[int, int, float]:
    if load is None:
        return 0, 0, 0.0
    bad = (load["rows_quarantined"] or 0) + (load["duplicates_dropped"] or 0)
    read = load["rows_read"] or 0
    return bad, read, (bad / read if read else 0.0)


def _not_in_extract(check: str, table: str) -> Finding:
    """An optional table the month's extract does not have: nothing to check, so the check passes."""
    return Finding(check, table, True, f"{table}: not in this extract", {"table": table}, asset_key=raw_asset(table))


def quarantine_rate(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Quarantined and dropped rows as a share of the rows read, per table, with the rules hit.

    Flagged when the share is above ``max_rate``, or above the previous extract's share by more
    than ``max_rate_increase`` (a council's steady background of bad rows does not block every
    month; a new fault does), once at least ``min_rows`` rows are affected.
    """
    loads = _latest_loads(con, month)
    prev_month = previous_extract(con, month)
    before = _latest_loads(con, prev_month) if prev_month else {}
    by_rule = fetch_dicts(
        con,
        """select table_name, rule, count(distinct row_number) as rows_failing, count(*) as failures,
                  list(distinct record_key order by record_key)[1:5] as example_keys
           from raw.quarantine where extract_month = ? group by table_name, rule order by table_name, rule""",
        [month],
    )
    out = []
    for t in TABLES:
        rule = policy.rule("quarantine_rate", t.name)
        load = loads.get(t.name)
        if load is None:
            out.append(_not_in_extract("quarantine_rate", t.name))
            continue
        bad, read, rate = _bad_rows(load)
        prev = before.get(t.name)
        _, _, prev_rate = _bad_rows(prev)
        rules = [
            {k: r[k] for k in ("rule", "rows_failing", "failures", "example_keys")}
            for r in by_rule
            if r["table_name"] == t.name
        ]
        if private_column(t.name, t.key):  # ssd_person's keys are person ids
            for r in rules:
                r["example_keys"] = None
        too_high = rate > rule["max_rate"]
        jumped = prev is not None and rate - prev_rate > rule["max_rate_increase"]
        passed = not ((too_high or jumped) and bad >= rule["min_rows"])
        summary = (
            f"{t.name}: {bad:,} of {read:,} rows quarantined or dropped ({rate:.2%}; "
            f"{load['rows_quarantined']:,} quarantined, {load['duplicates_dropped']:,} duplicates)"
        )
        if prev is not None:
            summary += f", {prev_rate:.2%} in extract {ym(prev_month)}"
        if rules:
            summary += "; rules: " + ", ".join(f"{r['rule']} {r['rows_failing']:,}" for r in rules)
        if not passed:
            limits = []
            if too_high:
                limits.append(f"above the limit of {rule['max_rate']:.2%}")
            if jumped:
                limits.append(f"up more than {rule['max_rate_increase']:.2%} on the previous extract")
            summary += "; " + " and ".join(limits)
        ev = {
            "table": t.name,
            "rows_read": read,
            "rows_quarantined": load["rows_quarantined"],
            "duplicates_dropped": load["duplicates_dropped"],
            "rate": rate,
            "previous_extract": ym(prev_month) if prev is not None else None,
            "previous_rate": prev_rate if prev is not None else None,
            "max_rate": rule["max_rate"],
            "max_rate_increase": rule["max_rate_increase"],
            "by_rule": rules,
        }
        out.append(Finding("quarantine_rate", t.name, passed, summary, ev, asset_key=raw_asset(t.name)))
    return out


def load_reconciliation(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """rows read = loaded + quarantined + dropped, and rows loaded = valid rows in the raw table."""
    loads = _latest_loads(con, month)
    out = []
    for t in TABLES:
        load = loads.get(t.name)
        if load is None:
            out.append(_not_in_extract("load_reconciliation", t.name))
            continue
        valid = con.execute(
            f"select count(*) from raw.{t.name} where _extract_month = ? and _is_valid", [month]
        ).fetchone()[0]
        parts = (
            (load["rows_loaded"] or 0) + (load["rows_quarantined"] or 0) + (load["duplicates_dropped"] or 0)
        )
        passed = load["rows_read"] == parts and load["rows_loaded"] == valid
        summary = (
            f"{t.name}: read {load['rows_read']:,} = loaded {load['rows_loaded']:,} + quarantined "
            f"{load['rows_quarantined']:,} + duplicates {load['duplicates_dropped']:,}"
            f"{'' if load['rows_read'] == parts else f' (sum {parts:,}: does not reconcile)'}; "
            f"valid rows in raw.{t.name}: {valid:,}"
        )
        ev = {
            "table": t.name,
            "file": load["file_name"],
            "rows_read": load["rows_read"],
            "rows_loaded": load["rows_loaded"],
            "rows_quarantined": load["rows_quarantined"],
            "duplicates_dropped": load["duplicates_dropped"],
            "valid_rows_in_raw": valid,
        }
        out.append(Finding("load_reconciliation", t.name, passed, summary, ev, asset_key=raw_asset(t.name)))
    return out


def freshness(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Newest event of busy tables against the extract date; extract date against month end."""
    ext = fetch_dicts(
        con, "select * from raw.extracts where extract_month = ? order by loaded_at desc limit 1", [month]
    )
    fam = policy.family("freshness")
    out = []
    if not ext:
        return [
            Finding(
                "freshness",
                "extract_date",
                False,
                f"no raw.extracts row for {ym(month)}",
                {},
                asset_key="raw/extracts",
            )
        ]
    e = ext[0]
    period_end = e["period_end"] or month_end(month)
    has_manifest = bool(e["has_manifest"])
    reference = e["extract_date"] if has_manifest and e["extract_date"] else period_end
    rule = policy.rule("freshness", "extract_date")
    delay = (e["extract_date"] - period_end).days if has_manifest and e["extract_date"] else None
    passed = delay is None or delay <= rule["max_extract_delay_days"]
    summary = (
        f"extract {ym(month)} taken {e['extract_date']} ({delay} days after the month end {period_end})"
        if delay is not None
        else f"extract {ym(month)} has no manifest: extract date unknown"
    )
    if not passed:
        summary += f", later than {rule['max_extract_delay_days']} days: figures may be stale"
    out.append(
        Finding(
            "freshness",
            "extract_date",
            passed,
            summary,
            {
                "extract_date": e["extract_date"],
                "period_end": period_end,
                "delay_days": delay,
                "has_manifest": has_manifest,
            },
            asset_key="raw/extracts",
        )
    )
    for table, column in (fam.get("tables") or {}).items():
        if table not in TABLES_BY_NAME:
            continue
        rule = policy.rule("freshness", table)
        newest, rows = con.execute(
            f"select max({column}), count(*) from raw.{table} where _extract_month = ? and _is_valid "
            f"and {column} <= ?",
            [month, reference],
        ).fetchone()
        if rows == 0 and not TABLES_BY_NAME[table].required:
            out.append(_not_in_extract("freshness", table))
            continue
        lag = (reference - newest).days if newest else None
        passed = lag is not None and lag <= rule["max_lag_days"]
        what = "the extract date" if has_manifest else "the month end (no manifest)"
        summary = (
            f"{table}: newest {column} {newest}, {lag} days before {what} {reference}"
            if newest
            else f"{table}: no {column} at all"
        )
        if not passed:
            summary += f" (limit {rule['max_lag_days']} days): the extract looks stale"
        out.append(
            Finding(
                "freshness",
                table,
                passed,
                summary,
                {
                    "table": table,
                    "column": column,
                    "newest": newest,
                    "reference_date": reference,
                    "lag_days": lag,
                    "max_lag_days": rule["max_lag_days"],
                },
                asset_key=raw_asset(table),
            )
        )
    return out


def raw_findings(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    return [
        *volume_drift(con, month, policy),
        *quarantine_rate(con, month, policy),
        *load_reconciliation(con, month, policy),
        *freshness(con, month, policy),
    ]


# --------------------------------------------------------------------------------------------
# scorecard
# --------------------------------------------------------------------------------------------


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
        f"select measure_id, unit, is_snapshot, requires_feature, measure_name "
        f"from {DIM_MEASURE} order by sort_order",
    )
    return {
        r["measure_id"]: Measure(
            r["measure_id"],
            r["unit"],
            bool(r["is_snapshot"]),
            r["requires_feature"] or None,
            r["measure_name"],
        )
        for r in rows
    }


def scorecard_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        f"select measure_id, month, value, numerator, denominator, availability, extract_month "
        f"from {SCORECARD} order by measure_id, month",
    )


def completeness(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Every catalogue measure for each of M-11..M, from extract M; 'not available' exactly where
    the extract lacks the feature a measure needs."""
    cat = measures(con)
    rows = scorecard_rows(con)
    months = [add_months(month, -k) for k in range(11, -1, -1)]
    seen: dict[tuple[str, date], int] = {}
    for r in rows:
        seen[(r["measure_id"], r["month"])] = seen.get((r["measure_id"], r["month"]), 0) + 1
    missing = [f"{m}/{ym(x)}" for m in cat for x in months if (m, x) not in seen]
    duplicated = [f"{m}/{ym(x)}" for (m, x), n in seen.items() if n > 1]
    unexpected = sorted(
        {
            f"{r['measure_id']}/{ym(r['month'])}"
            for r in rows
            if r["measure_id"] not in cat or r["month"] not in months
        }
    )
    wrong_extract = sorted({r["measure_id"] for r in rows if r["extract_month"] != month})
    bad_availability = sorted(
        {
            f"{r['measure_id']}/{r['availability']}"
            for r in rows
            if r["availability"] not in ("available", "no_data", "not_available")
        }
    )
    features = dict(
        con.execute(
            "select feature, bool_or(available) from raw.extract_features "
            "where extract_month = ? group by feature",
            [month],
        ).fetchall()
    )
    feature_mismatch = []
    for r in rows:
        m = cat.get(r["measure_id"])
        if m is None or m.requires_feature is None:
            if r["availability"] == "not_available":
                feature_mismatch.append(
                    f"{r['measure_id']}/{ym(r['month'])}: not_available without a feature"
                )
            continue
        has = bool(features.get(m.requires_feature, False))
        if has == (r["availability"] == "not_available"):
            feature_mismatch.append(
                f"{r['measure_id']}/{ym(r['month'])}: {r['availability']} while {m.requires_feature} is "
                f"{'present' if has else 'absent'}"
            )
    problems = {
        "missing": missing,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "wrong_extract_month": wrong_extract,
        "bad_availability": bad_availability,
        "feature_mismatch": feature_mismatch[:50],
    }
    passed = not any(problems.values())
    expected = len(cat) * len(months)
    summary = f"fct_scorecard: {len(rows):,} rows for {len(cat)} measures x 12 months ({expected:,} expected)"
    if not passed:
        summary += "; " + "; ".join(
            f"{k.replace('_', ' ')}: {', '.join(v[:5])}{' ...' if len(v) > 5 else ''}"
            for k, v in problems.items()
            if v
        )
    return [
        Finding(
            "completeness",
            "scorecard",
            passed,
            summary,
            {"rows": len(rows), "expected_rows": expected, **problems},
            asset_key=SCORECARD_ASSET,
        )
    ]


def bounds(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Percentages 0-100, counts >= 0, numerator <= denominator, value agrees with its parts."""
    tol = float(policy.family("bounds").get("value_tolerance", 0.05)) + 1e-9
    violations = fetch_dicts(
        con,
        f"""
        with s as (
            select s.*, m.unit from {SCORECARD} as s join {DIM_MEASURE} as m using (measure_id)
        ),
        checks as (
            select measure_id, month, value, numerator, denominator, availability, unit,
                case
                    when availability <> 'available' and value is not null
                        then 'a value although the figure is ' || availability
                    when availability = 'available' and value is null then 'available but no value'
                    when unit = 'count' and value < 0 then 'negative count'
                    when unit = 'count' and numerator is not null and value <> numerator
                        then 'count differs from its numerator'
                    when unit = 'percent' and (value < 0 or value > 100) then 'percentage outside 0-100'
                    when unit = 'percent' and (numerator < 0 or denominator < 0)
                        then 'negative numerator or denominator'
                    when unit = 'percent' and numerator > denominator then 'numerator above denominator'
                    when unit = 'percent' and denominator = 0 and value is not null
                        then 'a percentage of a zero denominator'
                    when unit = 'percent' and value is not null and denominator > 0
                        and abs(value - 100.0 * numerator / denominator) > {tol}
                        then 'value is not 100 x numerator / denominator'
                    when unit not in ('count', 'percent') then 'unknown unit ' || unit
                end as problem
            from s
        )
        select * from checks where problem is not null order by measure_id, month
        """,
    )
    by_measure: dict[str, list[dict[str, Any]]] = {}
    for v in violations:
        by_measure.setdefault(v["measure_id"], []).append(v)
    out = []
    for mid, m in measures(con).items():
        bad = by_measure.get(mid, [])
        if not bad:
            out.append(
                Finding(
                    "bounds",
                    mid,
                    True,
                    f"{mid}: all figures within bounds",
                    {"measure_id": mid},
                    measure_id=mid,
                    asset_key=SCORECARD_ASSET,
                )
            )
            continue
        items = [
            f"{ym(v['month'])} {fmt_figure(m.unit, v['value'], v['numerator'], v['denominator'])}: "
            f"{v['problem']}"
            for v in bad
        ]
        out.append(
            Finding(
                "bounds",
                mid,
                False,
                f"{mid}: " + "; ".join(items[:4]) + (" ..." if len(items) > 4 else ""),
                {"measure_id": mid, "violations": bad},
                measure_id=mid,
                figure_month=bad[-1]["month"],
                asset_key=SCORECARD_ASSET,
            )
        )
    return out


@dataclass(frozen=True)
class Relation:
    """``left op right`` for every month where both figures are available."""

    subject: str
    left: tuple[str, str]  # (measure_id, value|numerator|denominator)
    op: str  # '<=' or '='
    right: tuple[str, str]
    text: str


RELATIONS: tuple[Relation, ...] = (
    Relation(
        "police_contacts_le_contacts",
        ("police_contacts", "value"),
        "<=",
        ("contacts", "value"),
        "police contacts <= contacts",
    ),
    Relation(
        "police_advice_le_police_contacts",
        ("police_contacts_advice", "value"),
        "<=",
        ("police_contacts", "value"),
        "police contacts resulting in advice <= police contacts",
    ),
    Relation(
        "private_fostering_le_contacts",
        ("private_fostering", "value"),
        "<=",
        ("contacts", "value"),
        "private fostering contacts <= contacts",
    ),
    Relation(
        "children_missing_le_episodes",
        ("children_missing", "value"),
        "<=",
        ("missing_episodes", "value"),
        "children who went missing <= missing episodes",
    ),
    Relation(
        "cla_children_missing_le_children_missing",
        ("cla_children_missing", "value"),
        "<=",
        ("children_missing", "value"),
        "children in care who went missing <= all children who went missing",
    ),
    Relation(
        "cla_children_missing_le_cla_episodes",
        ("cla_children_missing", "value"),
        "<=",
        ("cla_missing_episodes", "value"),
        "children in care who went missing <= their missing episodes",
    ),
    Relation(
        "cla_missing_episodes_le_episodes",
        ("cla_missing_episodes", "value"),
        "<=",
        ("missing_episodes", "value"),
        "missing episodes of children in care <= all missing episodes",
    ),
    Relation(
        "contacts_to_referral_denominator",
        ("contacts_to_referral_pct", "denominator"),
        "=",
        ("contacts", "value"),
        "% of contacts resulting in a referral is a share of the contacts",
    ),
    Relation(
        "contacts_decided_1wd_denominator",
        ("contacts_decided_1wd_pct", "denominator"),
        "=",
        ("contacts", "value"),
        "% of contacts completed in 1 working day is a share of the contacts",
    ),
    Relation(
        "police_contacts_pct_numerator",
        ("police_contacts_pct", "numerator"),
        "=",
        ("police_contacts", "value"),
        "% of police contacts counts the police contacts",
    ),
    Relation(
        "police_contacts_pct_denominator",
        ("police_contacts_pct", "denominator"),
        "=",
        ("contacts", "value"),
        "% of police contacts is a share of the contacts",
    ),
    Relation(
        "police_advice_pct_numerator",
        ("police_contacts_advice_pct", "numerator"),
        "=",
        ("police_contacts_advice", "value"),
        "% of police contacts resulting in advice counts them",
    ),
    Relation(
        "police_advice_pct_denominator",
        ("police_contacts_advice_pct", "denominator"),
        "=",
        ("police_contacts", "value"),
        "% of police contacts resulting in advice is a share of police contacts",
    ),
    Relation(
        "cla_rhi_offered_le_rhi_offered",
        ("cla_rhi_accepted_pct", "denominator"),
        "<=",
        ("rhi_accepted_pct", "denominator"),
        "RHIs offered to children in care <= all RHIs offered",
    ),
    Relation(
        "cla_rhi_accepted_le_rhi_accepted",
        ("cla_rhi_accepted_pct", "numerator"),
        "<=",
        ("rhi_accepted_pct", "numerator"),
        "RHIs accepted by children in care <= all RHIs accepted",
    ),
    Relation(
        "assessments_from_referral_le_assessments",
        ("assessments_45wd_from_referral_pct", "denominator"),
        "<=",
        ("assessments_45wd_pct", "denominator"),
        "assessments timed from the referral <= assessments completed",
    ),
    Relation(
        "icpc_timed_le_icpc_held",
        ("icpc_15wd_pct", "denominator"),
        "<=",
        ("icpc_to_cp_plan_pct", "denominator"),
        "ICPCs timed from their S47 <= ICPCs held",
    ),
    Relation(
        "care_leavers_accom_denominator",
        ("care_leavers_suitable_accom_pct", "denominator"),
        "=",
        ("care_leavers_eet_pct", "denominator"),
        "care-leaver measures share one denominator",
    ),
    Relation(
        "care_leavers_in_touch_denominator",
        ("care_leavers_in_touch_pct", "denominator"),
        "=",
        ("care_leavers_eet_pct", "denominator"),
        "care-leaver measures share one denominator",
    ),
)


def consistency(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Figures that must agree with each other in the same month."""
    present = {r[0] for r in con.execute(f"select distinct measure_id from {SCORECARD}").fetchall()}
    out = []
    for rel in RELATIONS:
        (lm, lc), (rm, rc) = rel.left, rel.right
        ev: dict[str, Any] = {"relation": rel.text, "left": f"{lm}.{lc}", "op": rel.op, "right": f"{rm}.{rc}"}
        if lm not in present or rm not in present:
            out.append(
                Finding(
                    "consistency",
                    rel.subject,
                    True,
                    f"{rel.text}: not evaluated ({lm if lm not in present else rm} not in the scorecard)",
                    ev,
                    asset_key=SCORECARD_ASSET,
                )
            )
            continue
        bad = fetch_dicts(
            con,
            f"""select l.month, l.{lc} as left_figure, r.{rc} as right_figure
                from {SCORECARD} as l join {SCORECARD} as r on l.month = r.month
                where l.measure_id = ? and r.measure_id = ?
                    and l.availability = 'available' and r.availability = 'available'
                    and l.{lc} is not null and r.{rc} is not null
                    and not (l.{lc} {rel.op} r.{rc})
                order by l.month""",
            [lm, rm],
        )
        ev["violations"] = bad
        if bad:
            items = [
                f"{ym(b['month'])}: {lm} {lc} {fmt_count(b['left_figure'])} vs {rm} {rc} "
                f"{fmt_count(b['right_figure'])}"
                for b in bad
            ]
            summary = f"{rel.text} fails: " + "; ".join(items[:3]) + (" ..." if len(items) > 3 else "")
            out.append(
                Finding(
                    "consistency",
                    rel.subject,
                    False,
                    summary,
                    ev,
                    measure_id=lm,
                    figure_month=bad[-1]["month"],
                    asset_key=SCORECARD_ASSET,
                )
            )
        else:
            out.append(
                Finding(
                    "consistency",
                    rel.subject,
                    True,
                    f"{rel.text}: holds in every month",
                    ev,
                    measure_id=lm,
                    asset_key=SCORECARD_ASSET,
                )
            )
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
                Finding(
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
                Finding(
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
                f"rows of {rec.fact}"
                for b in bad
            ]
            summary = f"{rec.measure_id} {rec.figure} does not match its fact rows: " + "; ".join(items[:3])
            out.append(
                Finding(
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
                Finding(
                    "reconciliation",
                    rec.subject,
                    True,
                    f"{rec.measure_id} {rec.figure} = rows of {rec.fact} in all 12 months "
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
                Finding("reconciliation", subject, False, f"{fact} does not exist", {}, asset_key=fact)
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
                Finding(
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
                Finding(
                    "reconciliation",
                    subject,
                    True,
                    f"{fact}: {total:,} rows in the 12 months = valid rows of raw.{raw_table}",
                    ev,
                    asset_key=fact,
                )
            )
    return out


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def _mad(xs: Sequence[float], center: float) -> float:
    return 1.4826 * _median([abs(x - center) for x in xs])


def history_of_percentage(
    current: dict[str, Any],
    past: Sequence[dict[str, Any]],
    rule: Any,
    month: date | None = None,
) -> tuple[bool, str, dict[str, Any]]:
    """A rate against the median past rate: binomial variance for this month's denominator plus
    the between-month spread the measure has shown (robust, from the MAD). In the seasonal months
    shares move more (in August the police's share of contacts rises as schools' falls): the
    change must then also exceed ``seasonal.percent_allowance_pp`` more points."""
    cfg = rule["percent"]
    seasonal = rule.get("seasonal") or {}
    in_season = month is not None and month.month in (seasonal.get("months") or [])
    min_change = cfg["min_change_pp"] + (
        float(seasonal.get("percent_allowance_pp", 0.0)) if in_season else 0.0
    )
    n, k = int(current["denominator"]), int(current["numerator"])
    p = k / n
    rates = [r["numerator"] / r["denominator"] for r in past]
    p0 = _median(rates)
    spread = _mad(rates, p0)
    binomial_past = _median([p0 * (1 - p0) / r["denominator"] for r in past])
    tau2 = max(0.0, spread**2 - binomial_past)
    p0_smoothed = (p0 * n + 1) / (n + 2)  # keeps the variance positive at 0 % and 100 %
    sd = math.sqrt(p0_smoothed * (1 - p0_smoothed) / n + tau2)
    z = (p - p0) / sd
    change_pp = 100 * (p - p0)
    flagged = abs(z) > cfg["z_max"] and abs(change_pp) >= min_change and n >= cfg["min_denominator"]
    ev = {
        "value": 100 * p,
        "numerator": k,
        "denominator": n,
        "median_past": 100 * p0,
        "past_spread_pp": 100 * spread,
        "sd_pp": 100 * sd,
        "z": z,
        "change_pp": change_pp,
        "z_max": cfg["z_max"],
        "min_change_pp": min_change,
        "min_denominator": cfg["min_denominator"],
        "past": [
            {
                "month": ym(r["month"]),
                "value": r["value"],
                "numerator": r["numerator"],
                "denominator": r["denominator"],
            }
            for r in past
        ],
    }
    text = (
        f"{100 * p:.1f}% ({k:,}/{n:,}) against a median of {100 * p0:.1f}% over the previous "
        f"{len(past)} months ({change_pp:+.1f} points, z = {z:+.1f})"
    )
    if n < cfg["min_denominator"]:
        text += f"; denominator below {cfg['min_denominator']}, never flagged"
    return not flagged, text, ev


def history_of_count(
    current: dict[str, Any],
    past: Sequence[dict[str, Any]],
    rule: Any,
    month: date,
) -> tuple[bool, str, dict[str, Any]]:
    """A count against the median of its past months (MAD spread with a Poisson floor), allowing
    the seasonal dips of the policy's months."""
    cfg, seasonal = rule["count"], rule.get("seasonal") or {}
    x = float(current["value"])
    values = [float(r["value"]) for r in past]
    med = _median(values)
    spread = _mad(values, med)
    sd = max(spread, math.sqrt(max(med, 1.0)))
    in_season = month.month in (seasonal.get("months") or [])
    allowance = float(seasonal.get("dip_allowance", 0.0)) if in_season else 0.0
    # a seasonal month may dip by up to the allowance without counting as a change
    x_adj = min(med, x / (1 - allowance)) if (allowance and x < med) else x
    z = (x_adj - med) / sd
    ratio = (x_adj / med - 1) if med > 0 else (math.inf if x_adj > 0 else 0.0)
    flagged = (
        abs(z) > cfg["z_max"]
        and abs(x_adj - med) >= cfg["min_abs_change"]
        and abs(ratio) >= cfg["min_ratio_change"]
    )
    ev = {
        "value": x,
        "median_past": med,
        "spread": spread,
        "sd": sd,
        "z": z,
        "change": (x / med - 1) if med > 0 else None,
        "seasonal_allowance": allowance,
        "z_max": cfg["z_max"],
        "min_ratio_change": cfg["min_ratio_change"],
        "min_abs_change": cfg["min_abs_change"],
        "past": [{"month": ym(r["month"]), "value": r["value"]} for r in past],
    }
    change = f"{x / med - 1:+.0%}" if med > 0 else "from 0"
    text = (
        f"{fmt_count(x)} against a median of {fmt_count(med)} over the previous {len(past)} months "
        f"({change}, z = {z:+.1f}{f', {month:%B} dip allowance {allowance:.0%}' if allowance else ''})"
    )
    return not flagged, text, ev


def history(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """The new month of each measure against its previous months in the same scorecard."""
    rows = scorecard_rows(con)
    out = []
    for mid, m in measures(con).items():
        rule = policy.rule("history", mid)
        mine = [r for r in rows if r["measure_id"] == mid]
        current = next((r for r in mine if r["month"] == month), None)
        if m.unit == "percent":
            usable = [
                r
                for r in mine
                if r["availability"] == "available"
                and r["value"] is not None
                and r["denominator"]
                and r["numerator"] is not None
            ]
        else:
            usable = [r for r in mine if r["availability"] == "available" and r["value"] is not None]
        past = [r for r in usable if r["month"] < month]
        if current is None or current not in usable:
            state = "no figure" if current is None else current["availability"].replace("_", " ")
            out.append(
                Finding(
                    "history",
                    mid,
                    True,
                    f"{mid} {ym(month)}: {state}; nothing to compare",
                    {"measure_id": mid},
                    measure_id=mid,
                    figure_month=month,
                    asset_key=SCORECARD_ASSET,
                )
            )
            continue
        if len(past) < rule["min_history_months"]:
            out.append(
                Finding(
                    "history",
                    mid,
                    True,
                    f"{mid} {ym(month)}: only {len(past)} earlier months with data "
                    f"(need {rule['min_history_months']}); not compared",
                    {"measure_id": mid, "past_months": len(past)},
                    measure_id=mid,
                    figure_month=month,
                    asset_key=SCORECARD_ASSET,
                )
            )
            continue
        if m.unit == "percent":
            passed, text, ev = history_of_percentage(current, past, rule, month)
        else:
            passed, text, ev = history_of_count(current, past, rule, month)
        ev["measure_id"] = mid
        summary = f"{mid} {ym(month)}: {text}"
        if not passed:
            summary += "; an unusual change for this measure"
        out.append(
            Finding(
                "history",
                mid,
                passed,
                summary,
                ev,
                measure_id=mid,
                figure_month=month,
                asset_key=SCORECARD_ASSET,
            )
        )
    return out


def restatement(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Figures already published from earlier extracts that this extract moves beyond tolerance."""
    cat = measures(con)
    prior: list[dict[str, Any]] = []
    if relation_exists(con, PUBLISHED_FIGURES):
        prior = fetch_dicts(
            con,
            f"""with last as (
                    select * from {PUBLISHED_FIGURES} where extract_month < ?
                    qualify row_number() over (
                        partition by measure_id, month order by extract_month desc, published_at desc) = 1
                )
                select s.measure_id, s.month, s.value, s.numerator, s.denominator, s.availability,
                       last.value as published_value, last.numerator as published_numerator,
                       last.denominator as published_denominator, last.extract_month as published_extract,
                       last.run_id as published_run
                from {SCORECARD} as s join last using (measure_id, month)
                order by s.measure_id, s.month""",
            [month],
        )
    out = []
    for mid, m in cat.items():
        rule = policy.rule("restatement", mid)
        mine = [r for r in prior if r["measure_id"] == mid]
        moved = []
        for r in mine:
            old, new = r["published_value"], r["value"]
            if old is None:  # published as no data / not available: a figure arriving is news, not a move
                continue
            if new is None:
                moved.append({**r, "change": None, "why": f"now {r['availability'].replace('_', ' ')}"})
                continue
            # the newest month of a publication is the one late recording fills in most
            newest = r["month"] == r["published_extract"]
            latest_cfg = (rule.get("latest_month") or {}) if newest else {}
            if m.unit == "percent":
                cfg = {**rule["percent"], **(latest_cfg.get("percent") or {})}
                dnum = abs((r["numerator"] or 0) - (r["published_numerator"] or 0))
                dden = abs((r["denominator"] or 0) - (r["published_denominator"] or 0))
                if abs(new - old) > cfg["max_change_pp"] and max(dnum, dden) >= cfg["min_count_change"]:
                    moved.append({**r, "change": new - old, "why": f"{new - old:+.1f} points"})
            else:
                cfg = {**rule["count"], **(latest_cfg.get("count") or {})}
                if (
                    abs(new - old) > cfg["max_relative_change"] * max(abs(old), 1.0)
                    and abs(new - old) >= cfg["min_abs_change"]
                ):
                    rel = f" ({(new - old) / old:+.0%})" if old else ""
                    moved.append({**r, "change": new - old, "why": f"{new - old:+,.0f}{rel}"})
        ev = {"measure_id": mid, "compared_months": len(mine), "restated": moved}
        if not mine:
            out.append(
                Finding(
                    "restatement",
                    mid,
                    True,
                    f"{mid}: nothing published before to compare",
                    ev,
                    measure_id=mid,
                    asset_key=SCORECARD_ASSET,
                )
            )
        elif not moved:
            out.append(
                Finding(
                    "restatement",
                    mid,
                    True,
                    f"{mid}: {len(mine)} published months within tolerance",
                    ev,
                    measure_id=mid,
                    asset_key=SCORECARD_ASSET,
                )
            )
        else:
            items = []
            for r in moved:
                before = fmt_figure(
                    m.unit, r["published_value"], r["published_numerator"], r["published_denominator"]
                )
                now = fmt_figure(m.unit, r["value"], r["numerator"], r["denominator"])
                items.append(
                    f"{ym(r['month'])} published {before} (extract {ym(r['published_extract'])}), "
                    f"now {now}: {r['why']}"
                )
            out.append(
                Finding(
                    "restatement",
                    mid,
                    False,
                    f"{mid} restated beyond tolerance: "
                    + "; ".join(items[:3])
                    + (f" and {len(items) - 3} more" if len(items) > 3 else ""),
                    ev,
                    measure_id=mid,
                    figure_month=moved[-1]["month"],
                    asset_key=SCORECARD_ASSET,
                )
            )
    return out


def scorecard_findings(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    return [
        *completeness(con, month, policy),
        *bounds(con, month, policy),
        *consistency(con, month, policy),
        *reconciliation(con, month, policy),
        *history(con, month, policy),
        *restatement(con, month, policy),
    ]
