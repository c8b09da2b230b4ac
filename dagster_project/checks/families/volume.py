"""volume_drift: rows in each table's file against the council's last accepted extract.

A full refresh of a six-year window moves by about the same small amount every month; how much
is the council's own: its month-on-month growth over its accepted extracts (log of the ratio of
rows, per month) gives the centre and spread. A change far outside it (a truncated transfer, a
table sent twice) is held. Until the council has ``min_history`` month-on-month changes, the
check reports "no baseline yet" and does not block.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb

from dagster_project.checks.baseline import judge_value, median
from dagster_project.checks.families.common import (
    NO_BASELINE,
    accepted_extracts,
    latest_loads,
    months_between,
    raw_finding,
    ym,
)
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.contract import TABLES


def _growth(now: int, before: int, months: int) -> float:
    return math.log((now + 1) / (before + 1)) / months


def volume_drift(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    accepted = accepted_extracts(con, month)
    loads = latest_loads(con, [*accepted, month])
    out = []
    for t in TABLES:
        rule = policy.rule("volume_drift", t.name)
        cur = loads.get((month, t.name))
        if cur is None:
            why = "optional table absent from this extract" if not t.required else "table not loaded"
            out.append(raw_finding("volume_drift", t.name, not t.required, f"{t.name}: {why}", {}))
            continue
        n = cur["rows_read"]
        had = [(m, loads[(m, t.name)]["rows_read"]) for m in accepted[-int(rule["history_extracts"]):]
               if (m, t.name) in loads]
        ev = {"extract_month": ym(month), "rows": n, "accepted_extracts": [ym(m) for m, _ in had]}
        if not had:
            out.append(raw_finding("volume_drift", t.name, True,
                                   f"{t.name}: {n:,} rows; {NO_BASELINE} (no accepted extract with this table)", ev))
            continue
        prev_month, p = had[-1]
        gap = months_between(prev_month, month)
        past = [_growth(b, a, months_between(ma, mb)) for (ma, a), (mb, b) in zip(had, had[1:], strict=False)]
        change = (n - p) / p if p else math.inf
        pct = f"{change:+.1%}" if math.isfinite(change) else "new"
        summary = f"{t.name}: {n:,} rows in extract {ym(month)} against {p:,} in {ym(prev_month)} ({pct})"
        ev |= {"previous_extract": ym(prev_month), "previous_rows": p, "change": change}
        if len(past) < int(rule["min_history"]):
            summary += f"; {NO_BASELINE} ({len(past)} month-on-month changes, {rule['min_history']} needed)"
            out.append(raw_finding("volume_drift", t.name, True, summary, ev))
            continue
        j = judge_value(_growth(n, p, 1), past, z_max=float(rule["z_max"]), min_spread=float(rule["min_spread"]),
                        center=gap * median(past), scale=math.sqrt(gap))
        flagged = j.flagged and abs(n - p) >= int(rule["min_rows_change"])
        low, high = math.expm1(j.low), math.expm1(j.high)
        summary += (f"; over its last {len(past)} changes this table moved {math.expm1(min(past)):+.1%} to "
                    f"{math.expm1(max(past)):+.1%} a month, and {low:+.1%} to {high:+.1%}"
                    f"{' in ' + str(gap) + ' months' if gap > 1 else ' a month'} is accepted")
        if flagged:
            summary += ": a truncated transfer?" if change < 0 else ": rows sent twice, or a different extract?"
        ev |= {**j.evidence, "usual_low": low, "usual_high": high, "months_since_previous": gap,
               "min_rows_change": rule["min_rows_change"]}
        out.append(raw_finding("volume_drift", t.name, not flagged, summary, ev))
    return out
