"""restatement: figures already published that this extract moves by more than the council's own
late recording usually moves them.

Every extract is a full refresh, so each one legitimately restates recent months (late
recording) and a little of older ones (merged or deleted records). How much is the council's
own: from ``audit.published_figures``, every pair of consecutive accepted extracts gives, per
measure, per number (numerator, denominator; a count's value is its numerator) and per age of the
month when first published (0, 1, 2, 3+ months), the restatement on the Poisson scale
(``baseline.anscombe``). The new extract's change to the last published figure is judged against
that history, summed over the months since that publication when months were held in between.
Until the council has ``min_history`` such pairs for an age, its figures of that age report "no
baseline yet". A figure published with a value that the new extract no longer has is always
shown (held): a published number never silently disappears.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import Any

import duckdb

from dagster_project.checks.baseline import anscombe, median, spread_of
from dagster_project.checks.families.common import (
    NO_BASELINE,
    accepted_extracts,
    figure_finding,
    fmt_figure,
    measures,
    months_between,
    ym,
)
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.measure_relations import PARTS
from dagster_project.published_figures import PUBLISHED_FIGURES, against_published
from dagster_project.warehouse_sql import fetch_dicts

AGE_BANDS = 4  # ages 0, 1, 2 and 3+ months


def _band(age: int) -> int:
    return min(max(age, 0), AGE_BANDS - 1)


def _history(con: duckdb.DuckDBPyConnection, accepted: list[date]) -> dict[tuple[str, str, int], list[float]]:
    """(measure, part, age band) -> restatements between consecutive accepted extracts (sqrt scale)."""
    if len(accepted) < 2:
        return {}
    rows = fetch_dicts(
        con,
        f"""select extract_month, measure_id, month, numerator, denominator from {PUBLISHED_FIGURES}
            where list_contains(?, extract_month)
            qualify row_number() over (partition by extract_month, measure_id, month order by published_at desc) = 1""",
        [accepted],
    )
    pub: dict[date, dict[tuple[str, date], dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        pub[r["extract_month"]][(r["measure_id"], r["month"])] = r
    out: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for before, after in zip(accepted, accepted[1:], strict=False):
        if months_between(before, after) != 1:
            continue  # a held month in between: not one step of late recording
        for (mid, m), old in pub[before].items():
            new = pub[after].get((mid, m))
            if new is None:
                continue
            for part in PARTS:
                if old[part] is not None and new[part] is not None:
                    out[(mid, part, _band(months_between(m, before)))].append(anscombe(new[part]) - anscombe(old[part]))
    return out


def _judge(r: dict[str, Any], part: str, month: date, hist: dict, rule: Any) -> dict[str, Any] | None:
    """The restatement of one number, or None when within the council's usual (or no baseline)."""
    old, new = r[f"published_{part}"], r[part]
    if old is None or new is None:
        return None
    age, steps = months_between(r["month"], r["published_extract"]), months_between(r["published_extract"], month)
    bands = [hist.get((r["measure_id"], part, _band(age + k)), []) for k in range(steps)]
    if any(len(b) < int(rule["min_history"]) for b in bands):
        return {"no_baseline": True}
    center = sum(median(b) for b in bands)
    spread = math.sqrt(sum(spread_of(b, median(b), 1.0) ** 2 for b in bands))
    z = (anscombe(new) - anscombe(old) - center) / spread
    if abs(z) <= float(rule["z_max"]) or abs(new - old) < float(rule["min_abs_change"]):
        return None
    return {"part": part, "z": z, "change": new - old}


def restatement(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    cat = measures(con)
    prior = against_published(con, month)
    hist = _history(con, accepted_extracts(con, month)[-int(policy.family("restatement")["history_extracts"]) - 1:])
    out = []
    for mid, m in cat.items():
        rule = policy.rule("restatement", mid)
        mine = [r for r in prior if r["measure_id"] == mid and r["published_value"] is not None]
        moved, unjudged = [], 0
        for r in mine:
            if r["value"] is None:
                moved.append({**r, "why": f"now {r['availability'].replace('_', ' ')}"})
                continue
            verdicts = [_judge(r, part, month, hist, rule) for part in (PARTS if m.unit == "percent" else PARTS[:1])]
            unjudged += any(v and v.get("no_baseline") for v in verdicts)
            flagged = [v for v in verdicts if v and not v.get("no_baseline")]
            if flagged:
                why = ", ".join(f"{v['part']} {v['change']:+,.0f} (z = {v['z']:+.1f})" for v in flagged)
                moved.append({**r, "why": why})
        ev = {"measure_id": mid, "compared_months": len(mine), "without_baseline": unjudged, "restated": moved}
        if not mine:
            out.append(figure_finding("restatement", mid, True, f"{mid}: nothing published before to compare", ev,
                                      measure_id=mid))
            continue
        if not moved:
            changed = sum(bool(r["restated"]) for r in mine)
            note = f"; {unjudged} of them with {NO_BASELINE}" if unjudged else ""
            said = (f"{changed} changed, all within this council's usual late recording" if changed
                    else "none changed")
            out.append(figure_finding("restatement", mid, True,
                                      f"{mid}: {len(mine)} published months compared, {said}{note}",
                                      ev, measure_id=mid))
            continue
        items = []
        for r in moved:
            was = fmt_figure(m.unit, r["published_value"], r["published_numerator"], r["published_denominator"])
            now = fmt_figure(m.unit, r["value"], r["numerator"], r["denominator"])
            items.append(f"{ym(r['month'])} published {was} (extract {ym(r['published_extract'])}), now {now}: "
                         f"{r['why']}")
        summary = (f"{mid} restated beyond this council's usual late recording: " + "; ".join(items[:3])
                   + (f" and {len(items) - 3} more" if len(items) > 3 else ""))
        out.append(figure_finding("restatement", mid, False, summary, ev, measure_id=mid,
                                  figure_month=moved[-1]["month"]))
    return out
