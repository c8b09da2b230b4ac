"""Laws of the scorecard itself.

* ``completeness``: every measure of the catalogue for each of the twelve months M-11..M, all
  from extract M, and "not available" exactly where the extract lacks the optional feature.
* ``bounds``: percentages within 0-100, counts >= 0, numerator <= denominator, value = 100 x
  numerator / denominator (to the published precision), no value without data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.families.common import (
    DIM_MEASURE,
    SCORECARD,
    figure_finding,
    fmt_figure,
    measures,
    scorecard_rows,
    ym,
)
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.contract import add_months
from dagster_project.warehouse_sql import fetch_dicts


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
        figure_finding(
            "completeness",
            "scorecard",
            passed,
            summary,
            {"rows": len(rows), "expected_rows": expected, **problems},
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
                figure_finding(
                    "bounds",
                    mid,
                    True,
                    f"{mid}: all figures within bounds",
                    {"measure_id": mid},
                    measure_id=mid,
                )
            )
            continue
        items = [
            f"{ym(v['month'])} {fmt_figure(m.unit, v['value'], v['numerator'], v['denominator'])}: "
            f"{v['problem']}"
            for v in bad
        ]
        out.append(
            figure_finding(
                "bounds",
                mid,
                False,
                f"{mid}: " + "; ".join(items[:4]) + (" ..." if len(items) > 4 else ""),
                {"measure_id": mid, "violations": bad},
                measure_id=mid,
                figure_month=bad[-1]["month"],
            )
        )
    return out
