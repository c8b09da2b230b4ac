"""mix: the mix of codes in the month's records (contact sources, referral sources, placement
types, missing-episode types; also the days of the week contacts are dated on) against the same
council's mix in the earlier months of the same extract. A policy entry is keyed by its subject:
the table's name, or any name with ``table:``; ``column`` may be an SQL expression (``label``
names it in the report).

No distribution is written down anywhere: the yardstick is the council's own twelve previous
months (the extract is a full refresh, so they are there from the first load). The distance of a
month's mix from the others' is the total variation distance (half the sum of the share
differences: 0.2 means a fifth of the records would have to change code). Each past month's own
distance from the rest shows how much this council's mix moves by chance at its size; the new
month is held only when its distance is far outside that (``z_max``) and large enough to matter
(``min_distance``). In the seasonal months (school holidays) the new month may move as far as the
same month did last year.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.baseline import judge_value
from dagster_project.checks.families.common import NO_BASELINE, not_in_extract, raw_finding, ym
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.contract import TABLES_BY_NAME, add_months


def tvd(a: dict[str, float], b: dict[str, float]) -> float:
    """Total variation distance of two count vectors (as shares)."""
    ta, tb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / ta - b.get(k, 0) / tb) for k in set(a) | set(b))


def _pool(counts: dict[date, dict[str, int]], months: list[date]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for m in months:
        for k, v in counts.get(m, {}).items():
            out[k] += v
    return out


def _counts(con: duckdb.DuckDBPyConnection, table: str, column: str, date_col: str, month: date):
    rows = con.execute(
        f"""select cast(date_trunc('month', {date_col}) as date) as m,
                   coalesce(cast({column} as varchar), '(blank)') as code,
                   count(*) as n
            from raw.{table}
            where _extract_month = ? and _is_valid and {date_col} >= ? and {date_col} < ?
            group by all""",
        [month, add_months(month, -12), add_months(month, 1)],
    ).fetchall()
    out: dict[date, dict[str, int]] = defaultdict(dict)
    for m, code, n in rows:
        out[m][code] = n
    return out


def _moved(now: dict[str, int], pool: dict[str, float]) -> list[str]:
    tn, tp = sum(now.values()), sum(pool.values())
    # ties (equal moves, to the float's last bits) in code order: the same data gives the same words
    # in every process (a set's order is not: string hashes are salted per process)
    diffs = sorted(((now.get(k, 0) / tn - pool.get(k, 0) / tp, k) for k in set(now) | set(pool)),
                   key=lambda d: (-round(abs(d[0]), 9), d[1]))
    return [f"{k} {100 * pool.get(k, 0) / tp:.0f}% -> {100 * now.get(k, 0) / tn:.0f}%" for _, k in diffs[:3]]


def mix(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    fam = policy.family("mix")
    out = []
    for subject, spec in (fam.get("columns") or {}).items():
        table = spec.get("table", subject)
        if table not in TABLES_BY_NAME:
            continue
        rule = policy.rule("mix", subject)
        column, date_col = spec["column"], spec["date"]
        label = f"{table}.{spec.get('label', column)}"
        loaded = con.execute("select count(*) from raw.load_log where extract_month = ? and table_name = ?",
                             [month, table]).fetchone()[0]
        if not loaded:
            out.append(not_in_extract("mix", table, subject))
            continue
        counts = _counts(con, table, column, date_col, month)
        min_rows = int(rule["min_rows"])
        past = [add_months(month, -k) for k in range(12, 0, -1) if sum(counts.get(add_months(month, -k), {}).values())
                >= min_rows]
        now = counts.get(month, {})
        ev: dict[str, Any] = {"column": label, "rows_in_month": sum(now.values()), "past_months": len(past)}
        if sum(now.values()) < min_rows or len(past) < int(rule["min_history_months"]):
            why = (f"{sum(now.values())} records in {ym(month)}, fewer than {min_rows}" if sum(now.values()) < min_rows
                   else f"{NO_BASELINE} ({len(past)} earlier months with {min_rows}+ records)")
            out.append(raw_finding("mix", table, True, f"{label}: {why}; not judged", ev, subject))
            continue
        pool = _pool(counts, past)
        d_now = tvd(now, pool)
        d_past = {m: tvd(counts[m], _pool(counts, [p for p in past if p != m])) for m in past}
        j = judge_value(d_now, list(d_past.values()), z_max=float(rule["z_max"]),
                        min_spread=float(rule["min_spread"]), one_sided="up")
        allowed = max(j.high, float(rule["min_distance"]))
        last_year = add_months(month, -12)
        seasonal = (fam.get("seasonal") or {}).get("months") or []
        if month.month in seasonal and last_year in d_past:
            allowed = max(allowed, d_past[last_year] + float(rule["min_distance"]))
        flagged = d_now > allowed
        summary = (f"{label}: the mix of {ym(month)} is {d_now:.2f} from the previous {len(past)} months' "
                   f"(their own distances {min(d_past.values()):.2f}-{max(d_past.values()):.2f}; held above "
                   f"{allowed:.2f}); largest moves: {', '.join(_moved(now, pool))}")
        if flagged:
            summary += ": records coded differently from this council's usual"
        ev |= {**j.evidence, "distance": d_now, "allowed": allowed,
               "past_distances": {ym(m): d for m, d in d_past.items()}}
        out.append(raw_finding("mix", table, not flagged, summary, ev, subject))
    return out
