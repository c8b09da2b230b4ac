"""The publication of a month: one typed object, read from the working warehouse in one pass.

:func:`read_publication` reads, once each:

* the measure catalogue (``main.dim_measure``);
* every figure with its status, in **one query**: the scorecard mart (``main.fct_scorecard``)
  joined to the status mart (``main.fct_scorecard_status``: target, amber band, the target's
  comparator and source, RAG status, direction of travel against the month before and the same
  month last year). RAG and direction are the model's: nothing here or in any writer recomputes
  them;
* the run's quality results (:func:`dagster_project.checks.report.collect`: every check's latest
  evaluation with its sign-off, dbt tests, row failures, load log), which are both the quality
  report and the source of the notes beside figures;
* the figures an earlier extract published (:func:`dagster_project.published_figures.against_published`):
  the restatements, and the "restated" notes.

The notes beside figures are :func:`dagster_project.publish.audit.figure_notes` of the last two.
Every writer (:mod:`dagster_project.publish.outputs`) is a pure function of the resulting
:class:`Publication`, so the CSV, Parquet, workbook, page and quality report always agree. Every
value is held at its published precision (:func:`rounded`), so no view prints or stores more digits
than the CSV (a restated ``81.59999999999999`` is ``81.6`` everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from dagster_project.checks.report import ReportData, collect
from dagster_project.contract import COUNT, add_months
from dagster_project.publish.audit import figure_notes
from dagster_project.published_figures import against_published
from dagster_project.warehouse_sql import fetch_dicts, relation_exists

SUPPRESSED_AVAILABILITY = "suppressed"  # a public row whose value is suppressed (Figure.shown_availability)
WARNING, SIGNED_OFF, RESTATED = "warning", "signed_off", "restated"
FLAG_ORDER = (SIGNED_OFF, WARNING, RESTATED)  # most important first
GREEN, AMBER, RED = "green", "amber", "red"  # RAG status (fct_scorecard_status)
BETTER, WORSE, SAME = "better", "worse", "same"  # direction of travel (fct_scorecard_status)
SUPPRESSED = "c"  # DfE's symbol for a suppressed small count
STATUS_MODEL = "main.fct_scorecard_status"


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
class Status:
    """A figure's target, RAG status and direction of travel: a row of ``fct_scorecard_status``
    (its yml documents each column; the names are the model's)."""

    target: float | None = None  # in the measure's unit (percentage points); None: no target
    amber_band: float | None = None  # width of amber on the wrong side of the target; None: no amber zone
    target_comparator: str | None = None  # where the target comes from: 'England 2023-24', 'own plan'
    target_source: str | None = None  # the public source of its value
    rag_status: str | None = None  # GREEN / AMBER / RED; None when there is no target or no value
    previous_month_value: float | None = None
    direction_vs_previous_month: str | None = None  # BETTER / WORSE / SAME; None: no comparison
    same_month_last_year_value: float | None = None
    direction_vs_same_month_last_year: str | None = None


NO_STATUS = Status()


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
    status: Status = NO_STATUS

    def is_suppressed(self, part: str = "value") -> bool:
        return part in self.suppressed

    @property
    def shown_availability(self) -> str:
        """The availability every published row gives: ``suppressed`` when the public variant hides
        the value (its cells read ``c``, or NULL in Parquet), else the figure's own."""
        return SUPPRESSED_AVAILABILITY if self.is_suppressed("value") else self.availability


@dataclass(frozen=True)
class Restatement:
    measure_id: str
    month: date
    previous_extract_month: date
    previous_value: float | None
    value: float | None


@dataclass(frozen=True)
class QualityFlag:
    """A check that did not simply pass, as the scorecard's quality summary shows it."""

    check_id: str
    severity: str
    status: str
    summary: str
    measure_id: str | None
    figure_month: date | None
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    signoff_reason: str | None = None


@dataclass(frozen=True)
class QualitySummary:
    outcome: str
    counts: dict[str, int]
    dbt_counts: dict[str, int]
    flags: tuple[QualityFlag, ...]


@dataclass(frozen=True)
class Publication:
    """Everything every published file of month ``month`` shows (no run id, no clock time: the
    same data gives the same files; publication.json beside them names the run and the time)."""

    month: date  # the extract month M
    months: tuple[date, ...]  # M-11 .. M
    measures: tuple[Measure, ...]  # in the report's order
    figures: dict[tuple[str, date], Figure]
    restatements: tuple[Restatement, ...] = ()
    quality: QualitySummary | None = None
    report: ReportData | None = None  # the run's full quality report (internal only)
    public: bool = False
    _by_id: dict[str, Measure] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((m.measure_id, m) for m in self.measures)

    @property
    def month_before(self) -> date:
        """The month the latest month's direction of travel is measured against."""
        return add_months(self.month, -1)

    @property
    def year_before(self) -> date:
        """The same month a year before: the other direction of travel's comparison."""
        return add_months(self.month, -12)

    def figure(self, measure_id: str, month: date) -> Figure:
        return self.figures[(measure_id, month)]

    def series(self, measure_id: str) -> list[Figure]:
        return [self.figures[(measure_id, m)] for m in self.months]

    def latest(self, measure_id: str) -> Figure:
        return self.figures[(measure_id, self.months[-1])]

    def measure(self, measure_id: str) -> Measure:
        return self._by_id[measure_id]

    @property
    def sections(self) -> list[tuple[str, list[Measure]]]:
        out: dict[str, list[Measure]] = {}
        for m in self.measures:
            out.setdefault(m.section, []).append(m)
        return list(out.items())

    def restatements_of(self, measure_id: str) -> list[Restatement]:
        return [r for r in self.restatements if r.measure_id == measure_id]

    def flagged(self) -> list[Figure]:
        return [f for f in self.figures.values() if f.flags]


def rounded(value: float | None, unit: str) -> float | None:
    """A figure at its published precision: percentages to one decimal place, counts whole."""
    if value is None:
        return None
    return float(round(value)) if unit == COUNT else round(value, 1)


# ---- reading: one pass ---------------------------------------------------------------------------


def read_measures(con: duckdb.DuckDBPyConnection) -> tuple[Measure, ...]:
    rows = fetch_dicts(con, """select measure_id, measure_name, spec_name, section, polarity, unit, definition,
                                sort_order, is_snapshot, requires_feature
                         from main.dim_measure order by sort_order, measure_id""")
    return tuple(Measure(r["measure_id"], r["measure_name"], r["spec_name"], r["section"], r["polarity"],
                         r["unit"], r["definition"] or "", int(r["sort_order"]), bool(r["is_snapshot"]),
                         r["requires_feature"] or None) for r in rows)


STATUS_COLUMNS = tuple(Status.__dataclass_fields__)  # fct_scorecard_status's columns, as named there
_NUMBERS = ("target", "amber_band", "previous_month_value", "same_month_last_year_value")


def read_figures(con: duckdb.DuckDBPyConnection, units: dict[str, str]) -> dict[tuple[str, date], Figure]:
    """Every figure of the scorecard with its status: one query. A warehouse built before the
    status model existed gives no status (no target, RAG or direction)."""
    if relation_exists(con, STATUS_MODEL):
        status = ", ".join(f"st.{c}" for c in STATUS_COLUMNS)
        join = f"left join {STATUS_MODEL} as st using (measure_id, month)"
    else:
        status = ", ".join(f"null as {c}" for c in STATUS_COLUMNS)
        join = ""
    rows = fetch_dicts(con, f"""select s.measure_id, s.month, s.value, s.numerator, s.denominator, s.availability,
                                      {status}
                               from main.fct_scorecard as s {join} order by s.measure_id, s.month""")
    out = {}
    for r in rows:
        unit = units[r["measure_id"]]
        st = Status(**{c: rounded(r[c], unit) if c in _NUMBERS else r[c] for c in STATUS_COLUMNS})
        out[(r["measure_id"], r["month"])] = Figure(
            r["measure_id"], r["month"], rounded(r["value"], unit),
            None if r["numerator"] is None else int(r["numerator"]),
            None if r["denominator"] is None else int(r["denominator"]),
            r["availability"], status=st)
    return out


def quality_summary(report: ReportData) -> QualitySummary:
    flags = []
    for e in report.flags:
        s = e.get("signoff")
        flags.append(QualityFlag(e["check_id"], e["severity"], e["status"], e["summary"] or "", e.get("measure_id"),
                                 e.get("figure_month"), s.signed_by if s else None, s.signed_at if s else None,
                                 s.reason if s else None))
    return QualitySummary(report.outcome, dict(report.counts), dict(sorted(report.dbt_counts.items())), tuple(flags))


def read_publication(con: duckdb.DuckDBPyConnection, month: date, run_id: str, *,
                     dbt_run_results: Path | None = None) -> Publication:
    """The publication of ``month`` by run ``run_id`` from the working warehouse ``con``."""
    measures = read_measures(con)
    units = {m.measure_id: m.unit for m in measures}
    figures = read_figures(con, units)
    report = collect(con, month, run_id, dbt_run_results=dbt_run_results, outcome="published")
    restated = [r for r in against_published(con, month) if r["restated"]]
    for key, items in figure_notes(report.evaluations, restated, month).items():
        if key in figures:
            flags = {flag for flag, _ in items}
            figures[key] = replace(figures[key], flags=tuple(f for f in FLAG_ORDER if f in flags),
                                   note=" | ".join(text for _, text in items))
    restatements = tuple(
        Restatement(r["measure_id"], r["month"], r["published_extract"],
                    rounded(r["published_value"], units[r["measure_id"]]), rounded(r["value"], units[r["measure_id"]]))
        for r in restated)
    return Publication(month=month, months=tuple(sorted({m for (_, m) in figures})), measures=measures,
                       figures=figures, restatements=restatements, quality=quality_summary(report), report=report)
