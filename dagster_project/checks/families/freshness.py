"""Is this really this month's extract?

* ``freshness`` (per busy table, and the extract date): the newest event of a busy table against
  the extract date (the month end when there is no manifest): an extract that stops days before
  it was taken is stale. The allowed lag is the policy's ``max_lag_days``, or longer for a council
  whose own events are rare: at its rate over the year (``rate_window_days``) up to the table's
  newest event, a gap is only judged stale when a gap that long would happen by chance with a
  probability below the policy's ``improbable_gap`` (events as a Poisson process: P(no event in
  g days) = exp(-rate * g)). A council with 4 referrals a month has gaps of two weeks every few
  months; Bradford, with about 14 a day, is held to the 10 days. The year ends at the newest
  event, not at the extract date: a year ending at the extract date would hold the gap being
  judged, so the longer an extract had stopped, the rarer its events would look and the longer
  the gap it would be allowed (a file cut off years early would have no event in it at all).
* ``resent`` (a law): every file byte-identical to the previous loaded extract's is last month's
  extract sent again; a real monthly full refresh always changes.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb

from dagster_project.checks.families.common import (
    latest_loads,
    not_in_extract,
    raw_finding,
    ym,
)
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.contract import TABLES_BY_NAME, month_end
from dagster_project.warehouse_sql import fetch_dicts


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
    taken = e["extract_date"] if has_manifest else None  # without a manifest it is only the load date
    unknown = "no manifest" if not has_manifest else "no extract_date in the manifest"
    reference = taken or period_end
    rule = policy.rule("freshness", "extract_date")
    delay = (taken - period_end).days if taken else None
    passed = delay is None or delay <= rule["max_extract_delay_days"]
    summary = (
        f"extract {ym(month)} taken {taken} ({delay} days after the month end {period_end})"
        if taken
        else f"extract {ym(month)}: {unknown}, so the extract date is unknown"
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
            out.append(not_in_extract("freshness", table))
            continue
        lag = (reference - newest).days if newest else None
        window = int(rule["rate_window_days"])
        recent = con.execute(
            f"select count(*) from raw.{table} where _extract_month = ? and _is_valid "
            f"and {column} > ? and {column} <= ?",
            [month, newest - timedelta(days=window), newest],
        ).fetchone()[0] if newest else 0
        limit = allowed_lag(recent / window, rule["max_lag_days"], rule["improbable_gap"])
        passed = lag is not None and limit is not None and lag <= limit
        what = "the extract date" if taken else f"the month end ({unknown})"
        summary = (
            f"{table}: newest {column} {newest}, {lag} days before {what} {reference}"
            if newest
            else f"{table}: no {column} at all"
        )
        if not passed and newest:
            summary += f" (limit {limit} days): the extract looks stale"
        out.append(
            raw_finding(
                "freshness",
                table,
                passed,
                summary,
                {
                    "column": column,
                    "newest": newest,
                    "reference_date": reference,
                    "lag_days": lag,
                    "max_lag_days": rule["max_lag_days"],
                    "events_per_day": round(recent / window, 3),
                    "allowed_lag_days": limit,
                },
            )
        )
    return out


def allowed_lag(rate_per_day: float, max_lag_days: int, improbable_gap: float) -> int | None:
    """Days without an event a table may end with: ``max_lag_days``, or the gap a council with this
    rate of events would exceed by chance with probability ``improbable_gap`` when that is longer;
    None when there is no event to measure a rate by (the table has none: judged stale)."""
    if rate_per_day <= 0:
        return None
    return max(int(max_lag_days), math.ceil(math.log(1 / improbable_gap) / rate_per_day))


def resent(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    """Every file of this extract has the checksum of the previous loaded extract's file."""
    prev = con.execute("select max(extract_month) from raw.load_log where extract_month < ?", [month]).fetchone()[0]
    if prev is None:
        return [Finding("resent", "extract", True, f"extract {ym(month)}: the first loaded extract", {},
                        asset_key="raw/extracts")]
    loads = latest_loads(con, [prev, month])
    now = {t: r["file_sha256"] for (m, t), r in loads.items() if m == month}
    before = {t: r["file_sha256"] for (m, t), r in loads.items() if m == prev}
    same = sorted(t for t in now if before.get(t) == now[t])
    identical = bool(now) and len(same) == len(now)
    summary = (f"extract {ym(month)}: {len(same)} of {len(now)} files byte-identical to extract {ym(prev)}"
               + (": last month's extract sent again? Ask the council's data team for this month's"
                  if identical else ""))
    ev = {"previous_extract": ym(prev), "files": len(now), "identical_files": same}
    return [Finding("resent", "extract", not identical, summary, ev, asset_key="raw/extracts")]
