"""Great Expectations suites on the raw tables (``expectations/<table>.json``), via GX's pandas path.

GX 1.24 has no DuckDB or polars datasource that works (``../shared/reference/engineering-notes.md``
section 4), so each check loads the new extract's *valid* rows of one raw table from DuckDB (a
repeatable random sample when the table is larger than the policy's ``sample_rows``), hands them
to GX as a pandas frame and runs the table's suite in an ephemeral context.

The suites hold *laws* only: what is true of every council's contract-valid extract (a record names
its child and its parent record, a required date is present, a duration or a distance is not
negative, a required table is not empty), each with ``meta.notes`` saying why. Nothing in them is
fitted to the demo generator or to one council: code mixes, null shares, ``mostly`` fractions,
upper bounds and volumes are judged against the council's own history by other checks, and codes
by the contract's validity rule "codes". tests/test_checks_gx.py fails on any fitted kind.

Durations are not columns of the extract; :data:`DERIVED` adds them to the frame (SQL over the
raw columns) so that suites can check they are not negative.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.checks.results import Finding, private_column
from dagster_project.contract import JSON, TABLES_BY_NAME
from dagster_project.gx_import import import_great_expectations

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SAMPLE_SEED = 42

# derived columns available to the suites: name -> SQL over the raw table's columns
DERIVED: dict[str, dict[str, str]] = {
    "ssd_contacts": {
        "_days_to_decision": "date_diff('day', cont_contact_date, cont_contact_decision_date)",
    },
    "ssd_cin_episodes": {
        "_duration_days": "date_diff('day', cine_referral_date, cine_close_date)",
    },
    "ssd_cin_assessments": {
        "_duration_days": "date_diff('day', cina_assessment_start_date, cina_assessment_auth_date)",
    },
    "ssd_s47_enquiry": {
        "_duration_days": "date_diff('day', s47e_s47_start_date, s47e_s47_end_date)",
    },
    "ssd_cp_plans": {
        "_duration_days": "date_diff('day', cppl_cp_plan_start_date, cppl_cp_plan_end_date)",
    },
    "ssd_cla_episodes": {
        "_duration_days": "date_diff('day', clae_cla_episode_start_date, clae_cla_episode_ceased_date)",
    },
    "ssd_legal_status": {
        "_duration_days": "date_diff('day', lega_legal_status_start_date, lega_legal_status_end_date)",
    },
    "ssd_cla_placement": {
        "_duration_days": "date_diff('day', clap_cla_placement_start_date, clap_cla_placement_end_date)",
    },
    "ssd_missing": {
        "_duration_days": "date_diff('day', miss_missing_episode_start_date, miss_missing_episode_end_date)",
    },
}


def suite_path(table: str) -> Path:
    return EXPECTATIONS_DIR / f"{table}.json"


def read_suite_json(table: str) -> dict[str, Any]:
    return json.loads(suite_path(table).read_text(encoding="utf-8"))


@dataclass
class Frame:
    table: str
    frame: Any  # pandas.DataFrame
    total_rows: int
    sampled: bool


def suite_columns(table: str) -> set[str]:
    """Columns the table's suite refers to."""
    cols: set[str] = set()
    for e in read_suite_json(table).get("expectations", []):
        kw = e.get("kwargs", {})
        cols |= {kw["column"]} if kw.get("column") else set()
        cols |= set(kw.get("column_list") or [])
    return cols


def month_frame(
    con: duckdb.DuckDBPyConnection, table: str, month: date, sample_rows: int, columns: set[str] | None = None
) -> Frame:
    """The extract's valid rows of ``raw.<table>`` as a pandas frame: the columns the suite uses
    (all when ``columns`` is None), derived columns included. Free text never leaves DuckDB: a JSON
    column arrives as whether it is present."""
    t = TABLES_BY_NAME[table]
    wanted = columns if columns is not None else {c.name for c in t.columns} | set(DERIVED.get(table, {}))
    select = []
    for c in t.columns:
        if c.identifying or c.name not in wanted:
            continue
        select.append(
            f"case when {c.name} is null then null else true end as {c.name}" if c.kind == JSON else c.name
        )
    select += [f"{sql} as {name}" for name, sql in DERIVED.get(table, {}).items() if name in wanted]
    where = f"from raw.{table} where _extract_month = ? and _is_valid"
    total = con.execute(f"select count(*) {where}", [month]).fetchone()[0]
    sampled = total > sample_rows
    query = f"select {', '.join(select) or '1 as _row'} {where}"
    if sampled:
        query = (
            f"select * from ({query}) using sample reservoir({int(sample_rows)} rows) "
            f"repeatable ({SAMPLE_SEED})"
        )
    frame = con.execute(query, [month]).df()
    return Frame(table, frame, total, sampled)


class GxRunner:
    """One ephemeral GX context for a run's suites (GX is imported only when a check runs)."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        gx = import_great_expectations()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.gx = gx
        config = DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.batch = (
            self.context.data_sources.add_pandas("raw_month")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
        self._validations: dict[str, Any] = {}

    def suite(self, table: str) -> Any:
        data = read_suite_json(table)
        data.pop("id", None)
        for e in data.get("expectations", []):
            e.pop("id", None)
        return self.gx.ExpectationSuite(**data)

    def validation(self, table: str) -> Any:
        if table not in self._validations:
            suite = self.context.suites.add(self.suite(table))
            self._validations[table] = self.context.validation_definitions.add(
                self.gx.ValidationDefinition(name=f"{table}_month", data=self.batch, suite=suite)
            )
        return self._validations[table]

    def validate(self, frame: Frame) -> Any:
        return self.validation(frame.table).run(
            batch_parameters={"dataframe": frame.frame}, result_format="SUMMARY"
        )


_RUNNER_LOCK = threading.Lock()


@cache
def _new_runner() -> GxRunner:
    return GxRunner()


def _runner() -> GxRunner:
    with _RUNNER_LOCK:  # one context per process, whichever thread asks first
        return _new_runner()


def _expectation_label(cfg: Any) -> str:
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    column = kwargs.pop("column", None)
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("partition_object",))
    return f"{cfg.type}({column or ''}{', ' if column and args else ''}{args})"


def _columns(cfg: Any) -> list[str]:
    kw = cfg.kwargs
    return ([kw["column"]] if kw.get("column") else []) + list(kw.get("column_list") or [])


def _example(value: Any) -> str:
    if isinstance(value, dict):
        return "/".join(_example(v) for v in value.values())
    return str(value).removesuffix(" 00:00:00")


def summarise(result: Any, table: str) -> list[dict[str, Any]]:
    """Each expectation's outcome with the figures GX observed (no values of private columns)."""
    out = []
    for r in result.results:
        res = r.result or {}
        item: dict[str, Any] = {
            "expectation": _expectation_label(r.expectation_config),
            "success": bool(r.success),
        }
        for key in (
            "observed_value",
            "element_count",
            "unexpected_count",
            "unexpected_percent",
            "missing_count",
            "missing_percent",
        ):
            if key in res and res[key] is not None:
                item[key] = res[key]
        private = any(private_column(table, c) for c in _columns(r.expectation_config))
        if res.get("partial_unexpected_list") and not private:
            item["unexpected_examples"] = [_example(v) for v in res["partial_unexpected_list"][:5]]
        if r.exception_info and r.exception_info.get("raised_exception"):
            item["exception"] = str(r.exception_info.get("exception_message"))[:300]
        out.append(item)
    return out


def _brief(item: dict[str, Any]) -> str:
    parts = [item["expectation"]]
    if "observed_value" in item:
        obs = item["observed_value"]
        parts.append(f"observed {obs:.4g}" if isinstance(obs, float) else f"observed {obs}")
    if item.get("unexpected_count"):
        parts.append(f"{item['unexpected_count']:,} unexpected ({item.get('unexpected_percent', 0):.2f}%)")
    if item.get("unexpected_examples"):
        parts.append("e.g. " + ", ".join(item["unexpected_examples"][:3]))
    if item.get("exception"):
        parts.append("error: " + item["exception"])
    return " ".join(parts)


def gx_finding(
    con: duckdb.DuckDBPyConnection, table: str, month: date, sample_rows: int, runner: GxRunner | None = None
) -> Finding:
    """Run the table's suite on the extract's valid rows; one finding with every expectation's figures."""
    asset = f"raw/{table}"
    if not suite_path(table).exists():
        return Finding(
            "gx_suite", table, False, f"{table}: no suite at expectations/{table}.json", {}, asset_key=asset
        )
    frame = month_frame(con, table, month, sample_rows, suite_columns(table))
    if frame.total_rows == 0 and not TABLES_BY_NAME[table].required:
        present = con.execute(
            "select count(*) from raw.load_log where extract_month = ? and table_name = ?", [month, table]
        ).fetchone()[0]
        if not present:
            return Finding(
                "gx_suite",
                table,
                True,
                f"{table}: optional table absent from this extract",
                {"rows": 0},
                asset_key=asset,
            )
    result = (runner or _runner()).validate(frame)
    items = summarise(result, table)
    failed = [i for i in items if not i["success"]]
    scope = (
        f"a sample of {len(frame.frame):,} of {frame.total_rows:,} valid rows"
        if frame.sampled
        else f"{frame.total_rows:,} valid rows"
    )
    stats = result.statistics
    summary = (
        f"{table}: {stats['successful_expectations']} of {stats['evaluated_expectations']} expectations "
        f"met on {scope}"
    )
    if failed:
        summary += "; failed: " + "; ".join(_brief(i) for i in failed[:3])
        if len(failed) > 3:
            summary += f" and {len(failed) - 3} more"
    ev = {
        "table": table,
        "suite": f"expectations/{table}.json",
        "rows": frame.total_rows,
        "rows_validated": len(frame.frame),
        "sampled": frame.sampled,
        "statistics": dict(stats),
        "expectations": items,
    }
    return Finding("gx_suite", table, bool(result.success), summary, ev, asset_key=asset)
