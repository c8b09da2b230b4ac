"""The quality gate as Dagster asset checks (blocking), two steps per run:

* ``raw_quality`` after ingest, on every ``raw/<table>``: the table's GX suite (``gx_suite``),
  ``volume_drift``, ``quarantine_rate``, ``load_reconciliation``, and ``freshness`` of busy tables
  and of the extract date (on ``raw/extracts``). A failure stops the dbt build.
* ``scorecard_quality`` after the dbt build, on ``fct_scorecard``: ``completeness``, ``bounds``,
  ``consistency``, ``history``, ``restatement``; and ``reconciliation`` on the fact tables it
  counts. A failure stops the publish step.

The severity of every check id comes from ``quality_policy.yml``: ``error`` -> failed with ERROR
severity (blocks); ``hold`` -> failed with ERROR severity unless the month has a sign-off for the
check id, then passed with the sign-off in its metadata; ``warn`` -> failed with WARN severity
(shown, never blocks). Each Dagster check covers one family on one asset; its metadata carries
every check id's figures. Every evaluation is also stored in ``quality.check_results`` and the
run's quality report is (re)written into ``<home>/private/runs/<YYYY-MM>/``.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

import dagster as dg
import duckdb
from dagster import AssetCheckExecutionContext

from dagster_project.checks import families
from dagster_project.checks.families.common import SCORECARD_ASSET, raw_asset
from dagster_project.checks.families.reconciliation import FACT_SOURCES, RECONCILIATIONS
from dagster_project.checks.gx_suites import gx_finding
from dagster_project.checks.policy import Policy, Severity, current_policy
from dagster_project.checks.report import write_working_report
from dagster_project.checks.results import (
    FAILED,
    PASSED,
    SIGNED_OFF,
    WARN,
    Evaluation,
    Finding,
    evaluate,
    store_evaluations,
    to_json,
)
from dagster_project.checks.signoff import signoffs_for_month
from dagster_project.contract import TABLES, parse_month
from dagster_project.ingest.worklist import worklist_command
from dagster_project.models.dbt import csc_dbt_models
from dagster_project.published_figures import settle_publications
from dagster_project.resources import WarehouseResource
from dagster_project.settings import WRITER_POOL

RAW_FAMILIES = ("gx_suite", "volume_drift", "quarantine_rate", "load_reconciliation")  # one check per table
EXTRACT_FAMILIES = ("freshness", "resent")  # on raw/extracts
# reconciliation reports on the fact tables it counts (scorecard_specs), the rest on the scorecard
SCORECARD_FAMILIES = tuple(f for f in families.SCORECARD if f != "reconciliation")
CRASHED = "could_not_run"


def _key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def _policy_tables(family: str, key: str) -> list[str]:
    """Tables the policy names for a family (freshness: busy tables; mix: its subjects' tables)."""
    entries = current_policy().family(family).get(key) or {}
    tables = [spec.get("table", name) if isinstance(spec, dict) else name for name, spec in entries.items()]
    known = {t.name for t in TABLES}
    return [t for t in dict.fromkeys(tables) if t in known]


def _dbt_keys() -> set[dg.AssetKey]:
    return set(csc_dbt_models.keys)


def reconciliation_assets() -> list[str]:
    """Fact tables the reconciliation checks count, that exist as dbt assets."""
    facts = dict.fromkeys([r.fact for r in RECONCILIATIONS] + list(FACT_SOURCES))
    keys = _dbt_keys()
    return [f for f in facts if dg.AssetKey(f) in keys]


def _spec(family: str, asset: str, policy: Policy) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        family, asset=_key(asset), blocking=True, description=policy.description(family) or family
    )


def raw_specs(policy: Policy) -> list[dg.AssetCheckSpec]:
    specs = [_spec(f, raw_asset(t.name), policy) for t in TABLES for f in RAW_FAMILIES]
    specs += [_spec("freshness", raw_asset(t), policy) for t in _policy_tables("freshness", "tables")]
    specs += [_spec("mix", raw_asset(t), policy) for t in _policy_tables("mix", "columns")]
    specs += [_spec(f, "raw/extracts", policy) for f in EXTRACT_FAMILIES]
    return specs


def scorecard_specs(policy: Policy) -> list[dg.AssetCheckSpec]:
    specs = [_spec(f, SCORECARD_ASSET, policy) for f in SCORECARD_FAMILIES]
    specs += [_spec("reconciliation", fact, policy) for fact in reconciliation_assets()]
    return specs


# --------------------------------------------------------------------------------------------
# evaluation -> Dagster results
# --------------------------------------------------------------------------------------------


def _safe(family: str, asset: str, fn: Callable[[], Iterable[Finding]]) -> tuple[list[Finding], float]:
    """Run one family; a check that cannot run fails closed (it blocks, with the error as evidence)."""
    start = time.perf_counter()
    try:
        found = list(fn())
    except Exception as e:  # noqa: BLE001 - a crashing check must block, not pass
        found = [
            Finding(
                family,
                CRASHED,
                False,
                f"{family} could not run: {type(e).__name__}: {e}",
                {"error": traceback.format_exc(limit=5)},
                asset_key=asset,
            )
        ]
    return found, time.perf_counter() - start


def _evaluate(findings: list[Finding], policy: Policy, signoffs: dict) -> list[Evaluation]:
    normal = [f for f in findings if f.subject != CRASHED]
    out = evaluate(normal, policy, signoffs)
    out += [Evaluation(f, Severity.ERROR, FAILED) for f in findings if f.subject == CRASHED]
    return out


def _scalar(v: Any) -> bool:
    return isinstance(v, bool | int | float | str) and not (isinstance(v, str) and len(v) > 200)


def check_result(spec: dg.AssetCheckSpec, evals: list[Evaluation], seconds: float) -> dg.AssetCheckResult:
    """One Dagster result for one family on one asset, with every check id's figures."""
    failed = [e for e in evals if e.status == FAILED]
    warned = [e for e in evals if e.status == WARN]
    signed = [e for e in evals if e.status == SIGNED_OFF]
    flagged = failed + signed + warned
    metadata: dict[str, Any] = {
        "check_ids": dg.MetadataValue.json([e.check_id for e in evals]),
        "failed": len(failed),
        "signed_off": len(signed),
        "warnings": len(warned),
        "passed": sum(e.status == PASSED for e in evals),
        "flags": dg.MetadataValue.json(
            [
                {
                    "check_id": e.check_id,
                    "severity": e.severity.value,
                    "status": e.status,
                    "summary": e.finding.summary,
                    **(
                        {
                            "signed_off_by": e.signoff.signed_by,
                            "signed_off_at": e.signoff.signed_at.isoformat(),
                            "signoff_reason": e.signoff.reason,
                        }
                        if e.signoff
                        else {}
                    ),
                }
                for e in flagged
            ]
        ),
        "evidence": dg.MetadataValue.json({e.check_id: _jsonable(e.finding.evidence) for e in evals}),
        "seconds": round(seconds, 3),
    }
    if len(evals) == 1:  # one check id: its figures as first-class metadata
        e = evals[0]
        metadata["summary"] = e.finding.summary
        metadata["severity_policy"] = e.severity.value
        for k, v in e.finding.evidence.items():
            if _scalar(v) and k not in metadata:
                metadata[k] = v
    for e in signed:
        metadata[f"signoff {e.check_id}"] = e.signoff.as_text() if e.signoff else ""
    lines = [e.line() for e in flagged] or [e.finding.summary for e in evals[:1]] or ["no findings"]
    description = "\n".join(lines)[:2000]
    # a failed check blocks (ERROR); a warned one is reported (WARN) and does not block
    severity = dg.AssetCheckSeverity.WARN if warned and not failed else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=not (failed or warned),
        severity=severity,
        metadata=metadata,
        description=description,
    )


def _jsonable(v: Any) -> Any:
    return json.loads(to_json(v))


def results_for_specs(
    specs: list[dg.AssetCheckSpec],
    evals: list[Evaluation],
    seconds: dict[str, float],
) -> Iterator[dg.AssetCheckResult]:
    by_spec: dict[tuple[dg.AssetKey, str], list[Evaluation]] = {}
    crashed: dict[str, list[Evaluation]] = {}
    known = {(spec.asset_key, spec.name) for spec in specs}
    for e in evals:
        where = (_key(e.finding.asset_key or ""), e.finding.family)
        if e.finding.subject == CRASHED and where not in known:  # fails every check of its family
            crashed.setdefault(e.finding.family, []).append(e)
            continue
        by_spec.setdefault(where, []).append(e)
    # a finding without a spec of its own (e.g. a table the policy added after the code location
    # loaded) reports on the first check of its family, else the first check: it must still block
    for (asset, family), evals_ in list(by_spec.items()):
        if (asset, family) not in known and specs:
            home = next((sp for sp in specs if sp.name == family), specs[0])
            by_spec.setdefault((home.asset_key, home.name), []).extend(evals_)
    names = {spec.name for spec in specs}
    for family, evals_ in crashed.items():
        if family not in names and specs:
            by_spec.setdefault((specs[0].asset_key, specs[0].name), []).extend(evals_)
    for spec in specs:
        mine = by_spec.get((spec.asset_key, spec.name), []) + crashed.get(spec.name, [])
        yield check_result(spec, mine, seconds.get(spec.name, 0.0))


Families = Callable[[duckdb.DuckDBPyConnection, date, Policy], list[tuple[str, str, Callable[[], Any]]]]


def next_step(key: str, e: Evaluation, home: str) -> str:
    """What to do about a failed check, as the terminal says it: fix the data at source and send
    the month again; for a hold, or have a named person sign it off if the data is right. The
    quarantine's rows are in the month's worklist."""
    again = f"send the extract again and run the month with --force (csc-warehouse run --home {home} --month {key} " \
            "--extracts DIR --force)"
    signoff = (f"csc-warehouse signoff --home {home} --month {key} --check {e.check_id} --by NAME --reason TEXT")
    if e.finding.family == "quarantine_rate":
        return (f". Next: the failing rows are listed by {worklist_command(home, key)}: fix them "
                f"at source, then {again}; to publish without them (they stay out of every figure): {signoff}")
    if e.severity is Severity.HOLD:
        return f". Next: if the data is wrong, fix it at source, then {again}; if the figures are right: {signoff}"
    return f". Next: fix the data at source, then {again}"


def flag_lines(key: str, evals: list[Evaluation], home: str) -> list[tuple[str, str]]:
    """(level, line) per flag, in the form the CLI's progress output shows ('[YYYY-MM] ...')."""
    lines = []
    for e in evals:
        if e.status == FAILED:
            lines.append(("error", f"[{key}] quality: BLOCKED by {e.line()}{next_step(key, e, home)}"))
        elif e.status == SIGNED_OFF:
            lines.append(("info", f"[{key}] quality: {e.line()}"))
        elif e.status == WARN:
            lines.append(("warning", f"[{key}] quality: warning {e.line()}"))
    lines.append(
        (
            "info",
            f"[{key}] quality: {len(evals)} checks, {sum(e.status == FAILED for e in evals)} blocking, "
            f"{sum(e.status == SIGNED_OFF for e in evals)} signed off, "
            f"{sum(e.status == WARN for e in evals)} warnings",
        )
    )
    return lines


def run_gate(
    warehouse: WarehouseResource,
    month: date,
    run_id: str,
    families: Families,
    policy: Policy | None = None,
) -> tuple[list[Evaluation], dict[str, float], str | None]:
    """Evaluate the families on the working warehouse, store the evaluations, write the working report.

    Returns the evaluations, seconds per family, and a warning if the report could not be written.
    """
    policy = policy or current_policy()
    problem = None
    with warehouse.connect() as con:
        findings: list[Finding] = []
        seconds: dict[str, float] = {}
        for family, asset, fn in families(con, month, policy):
            found, secs = _safe(family, asset, fn)
            findings += found
            seconds[family] = seconds.get(family, 0.0) + secs
        evals = _evaluate(findings, policy, signoffs_for_month(con, month))
        store_evaluations(con, month, evals, run_id)
        try:
            write_working_report(con, warehouse.paths, month, run_id)
        except Exception as e:  # noqa: BLE001 - the report must never hide the checks' verdict
            problem = f"could not write the working quality report: {e}"
    return evals, seconds, problem


def run_families(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    specs: list[dg.AssetCheckSpec],
    families: Families,
) -> Iterator[dg.AssetCheckResult]:
    key = context.partition_key[:7]
    evals, seconds, problem = run_gate(warehouse, parse_month(key), context.run.run_id, families)
    if problem:
        context.log.warning(f"[{key}] quality: {problem}")
    for level, line in flag_lines(key, evals, warehouse.home):
        getattr(context.log, level)(line)
    yield from results_for_specs(specs, evals, seconds)


# --------------------------------------------------------------------------------------------
# the two check steps
# --------------------------------------------------------------------------------------------

_POLICY_AT_LOAD = current_policy()
RAW_SPECS = raw_specs(_POLICY_AT_LOAD)
SCORECARD_SPECS = scorecard_specs(_POLICY_AT_LOAD)


def _raw_families(con: duckdb.DuckDBPyConnection, month: date, policy: Policy):
    sample_rows = int(policy.family("gx_suite").get("sample_rows", 200_000))
    fams: list[tuple[str, str, Callable[[], Any]]] = [
        (name, "raw/extracts", lambda fn=fn: fn(con, month, policy)) for name, fn in families.RAW.items()
    ]
    for t in TABLES:
        fams.append(
            (
                "gx_suite",
                raw_asset(t.name),
                lambda name=t.name: [gx_finding(con, name, month, sample_rows)],
            )
        )
    return fams


def _scorecard_families(con: duckdb.DuckDBPyConnection, month: date, policy: Policy):
    recon_assets = set(reconciliation_assets())

    def reconciliation() -> list[Finding]:
        found = families.reconciliation(con, month, policy)
        for f in found:  # a fact that is not a dbt asset reports on the scorecard
            if f.asset_key not in recon_assets:
                f.asset_key = SCORECARD_ASSET
        return found

    return [
        (name, SCORECARD_ASSET, reconciliation if name == "reconciliation" else lambda fn=fn: fn(con, month, policy))
        for name, fn in families.SCORECARD.items()
    ]


@dg.multi_asset_check(
    name="raw_quality",
    specs=RAW_SPECS,
    description="Quality gate on the month's raw tables: GX suites, volume drift, quarantine rate, "
    "load reconciliation, freshness (quality_policy.yml).",
    pool=WRITER_POOL,
)
def raw_quality(context, warehouse: WarehouseResource) -> Iterator[Any]:
    yield from run_families(context, warehouse, RAW_SPECS, _raw_families)


@dg.multi_asset_check(
    name="scorecard_quality",
    specs=SCORECARD_SPECS,
    description="Quality gate on the month's figures: completeness, bounds, consistency, "
    "reconciliation with fact rows, history, restatement (quality_policy.yml).",
    pool=WRITER_POOL,
)
def scorecard_quality(context, warehouse: WarehouseResource) -> Iterator[Any]:
    with warehouse.connect() as con:  # the restatement check compares with what was really published
        settle_publications(con, warehouse.paths.published_dir)
    yield from run_families(context, warehouse, SCORECARD_SPECS, _scorecard_families)


quality_checks = [raw_quality, scorecard_quality]
