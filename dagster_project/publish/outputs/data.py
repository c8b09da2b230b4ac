"""What every published view of a month's scorecard shows, read once from the working warehouse.

:func:`load_scorecard` reads the scorecard mart (``main.fct_scorecard``), the measure catalogue
(``main.dim_measure``), the notes the quality gate puts beside figures (flags, sign-offs,
restatements: :func:`dagster_project.publish.audit.create_figure_notes`), the restatements of
earlier publications (``audit.published_figures``) and the run's quality summary
(:func:`dagster_project.checks.report.collect`). The workbook, the HTML page and the public CSV
are all rendered from this one object, so they always agree with each other and with the CSV.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from dagster_project.published_figures import against_published
from dagster_project.warehouse_sql import fetch_dicts

COUNT, PERCENT = "count", "percent"
AVAILABLE, NO_DATA, NOT_AVAILABLE = "available", "no_data", "not_available"
WARNING, SIGNED_OFF, RESTATED = "warning", "signed_off", "restated"
FLAG_ORDER = (SIGNED_OFF, WARNING, RESTATED)
FLAG_MARKS = {WARNING: "w", SIGNED_OFF: "s", RESTATED: "r"}
FLAG_LABELS = {
    WARNING: "flagged by a data-quality check (warning)",
    SIGNED_OFF: "held by a data-quality check and signed off by a named person",
    RESTATED: "restated: a later extract changed a figure published earlier",
}
SUPPRESSED = "c"  # DfE's symbol for a suppressed small count


@dataclass(frozen=True)
class Measure:
    measure_id: str
    name: str  # as printed in the report
    spec_name: str
    section: str
    polarity: str  # what good looks like: High or Low
    unit: str  # count or percent
    definition: str
    sort_order: int
    is_snapshot: bool
    requires_feature: str | None


@dataclass(frozen=True)
class Figure:
    measure_id: str
    month: date
    value: float | None
    numerator: int | None
    denominator: int | None
    availability: str
    flags: tuple[str, ...] = ()  # WARNING / SIGNED_OFF / RESTATED, most important first
    note: str | None = None  # the quality gate's explanation (who, when, why; the check's figures)
    suppressed: frozenset[str] = frozenset()  # of "value", "numerator", "denominator"

    def is_suppressed(self, part: str = "value") -> bool:
        return part in self.suppressed


@dataclass(frozen=True)
class Direction:
    """Direction of travel of the latest month against the month before, read against polarity."""

    arrow: str  # ▲ ▼ ► or ""
    verdict: str  # improving / worsening / no change / "" (cannot say)
    text: str  # for people: "▲ improving (up from 23.4% in Jun 23)"


@dataclass(frozen=True)
class Restatement:
    measure_id: str
    month: date
    previous_extract_month: date
    previous_value: float | None
    value: float | None


@dataclass
class QualitySummary:
    outcome: str
    counts: dict[str, int]
    dbt_counts: dict[str, int]
    flags: list[dict[str, Any]]  # check_id, severity, status, summary, measure_id, signed_off_by/at, reason


@dataclass
class ScorecardData:
    month: date  # the extract month M
    run_id: str
    generated_at: datetime
    months: list[date]  # M-11 .. M
    measures: list[Measure]
    figures: dict[tuple[str, date], Figure]
    restatements: list[Restatement] = field(default_factory=list)
    quality: QualitySummary | None = None
    public: bool = False

    def figure(self, measure_id: str, month: date) -> Figure:
        return self.figures[(measure_id, month)]

    def series(self, measure_id: str) -> list[Figure]:
        return [self.figures[(measure_id, m)] for m in self.months]

    @property
    def sections(self) -> list[tuple[str, list[Measure]]]:
        out: dict[str, list[Measure]] = {}
        for m in sorted(self.measures, key=lambda m: m.sort_order):
            out.setdefault(m.section, []).append(m)
        return list(out.items())

    def measure(self, measure_id: str) -> Measure:
        return next(m for m in self.measures if m.measure_id == measure_id)

    def restatements_of(self, measure_id: str) -> list[Restatement]:
        return [r for r in self.restatements if r.measure_id == measure_id]

    def direction(self, measure_id: str) -> Direction:
        return direction_of_travel(self.measure(measure_id), self.series(measure_id))

    def flagged(self) -> list[Figure]:
        return [f for f in self.figures.values() if f.flags]


def month_label(d: date) -> str:
    """'Jul 23': how the report heads its month columns."""
    return d.strftime("%b %y")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:.1f}%" if unit == PERCENT else f"{value:,.0f}"


def display_value(fig: Figure, unit: str) -> str:
    """The figure as printed: the number, 'c' when suppressed, or why there is none."""
    if fig.is_suppressed("value"):
        return SUPPRESSED
    if fig.availability == NOT_AVAILABLE:
        return "n/a"
    if fig.value is None:
        return "no data"
    return format_value(fig.value, unit)


def direction_of_travel(measure: Measure, series: list[Figure]) -> Direction:
    """The latest month against the month before (both published, neither suppressed)."""
    if len(series) < 2:
        return Direction("", "", "")
    prev, last = series[-2], series[-1]
    usable = [f for f in (prev, last) if f.value is not None and not f.is_suppressed("value")]
    if len(usable) < 2:
        return Direction("", "", "no comparison")
    since = f"{format_value(prev.value, measure.unit)} in {month_label(prev.month)}"
    a, b = round(prev.value, 1), round(last.value, 1)
    if a == b:
        return Direction("►", "no change", f"► no change (same as {since})")
    up = b > a
    good = up == (measure.polarity == "High")
    verdict = "improving" if good else "worsening"
    arrow = "▲" if up else "▼"
    return Direction(arrow, verdict, f"{arrow} {verdict} ({'up' if up else 'down'} from {since})")






def read_measures(con: duckdb.DuckDBPyConnection) -> list[Measure]:
    rows = fetch_dicts(con, """select measure_id, measure_name, spec_name, section, polarity, unit, definition,
                                sort_order, is_snapshot, requires_feature
                         from main.dim_measure order by sort_order""")
    return [Measure(r["measure_id"], r["measure_name"], r["spec_name"], r["section"], r["polarity"],
                    r["unit"], r["definition"] or "", int(r["sort_order"]), bool(r["is_snapshot"]),
                    r["requires_feature"] or None) for r in rows]


def read_figures(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, date], Figure]:
    rows = fetch_dicts(con, """select measure_id, month, value, numerator, denominator, availability
                         from main.fct_scorecard order by measure_id, month""")
    return {(r["measure_id"], r["month"]): Figure(
        r["measure_id"], r["month"], r["value"],
        None if r["numerator"] is None else int(r["numerator"]),
        None if r["denominator"] is None else int(r["denominator"]),
        r["availability"]) for r in rows}


def _notes(con: duckdb.DuckDBPyConnection, month: date,
           run_id: str) -> dict[tuple[str, date], tuple[tuple, str]]:
    """The quality gate's notes beside figures: (flags, note) by (measure, month)."""
    try:
        from dagster_project.publish.audit import create_figure_notes
    except ImportError:  # the quality gate's audit trail is not installed: no notes
        return {}

    create_figure_notes(con, month, run_id)
    out = {}
    for r in fetch_dicts(con, "select measure_id, month, flag, note from figure_notes"):
        note = r["note"] or ""
        flags = {r["flag"]}
        for part in note.split(" | "):
            if part.startswith("restated:"):
                flags.add(RESTATED)
            elif " - signed off by " in part:
                flags.add(SIGNED_OFF)
            else:
                flags.add(WARNING)
        out[(r["measure_id"], r["month"])] = (tuple(f for f in FLAG_ORDER if f in flags), note)
    return out


def read_restatements(con: duckdb.DuckDBPyConnection, month: date) -> list[Restatement]:
    """Figures of this scorecard that an earlier extract published with another value."""
    return [Restatement(r["measure_id"], r["month"], r["published_extract"], r["published_value"], r["value"])
            for r in against_published(con, month) if r["restated"]]


def read_quality(con: duckdb.DuckDBPyConnection, month: date, run_id: str,
                 dbt_run_results=None) -> QualitySummary | None:
    try:
        from dagster_project.checks.report import collect
    except ImportError:  # the quality gate is not installed: no summary
        return None

    data = collect(con, month, run_id, dbt_run_results=dbt_run_results, outcome="published")
    flags = []
    for e in data.flags:
        s = e.get("signoff")
        flags.append({
            "check_id": e["check_id"], "severity": e["severity"], "status": e["status"],
            "summary": e["summary"] or "", "measure_id": e.get("measure_id"),
            "figure_month": e.get("figure_month"),
            "signed_off_by": s.signed_by if s else None, "signed_off_at": s.signed_at if s else None,
            "signoff_reason": s.reason if s else None,
        })
    return QualitySummary(data.outcome, dict(data.counts), dict(Counter(data.dbt_counts)), flags)


def load_scorecard(con: duckdb.DuckDBPyConnection, month: date, run_id: str, *, dbt_run_results=None,
                   generated_at: datetime | None = None) -> ScorecardData:
    """Everything the published views of month ``month`` show, from the working warehouse."""
    measures = read_measures(con)
    figures = read_figures(con)
    months = sorted({m for (_, m) in figures})
    notes = _notes(con, month, run_id)
    for key, (flags, note) in notes.items():
        if key in figures:
            figures[key] = replace(figures[key], flags=flags, note=note)
    return ScorecardData(
        month=month, run_id=run_id,
        generated_at=generated_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        months=months, measures=measures, figures=figures,
        restatements=read_restatements(con, month),
        quality=read_quality(con, month, run_id, dbt_run_results),
    )
