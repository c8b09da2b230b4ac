"""The published outputs of a month: what people open.

Called by write-audit-publish (``dagster_project.publish.wap.publish_month``) on the staging
folder of the month, after ``scorecard.csv`` is written and before the swap:

* ``scorecard.xlsx`` - the committee workbook (:mod:`.workbook`);
* ``scorecard.html`` - one self-contained page with a trend chart per measure (:mod:`.html`);
* with the ``public`` publication setting, ``public/scorecard.{csv,xlsx,html}``: the same with
  small counts of children suppressed (:mod:`.suppression`).

The dbt docs site beside the analysts' warehouse is :mod:`.docs_site`.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.publish.outputs.data import COUNT, SUPPRESSED, ScorecardData, load_scorecard
from dagster_project.publish.outputs.html import write_html
from dagster_project.publish.outputs.suppression import PublicationSettings, suppress
from dagster_project.publish.outputs.workbook import write_workbook

CSV_COLUMNS = ("measure_id", "month", "value", "numerator", "denominator", "availability", "measure_name",
               "section", "polarity", "unit", "extract_month")
PUBLIC_DIR = "public"


def write_csv(data: ScorecardData, path: Path) -> Path:
    """scorecard.csv in the same layout as the internal one (``c`` for a suppressed number)."""
    measures = {m.measure_id: m for m in data.measures}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for m in sorted(data.measures, key=lambda m: m.sort_order):
            for month in data.months:
                fig = data.figure(m.measure_id, month)
                if fig.is_suppressed("value"):
                    value = SUPPRESSED
                elif fig.value is None:
                    value = ""
                else:
                    value = f"{int(fig.value)}" if m.unit == COUNT else f"{fig.value:.1f}"
                num = SUPPRESSED if fig.is_suppressed("numerator") else ("" if fig.numerator is None
                                                                         else str(fig.numerator))
                den = SUPPRESSED if fig.is_suppressed("denominator") else ("" if fig.denominator is None
                                                                           else str(fig.denominator))
                mm = measures[m.measure_id]
                w.writerow([m.measure_id, month.strftime("%Y-%m"), value, num, den, fig.availability, mm.name,
                            mm.section, mm.polarity, mm.unit, data.month.strftime("%Y-%m")])
    return path


def write_outputs(con: duckdb.DuckDBPyConnection, staging: Path, month: date, run_id: str,
                  settings: PublicationSettings | None = None, *,
                  dbt_run_results: Path | None = None) -> list[Path]:
    """Write the month's workbook and page (and the public variant) into ``staging``."""
    settings = settings or PublicationSettings()
    data = load_scorecard(con, month, run_id, dbt_run_results=dbt_run_results)
    written = [write_workbook(data, staging / "scorecard.xlsx"), write_html(data, staging / "scorecard.html")]
    if settings.public:
        public = suppress(data, settings.threshold)
        folder = staging / PUBLIC_DIR
        folder.mkdir(parents=True, exist_ok=True)
        written += [write_csv(public, folder / "scorecard.csv"),
                    write_workbook(public, folder / "scorecard.xlsx"),
                    write_html(public, folder / "scorecard.html")]
    return written


__all__ = ["PublicationSettings", "write_outputs", "write_csv", "load_scorecard", "suppress"]
