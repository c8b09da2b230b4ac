"""The published files of a month: what people open.

Write-audit-publish (:func:`dagster_project.publish.wap.publish_month`) calls :func:`write_outputs`
on the month's folder of the new version, before the commit. It reads the month's
:class:`~.data.Publication` once (:func:`~.data.read_publication`) and hands it to one writer per
file, each a pure function of it:

* ``scorecard.csv`` and ``scorecard.parquet`` - one row per measure and month (:mod:`.tables`);
* ``scorecard.xlsx`` - the committee workbook, its first sheet a one-page summary (:mod:`.workbook`);
* ``scorecard.html`` - one self-contained page, its first section a one-page summary (:mod:`.html`);
* ``quality_report.html`` / ``.csv`` - every check of the run (the gate's own writer,
  :func:`dagster_project.checks.report.write_report`, which names no run here);
* with the ``public`` publication setting, ``public/scorecard.{csv,parquet,xlsx,html}``: the same
  publication with small counts of children suppressed (:mod:`.suppression`).

Beside the analysts' warehouse (not per month: they are the warehouse's tables) the publish step
writes its docs site (:mod:`.docs_site`) and ``marts/<table>.parquet``, every mart and dimension
as Parquet (:mod:`.marts`; internal only).

Text cells of every CSV and workbook go through :func:`dagster_project.safe_text.safe_text`
(a measure name or a note beginning with ``=`` is shown, never run); numbers are written as
numbers at their published precision. No output holds the run id or a clock time, so the same
data and key give the same bytes (publication.json, written by the publish step, has both).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from dagster_project.checks.report import write_report
from dagster_project.publish.outputs.data import Publication, read_publication
from dagster_project.publish.outputs.html import write_html
from dagster_project.publish.outputs.marts import MARTS_DIR
from dagster_project.publish.outputs.suppression import PublicationSettings, suppress
from dagster_project.publish.outputs.tables import CSV_COLUMNS, write_scorecard_csv, write_scorecard_parquet
from dagster_project.publish.outputs.workbook import write_workbook

PUBLIC_DIR = "public"


def write_scorecards(pub: Publication, folder: Path) -> list[Path]:
    """The scorecard files of ``pub`` (internal or public) into ``folder``."""
    return [write_scorecard_csv(pub, folder / "scorecard.csv"),
            write_scorecard_parquet(pub, folder / "scorecard.parquet"),
            write_workbook(pub, folder / "scorecard.xlsx"), write_html(pub, folder / "scorecard.html")]


def write_publication(pub: Publication, folder: Path, settings: PublicationSettings | None = None) -> list[Path]:
    """Every file of the publication ``pub`` into the month's ``folder``."""
    settings = settings or PublicationSettings()
    written = write_scorecards(pub, folder)
    if pub.report is not None:
        written += list(write_report(pub.report, folder))
    if settings.public:
        written += write_scorecards(suppress(pub, settings.threshold), folder / PUBLIC_DIR)
    return written


def write_outputs(con: duckdb.DuckDBPyConnection, folder: Path, month: date, run_id: str,
                  settings: PublicationSettings | None = None, *, dbt_run_results: Path | None = None) -> list[Path]:
    """Read the month's publication from the working warehouse ``con`` (one pass) and write every
    file of the month into ``folder``."""
    pub = read_publication(con, month, run_id, dbt_run_results=dbt_run_results)
    return write_publication(pub, folder, settings)


__all__ = ["CSV_COLUMNS", "MARTS_DIR", "PUBLIC_DIR", "Publication", "PublicationSettings", "read_publication",
           "suppress", "write_outputs", "write_publication"]
