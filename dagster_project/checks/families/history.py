"""history: the new month of each measure against the same measure's earlier months in the same
extract.

Every extract is a full refresh of six years, so from a council's very first load the scorecard
holds M-11..M of the same file: the council's own normal. Counts are judged as counts
(``baseline.judge_count``: Poisson scale, the council's own spread, a minimum count before a
change is judged), percentages as rates (``baseline.judge_rate``: binomial noise of the month's
denominator plus the council's own month-to-month spread). A percentage's cases (its
denominator) are judged too, as a count: a share can look normal, or have no figure at all ("no
data": no case this month), when half or all of the month's cases were lost from the extract
(assessments whose completion was not sent, reviews sent twice). A denominator that is another
figure's number under a second name (``seeds/measure_relations.csv``, same_number: the contacts
behind the contact percentages) is judged once, where it is its own figure. School holidays (the
policy's seasonal months) allow a dip in counts and a wider move in shares.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.baseline import judge_count, judge_rate
from dagster_project.checks.families.common import (
    NO_BASELINE,
    figure_finding,
    fmt_count,
    fmt_pct,
    measures,
    scorecard_rows,
    ym,
)
from dagster_project.checks.policy import Policy, Rule
from dagster_project.checks.results import Finding
from dagster_project.contract import AVAILABLE, NO_DATA, PERCENT
from dagster_project.measure_relations import canonical


def _usable(rows: list[dict[str, Any]], unit: str) -> list[dict[str, Any]]:
    ok = [r for r in rows if r["availability"] == AVAILABLE and r["value"] is not None]
    return [r for r in ok if r["denominator"] and r["numerator"] is not None] if unit == PERCENT else ok


def history_of_percentage(current: dict[str, Any], past: list[dict[str, Any]], rule: Rule, month: date):
    cfg, seasonal = rule["percent"], rule.get("seasonal") or {}
    extra = float(seasonal.get("percent_allowance_pp", 0.0)) if month.month in (seasonal.get("months") or []) else 0.0
    k, n = int(current["numerator"]), int(current["denominator"])
    j = judge_rate(k, n, [(int(r["numerator"]), int(r["denominator"])) for r in past], z_max=float(cfg["z_max"]),
                   min_change_pp=float(cfg["min_change_pp"]) + extra, min_denominator=int(cfg["min_denominator"]))
    rates = [100 * int(r["numerator"]) / int(r["denominator"]) for r in past]
    text = (f"{fmt_pct(100 * k / n, k, n)} against a median of {j.expected:.1f}% over the previous {len(past)} "
            f"months (they ranged {min(rates):.1f}%-{max(rates):.1f}%; accepted at this denominator "
            f"{j.low:.1f}%-{j.high:.1f}%, z = {j.z:+.1f})")
    if n < int(cfg["min_denominator"]):
        text += f"; fewer than {cfg['min_denominator']} cases, never judged"
    return j, text


def history_of_count(current: dict[str, Any], past: list[dict[str, Any]], rule: Rule, month: date):
    return _judge_count(float(current["value"]), [float(r["value"]) for r in past], rule, month)


def _judge_count(x: float, values: list[float], rule: Rule, month: date):
    """``x`` against the counts ``values`` of the previous months, as the count rule judges them."""
    cfg, seasonal = rule["count"], rule.get("seasonal") or {}
    in_season = month.month in (seasonal.get("months") or [])
    allowance = float(seasonal.get("dip_allowance", 0.0)) if in_season else 0.0
    j = judge_count(x, values, z_max=float(cfg["z_max"]), min_count=float(cfg["min_count"]),
                    min_abs_change=float(cfg["min_abs_change"]), min_ratio_change=float(cfg["min_ratio_change"]),
                    dip_allowance=allowance)
    change = f"{x / j.expected - 1:+.0%}" if j.expected > 0 else "from 0"
    text = (f"{fmt_count(x)} against a median of {fmt_count(j.expected)} over the previous {len(values)} months "
            f"({change}; they ranged {min(values):,.0f}-{max(values):,.0f}; accepted {j.low:,.0f}-{j.high:,.0f}"
            f"{f' with the {month:%B} dip allowance of {allowance:.0%}' if allowance else ''}, "
            f"z = {j.z:+.1f}{' after the allowance' if allowance else ''})")
    if max(x, j.expected) < float(cfg["min_count"]):
        text += f"; below {cfg['min_count']}, never judged"
    return j, text


def _judges_its_cases(mid: str, unit: str) -> bool:
    """Whether the history of percentage ``mid`` judges its denominator: not when that number is
    another figure's under a second name (judged there)."""
    return unit == PERCENT and canonical(mid, "denominator") == f"{mid}.denominator"


def history(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    rows = scorecard_rows(con)
    out = []
    for mid, m in measures(con).items():
        rule = policy.rule("history", mid)
        usable = _usable([r for r in rows if r["measure_id"] == mid], m.unit)
        current = next((r for r in usable if r["month"] == month), None)
        past = [r for r in usable if r["month"] < month]
        ev: dict[str, Any] = {"measure_id": mid, "past_months": len(past)}
        cases = _judges_its_cases(mid, m.unit)
        if current is None:
            state = next((r["availability"] for r in rows if r["measure_id"] == mid and r["month"] == month), None)
            if cases and state == NO_DATA and len(past) >= int(rule["min_history_months"]):
                # no case at all this month: judged as a count of 0 cases against the usual cases
                j, text = _judge_count(0.0, [float(r["denominator"]) for r in past], rule, month)
                ev |= {"cases": {**j.evidence, "value": 0, "usual_low": j.low, "usual_high": j.high}}
                summary = (f"{mid} {ym(month)}: no data, no case this month: its cases {text}"
                           + ("; an unusual change for this council" if j.flagged else ""))
                out.append(figure_finding("history", mid, not j.flagged, summary, ev, measure_id=mid,
                                          figure_month=month))
                continue
            shown = state.replace("_", " ") if state else "no figure"
            out.append(figure_finding("history", mid, True, f"{mid} {ym(month)}: {shown}; nothing to compare", ev,
                                      measure_id=mid, figure_month=month))
            continue
        if len(past) < int(rule["min_history_months"]):
            out.append(figure_finding(
                "history", mid, True,
                f"{mid} {ym(month)}: {NO_BASELINE} (only {len(past)} earlier months with data, "
                f"{rule['min_history_months']} needed)", ev, measure_id=mid, figure_month=month))
            continue
        judge = history_of_percentage if m.unit == PERCENT else history_of_count
        j, text = judge(current, past, rule, month)
        flagged = j.flagged
        ev |= {**j.evidence, "value": current["value"], "numerator": current["numerator"],
               "denominator": current["denominator"], "usual_low": j.low, "usual_high": j.high,
               "past": [{"month": ym(r["month"]), "value": r["value"], "numerator": r["numerator"],
                         "denominator": r["denominator"]} for r in past]}
        if cases:
            jc, cases_text = _judge_count(float(current["denominator"]), [float(r["denominator"]) for r in past],
                                          rule, month)
            text += f"; its cases {cases_text}"
            flagged |= jc.flagged
            ev |= {"cases": {**jc.evidence, "value": current["denominator"], "usual_low": jc.low,
                             "usual_high": jc.high, "flagged": jc.flagged}}
        summary = f"{mid} {ym(month)}: {text}" + ("; an unusual change for this council" if flagged else "")
        out.append(figure_finding("history", mid, not flagged, summary, ev, measure_id=mid, figure_month=month))
    return out
