"""consistency (a law): figures that must agree with each other in the same month.

The relations are data (``seeds/measure_relations.csv``, :mod:`dagster_project.measure_relations`),
shared with the public variant's disclosure control; every relation marked as a law must hold
in every month where all its figures are available.
"""

from __future__ import annotations

from datetime import date

import duckdb

from dagster_project.checks.families.common import figure_finding, fmt_count, scorecard_rows, ym
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding
from dagster_project.measure_relations import MeasureRelation, measure_relations


def _text(rel: MeasureRelation) -> str:
    left = " + ".join(q.name for q in rel.left)
    return f"{left} {rel.op} {' + '.join(q.name for q in rel.right)}"


def consistency(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    figures = {(r["measure_id"], r["month"]): r for r in scorecard_rows(con) if r["availability"] == "available"}
    present = {mid for mid, _ in figures}
    months = sorted({m for _, m in figures})
    out = []
    for rel in measure_relations():
        if not rel.law:
            continue
        quantities = [*rel.left, *rel.right]
        ev = {"relation": rel.description, "rule": _text(rel)}
        absent = sorted({q.measure_id for q in quantities} - present)
        if absent:
            out.append(figure_finding("consistency", rel.relation_id, True,
                                      f"{rel.description}: not evaluated ({', '.join(absent)} not available)", ev))
            continue
        bad = []
        for m in months:
            values = [figures.get((q.measure_id, m), {}).get(q.part) for q in quantities]
            if any(v is None for v in values):
                continue
            left, right = sum(values[:len(rel.left)]), sum(values[len(rel.left):])
            if not (left == right if rel.op == "=" else left <= right):
                bad.append({"month": m, "left_figure": left, "right_figure": right})
        ev["violations"] = bad
        if bad:
            items = [f"{ym(b['month'])}: {fmt_count(b['left_figure'])} vs {fmt_count(b['right_figure'])}" for b in bad]
            summary = (f"{rel.description} fails ({_text(rel)}): " + "; ".join(items[:3])
                       + (" ..." if len(items) > 3 else ""))
            out.append(figure_finding("consistency", rel.relation_id, False, summary, ev,
                                      measure_id=rel.left[0].measure_id, figure_month=bad[-1]["month"]))
        else:
            out.append(figure_finding("consistency", rel.relation_id, True, f"{rel.description}: holds in every month",
                                      ev, measure_id=rel.left[0].measure_id))
    return out
