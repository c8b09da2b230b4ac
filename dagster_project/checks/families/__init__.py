"""The plausibility checks, one module per family; each family is a function
``(con, month, policy) -> list[Finding]`` over the working warehouse.

Laws, true of every council's data: ``load_reconciliation``, ``reconciliation``, ``resent``,
``completeness``, ``bounds``, ``consistency``. Judgements of the council against its own history,
with sensitivities from ``quality_policy.yml`` and "no baseline yet" until it has one:
``volume_drift``, ``quarantine_rate``, ``freshness``, ``mix``, ``history``, ``restatement``.

A measure is defined once, in dbt: these checks never recompute a definition; they read
``fct_scorecard`` and count fact or raw rows in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb

from dagster_project.checks.families.consistency import consistency
from dagster_project.checks.families.freshness import freshness, resent
from dagster_project.checks.families.history import history
from dagster_project.checks.families.laws import bounds, completeness
from dagster_project.checks.families.mix import mix
from dagster_project.checks.families.quarantine import quarantine_rate
from dagster_project.checks.families.reconciliation import load_reconciliation, reconciliation
from dagster_project.checks.families.restatement import restatement
from dagster_project.checks.families.volume import volume_drift
from dagster_project.checks.policy import Policy
from dagster_project.checks.results import Finding

Family = Callable[[duckdb.DuckDBPyConnection, date, Policy], list[Finding]]

# after ingest, on the raw layer
RAW: dict[str, Family] = {
    "volume_drift": volume_drift,
    "quarantine_rate": quarantine_rate,
    "load_reconciliation": load_reconciliation,
    "freshness": freshness,
    "resent": resent,
    "mix": mix,
}
# after the dbt build, on the figures
SCORECARD: dict[str, Family] = {
    "completeness": completeness,
    "bounds": bounds,
    "consistency": consistency,
    "reconciliation": reconciliation,
    "history": history,
    "restatement": restatement,
}


def raw_findings(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    return [f for family in RAW.values() for f in family(con, month, policy)]


def scorecard_findings(con: duckdb.DuckDBPyConnection, month: date, policy: Policy) -> list[Finding]:
    return [f for family in SCORECARD.values() for f in family(con, month, policy)]
