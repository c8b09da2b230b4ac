"""The quality report of a run: ``quality_report.html`` and ``quality_report.csv``.

Written into the published month folder when the month publishes (the publish step calls
:func:`write_quality_report` on its staging folder) and into the working area
``<home>/private/runs/<YYYY-MM>/`` for every run, blocked ones included (:func:`write_working_report`).

It holds every flag with the figures behind it (each check's evaluation, sign-offs), the dbt
tests that did not pass, row-level failures by rule and table (``raw.quarantine``: value-free
reasons, failing records by file line, never a value that could identify a child; the values are
in the month's private worklist), and the reconciliation counts (load log;
scorecard figures against fact rows).

The published report holds no run id or clock time (the same data gives the same bytes;
publication.json beside it names the run and the time); the working report names its run.
Every CSV cell goes through :func:`dagster_project.safe_text.safe_text`: summaries, messages,
record ids and sign-offs are shown, never run, by a spreadsheet; the HTML is escaped by jinja.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from dagster_project.checks.families import SCORECARD
from dagster_project.checks.families.quarantine import row_failures
from dagster_project.checks.results import (
    FAILED,
    PASSED,
    QUALITY_SCHEMA,
    SIGNED_OFF,
    WARN,
    ensure_quality_schema,
)
from dagster_project.checks.signoff import signoffs_for_month
from dagster_project.safe_text import safe_text
from dagster_project.settings import HomePaths
from dagster_project.warehouse_sql import fetch_dicts, relation_exists
from dagster_project.wording import counted

HTML_NAME = "quality_report.html"
CSV_NAME = "quality_report.csv"
CSV_COLUMNS = (
    "section",
    "id",
    "subject",
    "severity",
    "status",
    "count",
    "summary",
    "signed_off_by",
    "signed_off_at",
    "signoff_reason",
    "evidence",
)

_STATUS_ORDER = {FAILED: 0, SIGNED_OFF: 1, WARN: 2, PASSED: 3}


@dataclass
class ReportData:
    month: date
    run_id: str
    outcome: str
    generated_at: datetime
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    dbt_tests: list[dict[str, Any]] = field(default_factory=list)
    dbt_counts: dict[str, int] = field(default_factory=dict)
    row_failures: list[dict[str, Any]] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    reconciliations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(e["status"] for e in self.evaluations)
        return {s: c.get(s, 0) for s in (FAILED, SIGNED_OFF, WARN, PASSED)}

    @property
    def flags(self) -> list[dict[str, Any]]:
        return [e for e in self.evaluations if e["status"] != PASSED]

    @property
    def figures_checked(self) -> bool:
        """Whether the run got as far as the checks of the figures (a month held by the checks of
        its extract stops before the dbt build)."""
        return any(e["family"] in SCORECARD for e in self.evaluations)






def read_dbt_tests(run_results: Path | None) -> list[dict[str, Any]]:
    """dbt tests of the run (from dbt's run_results.json): name, status, failures, message."""
    if run_results is None or not run_results.exists():
        return []
    data = json.loads(run_results.read_text(encoding="utf-8"))
    out = []
    for r in data.get("results", []):
        uid = r.get("unique_id", "")
        if not uid.startswith("test."):
            continue
        out.append(
            {
                "test": uid.split(".")[2] if uid.count(".") >= 2 else uid,
                "status": r.get("status"),
                "failures": r.get("failures"),
                "message": (r.get("message") or "")[:500],
            }
        )
    return out


def collect(
    con: duckdb.DuckDBPyConnection,
    month: date,
    run_id: str,
    *,
    dbt_run_results: Path | None = None,
    outcome: str | None = None,
) -> ReportData:
    ensure_quality_schema(con)
    evaluations = fetch_dicts(
        con,
        f"""select check_id, family, subject, asset_key, severity, status, summary, evidence, measure_id,
                   figure_month, checked_at
            from {QUALITY_SCHEMA}.check_results where month = ? and run_id = ?
            qualify row_number() over (partition by check_id order by checked_at desc) = 1""",
        [month, run_id],
    )
    signed = signoffs_for_month(con, month)
    for e in evaluations:
        e["evidence"] = json.loads(e["evidence"]) if e["evidence"] else {}
        s = signed.get(e["check_id"]) if e["status"] == SIGNED_OFF else None
        e["signoff"] = s
    evaluations.sort(key=lambda e: (_STATUS_ORDER.get(e["status"], 9), e["family"], e["subject"]))
    dbt_tests = read_dbt_tests(dbt_run_results)
    blocked = any(e["status"] == FAILED for e in evaluations) or any(
        t["status"] in ("fail", "error") for t in dbt_tests
    )
    data = ReportData(
        month=month,
        run_id=run_id,
        generated_at=datetime.now(UTC).replace(tzinfo=None),
        outcome=outcome or ("blocked" if blocked else "passed"),
        evaluations=evaluations,
        dbt_tests=[t for t in dbt_tests if t["status"] != "pass"],
        dbt_counts=dict(Counter(t["status"] for t in dbt_tests)),
    )
    if relation_exists(con, "raw.quarantine"):
        # value-free reasons, records pointed at by file line, values only where they identify nobody
        data.row_failures = row_failures(con, month)
    if relation_exists(con, "raw.load_log"):
        data.loads = fetch_dicts(
            con,
            """select table_name, file_name, rows_read, rows_loaded, rows_quarantined, duplicates_dropped,
                      manifest_verified,
                      rows_read = rows_loaded + rows_quarantined + duplicates_dropped as reconciles
               from raw.load_log where extract_month = ?
               qualify row_number() over (partition by table_name order by loaded_at desc) = 1
               order by table_name""",
            [month],
        )
    for e in evaluations:
        if e["family"] == "reconciliation":
            months = e["evidence"].get("months") or []
            cur = months[-1] if months else {}
            data.reconciliations.append(
                {
                    "check_id": e["check_id"],
                    "status": e["status"],
                    "summary": e["summary"],
                    "month": str(cur.get("month", ""))[:7],
                    "figure": cur.get("figure", cur.get("fact_rows")),
                    "counted": cur.get("fact_rows", cur.get("raw_rows")),
                }
            )
    return data


TEMPLATE_PATH = Path(__file__).with_name("quality_report.html.j2")


def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(TEMPLATE_PATH.read_text(encoding="utf-8"))


def _csv_rows(d: ReportData) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for e in d.evaluations:
        s = e["signoff"]
        rows.append(
            {
                "section": "check",
                "id": e["check_id"],
                "subject": e["measure_id"] or e["subject"],
                "severity": e["severity"],
                "status": e["status"],
                "count": "",
                "summary": e["summary"],
                "signed_off_by": s.signed_by if s else "",
                "signed_off_at": f"{s.signed_at:%Y-%m-%d %H:%M:%S}" if s else "",
                "signoff_reason": s.reason if s else "",
                "evidence": json.dumps(e["evidence"], sort_keys=True, default=str),
            }
        )
    for t in d.dbt_tests:
        rows.append(
            {
                "section": "dbt_test",
                "id": t["test"],
                "status": t["status"],
                "count": t["failures"] if t["failures"] is not None else "",
                "summary": t["message"],
            }
        )
    for f in d.row_failures:
        rows.append(
            {
                "section": "row_failures",
                "id": f"{f['table_name']}:{f['rule']}",
                "subject": f["column_name"] or "",
                "count": f["rows_failing"],
                "summary": f"{counted(f['rows_failing'], 'row')} ({counted(f['failures'], 'failure')}): "
                           f"{f['message'] or ''}",
                "evidence": json.dumps(
                    {
                        "example_lines": [e["line"] for e in f["examples"]],
                        "example_rows": [e["row"] for e in f["examples"]],
                        "example_values": [e["value"] for e in f["examples"]],
                    },
                    default=str,
                ),
            }
        )
    for lg in d.loads:
        rows.append(
            {
                "section": "load_log",
                "id": lg["table_name"],
                "subject": lg["file_name"] or "",
                "status": "reconciles" if lg["reconciles"] else "does not reconcile",
                "count": lg["rows_read"],
                "summary": f"read {lg['rows_read']} = loaded {lg['rows_loaded']} + quarantined "
                f"{lg['rows_quarantined']} + duplicates {lg['duplicates_dropped']}; verified against the manifest: "
                f"{lg['manifest_verified'] or 'not recorded'}",
                "evidence": json.dumps(
                    {k: lg[k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "duplicates_dropped",
                                        "manifest_verified")}
                ),
            }
        )
    return [{k: r.get(k, "") for k in CSV_COLUMNS} for r in rows]


def render_html(data: ReportData, *, with_run: bool = False) -> str:
    """The report page; ``with_run``: name the run and when the report was made (the working
    report; the published one leaves both to publication.json)."""
    return _template().render(d=data, with_run=with_run)


def write_quality_report(
    con: duckdb.DuckDBPyConnection,
    month: date,
    run_id: str,
    out_dir: Path,
    *,
    dbt_run_results: Path | None = None,
    outcome: str | None = None,
    with_run: bool = False,
) -> tuple[Path, Path]:
    """Write quality_report.html and quality_report.csv for the run into ``out_dir``
    (``with_run``: see :func:`render_html`)."""
    data = collect(con, month, run_id, dbt_run_results=dbt_run_results, outcome=outcome)
    return write_report(data, out_dir, with_run=with_run)


def write_report(data: ReportData, out_dir: Path, *, with_run: bool = False) -> tuple[Path, Path]:
    """The one writer of quality_report.html and quality_report.csv, from a collected report (the
    working report of every run, and the published one of a month, which names no run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html, csv_path = out_dir / HTML_NAME, out_dir / CSV_NAME
    html.write_text(render_html(data, with_run=with_run), encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows({k: safe_text(v) for k, v in row.items()} for row in _csv_rows(data))
    return html, csv_path


def dbt_run_results_path(paths: HomePaths, run_id: str) -> Path:
    """Where the dbt step of a run leaves run_results.json (models/dbt.py: target per run)."""
    return paths.dbt_target / run_id[:8] / "run_results.json"


def write_working_report(
    con: duckdb.DuckDBPyConnection,
    paths: HomePaths,
    month: date,
    run_id: str,
    outcome: str | None = None,
) -> tuple[Path, Path]:
    """The run's report in the working area (kept for blocked runs): <home>/private/runs/<YYYY-MM>/."""
    return write_quality_report(
        con,
        month,
        run_id,
        paths.work_month_dir(month),
        dbt_run_results=dbt_run_results_path(paths, run_id),
        outcome=outcome,
        with_run=True,
    )
